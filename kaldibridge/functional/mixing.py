"""Mixing and simple level shaping: noise at a given SNR, fades, pre-/de-emphasis.

Also holds :func:`_iir_filter`, an exact zero-state IIR filter for fixed coefficients that
runs as one FFT convolution (no per-sample loop), used by :func:`deemphasis` and by the
K-weighting in :mod:`kaldibridge.functional.loudness`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional._compile import constant_result

__all__ = ["add_noise", "preemphasis", "deemphasis", "fade_curve"]

FadeShape = Literal["linear", "logarithmic", "exponential", "quarter_sine", "half_sine"]


@functools.lru_cache(maxsize=64)
def _impulse_response_values(b: tuple[float, ...], a: tuple[float, ...], n: int) -> tuple[float, ...]:
    """Impulse response of ``b(z) / a(z)``: at most ``n`` samples, cut where it has died out.

    Runs the all-pole recursion on Python floats (coefficient preparation, not signal
    processing: it depends on the coefficients only and is cached). The response is cut once
    ``order`` consecutive samples fall below 1e-30 of its peak: the recursion's state is then
    zero to double precision, so the rest of the response is too.
    """
    a0 = a[0]
    den = [v / a0 for v in a[1:]]
    num = [v / a0 for v in b]
    order = len(den)
    g: list[float] = [1.0] if order == 0 else []
    peak = 0.0
    quiet = 0
    for k in range(n if order else 0):
        v = 1.0 if k == 0 else 0.0
        for j, coef in enumerate(den):
            if k - 1 - j >= 0:
                v -= coef * g[k - 1 - j]
        g.append(v)
        peak = max(peak, abs(v))
        quiet = quiet + 1 if abs(v) < 1e-30 * peak else 0
        if quiet >= order:
            break
    length = min(n, len(g) + len(num) - 1)
    h = [0.0] * length
    for i, coef in enumerate(num):
        for k in range(min(len(g), length - i)):
            h[i + k] += coef * g[k]
    return tuple(h)


@constant_result
def _constant_impulse_response(b: tuple[float, ...], a: tuple[float, ...], n: int) -> tuple[float, ...]:
    """The cached response, marked constant for torch.compile (dynamo does not re-trace it)."""
    return _impulse_response_values(b, a, n)


def _impulse_response(b: Sequence[float], a: Sequence[float], n: int, device: torch.device) -> Tensor:
    """Impulse response of ``b(z) / a(z)`` as a float64 tensor of at most ``n`` samples."""
    if float(a[0]) == 0.0:
        raise OptionError("the leading denominator coefficient a[0] must be non-zero")
    cap = 1 << max(n - 1, 0).bit_length()  # few cache keys across signal lengths
    values = _constant_impulse_response(tuple(float(v) for v in b), tuple(float(v) for v in a), cap)
    return torch.tensor(values[:n], dtype=torch.float64, device=device)


def _iir_filter(x: Tensor, b: Sequence[float], a: Sequence[float]) -> Tensor:
    """Filter ``(..., time)`` signals with ``b(z) / a(z)`` from zero initial state, no clamping.

    Equivalent to ``scipy.signal.lfilter(b, a, x)``: the impulse response (until it has
    decayed below double precision, at most as long as the signal) is convolved through an
    FFT, computed in float64 and returned in ``x``'s dtype. Differentiable with respect to ``x``.
    """
    n = x.shape[-1]
    if n == 0:
        return x
    h = _impulse_response(b, a, n, x.device)
    size = 1 << (n + h.shape[0] - 2).bit_length()
    spec = torch.fft.rfft(x.to(torch.float64), size) * torch.fft.rfft(h, size)
    return torch.fft.irfft(spec, size)[..., :n].to(x.dtype)


def add_noise(
    waveform: Tensor, noise: Tensor, snr: Tensor | float, lengths: Tensor | None = None
) -> Tensor:
    """Add noise scaled to a given signal-to-noise ratio.

    Args:
        waveform: Signals, shape ``(..., time)``.
        noise: Noise, same shape as ``waveform``.
        snr: Target SNR in dB, shape ``(...)`` (one per signal) or a float for all.
        lengths: Valid lengths, shape ``(...)``; energies are measured over
            ``[0, length)`` only. ``None`` uses the full length.

    Returns:
        ``waveform + scale * noise``, same shape as ``waveform``.
    """
    if waveform.shape != noise.shape:
        raise OptionError(
            f"waveform and noise must have the same shape; got {tuple(waveform.shape)} and {tuple(noise.shape)}"
        )
    snr_t = torch.as_tensor(snr, dtype=waveform.dtype, device=waveform.device)
    if lengths is None:
        signal, masked_noise = waveform, noise
    else:
        mask = torch.arange(waveform.shape[-1], device=waveform.device) < lengths.unsqueeze(-1)
        signal, masked_noise = waveform * mask, noise * mask
    energy_signal = signal.pow(2).sum(dim=-1)
    energy_noise = masked_noise.pow(2).sum(dim=-1)
    current = 10 * (torch.log10(energy_signal) - torch.log10(energy_noise))
    scale = torch.pow(10.0, (current - snr_t) / 20.0)
    return waveform + scale.unsqueeze(-1) * noise


def preemphasis(waveform: Tensor, coeff: float = 0.97) -> Tensor:
    """Pre-emphasis ``y[t] = x[t] - coeff * x[t - 1]`` (``y[0] = x[0]``).

    Args:
        waveform: Signals, shape ``(..., time)``.
        coeff: Emphasis coefficient, usually in ``[0.9, 1.0]``.

    Returns:
        Same shape.
    """
    if waveform.shape[-1] == 0:
        return waveform
    return torch.cat([waveform[..., :1], waveform[..., 1:] - coeff * waveform[..., :-1]], dim=-1)


def deemphasis(waveform: Tensor, coeff: float = 0.97) -> Tensor:
    """De-emphasis ``y[t] = x[t] + coeff * y[t - 1]`` (inverse of :func:`preemphasis`).

    Computed exactly as an FFT convolution with the geometric impulse response ``coeff ** n``
    in float64 (the response is built once per coefficient and cached; for ``coeff`` very
    close to 1 it is as long as the signal).

    Args:
        waveform: Signals, shape ``(..., time)``.
        coeff: Emphasis coefficient.

    Returns:
        Same shape.

    Differences:
        torchaudio clamps the result to ``[-1, 1]`` (its ``lfilter`` default); the output here
        is not clamped, so ``deemphasis(preemphasis(x)) == x`` holds for any ``x``.
    """
    return _iir_filter(waveform, [1.0], [1.0, -coeff])


def fade_curve(
    length: int,
    fade_len: int,
    fade_shape: FadeShape,
    fade_in: bool,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Gain curve of a fade-in or fade-out over a signal of ``length`` samples.

    Args:
        length: Signal length in samples.
        fade_len: Fade length in samples (at most ``length``).
        fade_shape: ``"linear"``, ``"logarithmic"``, ``"exponential"``, ``"quarter_sine"`` or
            ``"half_sine"`` (the curves of torchaudio's ``Fade``).
        fade_in: ``True`` for a fade-in at the start, ``False`` for a fade-out at the end.
        device: Device of the result.
        dtype: Floating dtype of the result.

    Returns:
        Shape ``(length,)``, values in ``[0, 1]``.
    """
    if fade_len < 0 or fade_len > length:
        raise OptionError(f"fade length {fade_len} must be in [0, {length}] (the signal length)")
    t = torch.linspace(0, 1, fade_len, device=device, dtype=dtype)
    if fade_in:
        curves = {
            "linear": lambda: t,
            "exponential": lambda: torch.pow(2.0, (t - 1) * 5),
            "logarithmic": lambda: torch.log10(0.1 + t) + 1,
            "quarter_sine": lambda: torch.sin(t * math.pi / 2),
            "half_sine": lambda: torch.sin(t * math.pi - math.pi / 2) / 2 + 0.5,
        }
    else:
        curves = {
            "linear": lambda: 1 - t,
            "exponential": lambda: torch.pow(2.0, -t * 5),
            "logarithmic": lambda: torch.log10(1.1 - t),
            "quarter_sine": lambda: torch.sin(t * math.pi / 2 + math.pi / 2),
            "half_sine": lambda: torch.sin(t * math.pi + math.pi / 2) / 2 + 0.5,
        }
    if fade_shape not in curves:
        raise OptionError(f"fade_shape must be one of {sorted(curves)}; got {fade_shape!r}")
    ramp = curves[fade_shape]()
    ones = torch.ones(length - fade_len, device=device, dtype=dtype)
    parts = [ramp, ones] if fade_in else [ones, ramp]
    return torch.cat(parts).clamp(0, 1)
