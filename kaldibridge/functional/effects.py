"""Sample-wise SoX-style effects with torchaudio's names: contrast, dcshift, overdrive, dither.

All operate on ``(..., time)`` float waveforms in [-1, 1], batched over leading dimensions,
on any device, and (except ``dither``'s quantization) are differentiable.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from kaldibridge.errors import OptionError

__all__ = ["contrast", "dcshift", "overdrive", "dither"]


def _check_float(waveform: Tensor, name: str) -> None:
    if not waveform.is_floating_point():
        raise OptionError(f"{name} expects a floating-point waveform, got {waveform.dtype}")


def _dc_block(t: Tensor, pole: float) -> Tensor:
    """``u[n] = t[n] - t[n-1] + pole * u[n-1]`` from zero state, along the last axis, in float64.

    The recursion is evaluated as an FFT convolution of the first difference with the
    impulse response ``pole ** k``, truncated where it falls below 1e-18.
    """
    n = t.shape[-1]
    if n == 0:
        return t.to(torch.float64)
    x = t.to(torch.float64)
    diff = x - torch.nn.functional.pad(x[..., :-1], (1, 0))
    taps = min(n, math.ceil(math.log(1e-18) / math.log(pole)))
    h = pole ** torch.arange(taps, dtype=torch.float64, device=t.device)
    size = 1 << (n + taps - 2).bit_length()
    spec = torch.fft.rfft(diff, size) * torch.fft.rfft(h, size)
    return torch.fft.irfft(spec, size)[..., :n]


def contrast(waveform: Tensor, enhancement_amount: float = 75.0) -> Tensor:
    """Loudness-enhancing waveshaper (SoX ``contrast``).

    With ``c = enhancement_amount / 750`` and ``d = pi / 2 * x``:
    ``y = sin(d + c * sin(4 d))``.

    Args:
        waveform: ``(..., time)`` float tensor in [-1, 1].
        enhancement_amount: Amount in [0, 100]; 0 still applies the sine shaping.

    Returns:
        Tensor of the input's shape and dtype.
    """
    _check_float(waveform, "contrast")
    if not 0.0 <= enhancement_amount <= 100.0:
        raise OptionError(f"enhancement_amount must be in [0, 100], got {enhancement_amount}")
    d = waveform * (math.pi / 2)
    return torch.sin(d + (enhancement_amount / 750.0) * torch.sin(4.0 * d))


def dcshift(waveform: Tensor, shift: float, limiter_gain: float | None = None) -> Tensor:
    """Add a DC offset, clipping to [-1, 1] or limiting the peaks (SoX ``dcshift``).

    Without ``limiter_gain``: ``y = clamp(x + shift, -1, 1)``. With it, the threshold is
    ``thr = 1 - (|shift| - limiter_gain)``; for ``shift > 0`` samples above ``thr`` (for
    ``shift < 0`` samples below ``-thr``) are held at ``thr`` (``-thr``) instead of being
    shifted; all other samples are shifted and clipped. This is what SoX outputs: its
    limiter's compression term, ``(x - thr) * limiter_gain / (1 - thr)``, is added in units
    of its 32-bit sample scale, where it is below one step, and torchaudio clamps it away.

    Args:
        waveform: ``(..., time)`` float tensor in [-1, 1].
        shift: Offset in [-2, 2].
        limiter_gain: Gain of the peak limiter (small, e.g. 0.05), or ``None`` to clip.

    Returns:
        Tensor of the input's shape and dtype.
    """
    _check_float(waveform, "dcshift")
    if not -2.0 <= shift <= 2.0:
        raise OptionError(f"dcshift shift must be in [-2, 2], got {shift}")
    shifted = torch.clamp(waveform + shift, -1.0, 1.0)
    if limiter_gain is None or shift == 0:
        return shifted
    thr = 1.0 - (abs(shift) - limiter_gain)
    if thr >= 1.0:
        raise OptionError(
            f"dcshift limiter_gain {limiter_gain} must be smaller than |shift| {abs(shift)}"
        )
    held = torch.full_like(waveform, thr if shift > 0 else -thr)
    limited = waveform > thr if shift > 0 else waveform < -thr
    return torch.where(limited, held, shifted)


def overdrive(waveform: Tensor, gain: float = 20, colour: float = 20) -> Tensor:
    """Soft-clipping overdrive (SoX ``overdrive``).

    With ``g = 10 ** (gain / 20)`` and ``t = g x + colour / 200``, ``t`` is clipped by the
    cubic ``t - t^3 / 3`` (``+-2/3`` outside [-1, 1]), DC-blocked with
    ``u[n] = t[n] - t[n-1] + 0.995 u[n-1]`` (zero initial state) and mixed:
    ``y = clamp(0.5 x + 0.75 u, -1, 1)``.

    Args:
        waveform: ``(..., time)`` float tensor in [-1, 1].
        gain: Drive in dB (>= 0).
        colour: Amount of even harmonics (>= 0), as an offset of ``colour / 200``.

    Returns:
        Tensor of the input's shape and dtype. The recursion runs in float64.
    """
    _check_float(waveform, "overdrive")
    if gain < 0 or colour < 0:
        raise OptionError(f"overdrive gain and colour must be >= 0, got gain={gain}, colour={colour}")
    t = waveform * (10.0 ** (gain / 20.0)) + colour / 200.0
    shaped = torch.where(t < -1.0, -2.0 / 3.0, torch.where(t > 1.0, 2.0 / 3.0, t - t**3 / 3.0))
    blocked = _dc_block(shaped, 0.995).to(waveform.dtype)
    return torch.clamp(0.5 * waveform + 0.75 * blocked, -1.0, 1.0)


DensityFunction = Literal["TPDF", "RPDF", "GPDF"]


def dither(
    waveform: Tensor,
    density_function: DensityFunction = "TPDF",
    noise_shaping: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Quantize to 16 bits with dither noise added before rounding.

    The waveform is scaled by ``2**15``, noise is added, the result rounded and scaled back.
    The noise, in units of one quantization step (LSB), is: ``"RPDF"`` uniform on
    [-0.5, 0.5); ``"TPDF"`` the sum of two such (triangular on (-1, 1)); ``"GPDF"`` Gaussian
    with standard deviation 0.5. With ``noise_shaping`` the previous sample's total error is
    subtracted (first-order error feedback, ``y[n] = q[n] - (q[n-1] - x[n-1])``), which moves
    the error spectrum towards high frequencies; the output is then off the 16-bit grid.

    Args:
        waveform: ``(..., time)`` float tensor in [-1, 1].
        density_function: ``"TPDF"``, ``"RPDF"`` or ``"GPDF"``.
        noise_shaping: Apply first-order noise shaping.
        generator: Random generator for the noise (on the waveform's device), or ``None``
            for torch's default.

    Returns:
        Tensor of the input's shape and dtype.

    Differences: torchaudio's dither adds a deterministic triangular window (TPDF), one
    waveform sample (RPDF/GPDF) and scales by ``2**15 - 2`` up and ``2**15`` down; this
    draws real random noise, and its noise shaping subtracts (not adds) the previous error.
    """
    _check_float(waveform, "dither")
    if density_function not in ("TPDF", "RPDF", "GPDF"):
        raise OptionError(f"unknown density_function {density_function!r} (expected TPDF, RPDF or GPDF)")

    def uniform() -> Tensor:
        return torch.rand(
            waveform.shape, generator=generator, dtype=waveform.dtype, device=waveform.device
        ) - 0.5

    if density_function == "RPDF":
        noise = uniform()
    elif density_function == "TPDF":
        noise = uniform() + uniform()
    else:
        noise = 0.5 * torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype, device=waveform.device)
    scale = 32768.0
    quantized = torch.round(waveform * scale + noise) / scale
    if not noise_shaping:
        return quantized
    error = quantized - waveform
    previous = torch.nn.functional.pad(error[..., :-1], (1, 0))
    return quantized - previous
