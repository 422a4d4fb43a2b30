"""Linear filters on tensors: :func:`lfilter`, :func:`filtfilt` and SoX's biquad family.

``lfilter`` runs a rational transfer function ``B(z)/A(z)`` (direct form, zero initial
state) along the last dimension of a tensor of any shape. It is vectorized: the FIR part
is a convolution, and the recursive part is solved block by block. Within a block of
``L`` samples the zero-state response is a product with a Toeplitz matrix of the impulse
response; the filter states at block ends follow a linear recurrence that is solved with a
parallel prefix scan (``log2(blocks)`` steps). The result equals the sample-by-sample
recursion up to float64 rounding, is differentiable in the input and in the coefficients,
and runs on any device.

The biquad designers return ``(b, a)`` coefficient pairs computed exactly as SoX's
``biquads.c`` does (Robert Bristow-Johnson's cookbook formulas, in float64), so
``b, a = biquad_coeffs(...)`` then ``lfilter(x, a, b, clamp=False)`` reproduces the ``sox``
effect of the same name.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional._compile import is_compiling as _is_compiling

__all__ = [
    "lfilter",
    "filtfilt",
    "biquad",
    "WidthType",
    "biquad_coeffs",
    "lowpass_biquad",
    "highpass_biquad",
    "bandpass_biquad",
    "bandreject_biquad",
    "allpass_biquad",
    "equalizer_biquad",
    "bass_biquad",
    "treble_biquad",
    "band_biquad",
    "deemph_biquad",
    "deemph_coeffs",
    "riaa_coeffs",
    "riaa_biquad",
]

WidthType = Literal["h", "k", "o", "q", "s", "b"]
"""How a filter width is given: ``h`` band-width in Hz, ``k`` in kHz, ``o`` in octaves,
``q`` quality factor, ``s`` shelf slope, ``b`` band-width in Hz without pre-warping."""

_BLOCK = 64


Coeffs = torch.Tensor | list[float] | tuple[float, ...] | list[list[float]]
"""Filter coefficients: 1-D (one filter) or 2-D ``(num_filters, order + 1)``."""


def _as_coeffs(c: Coeffs, like: torch.Tensor) -> torch.Tensor:
    if isinstance(c, torch.Tensor):
        return c.to(device=like.device, dtype=torch.float64) if c.dtype != torch.float64 or c.device != like.device else c
    return torch.tensor(c, dtype=torch.float64, device=like.device)


def _matrix_powers(a_mat: torch.Tensor, count: int) -> torch.Tensor:
    """Return ``[A^0, A^1, ..., A^(count-1)]`` stacked on dim -3, by repeated doubling
    (``a_mat`` is ``(..., p, p)``)."""
    p = a_mat.shape[-1]
    eye = torch.eye(p, dtype=a_mat.dtype, device=a_mat.device)
    powers = eye.expand(*a_mat.shape[:-2], 1, p, p)
    step = a_mat
    while powers.shape[-3] < count:
        powers = torch.cat([powers, powers @ step.unsqueeze(-3)], dim=-3)
        step = step @ step
    return powers[..., :count, :, :]


def _all_pole(v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Solve ``y[n] = v[n] - sum_k a[k] y[n-k]`` (``a[..., 0] == 1``) along the last dim.

    ``a`` is ``(order + 1,)`` for one filter, or ``(filters, order + 1)`` with ``v``
    ``(..., filters, time)``: row ``f`` of ``v`` is filtered by ``a[f]``.
    """
    order = a.shape[-1] - 1
    n = v.shape[-1]
    if order == 0 or n == 0:
        return v
    block = max(_BLOCK, order)
    cb = a.shape[:-1]
    # Companion matrix of the recursion: state s[n] = (y[n], y[n-1], ..., y[n-order+1]).
    comp = torch.zeros(*cb, order, order, dtype=v.dtype, device=v.device)
    comp[..., 0, :] = -a[..., 1:]
    if order > 1:
        comp[..., 1:, :-1] = torch.eye(order - 1, dtype=v.dtype, device=v.device)
    powers = _matrix_powers(comp, block + 1)  # (*cb, block+1, p, p)
    h = powers[..., :block, 0, 0]  # impulse response h[m] = (A^m)[0, 0]
    idx = torch.arange(block, device=v.device)
    diff = idx.unsqueeze(1) - idx.unsqueeze(0)
    toeplitz = torch.where(diff >= 0, h[..., diff.clamp(min=0)], torch.zeros((), dtype=v.dtype, device=v.device))
    readout = powers[..., 1:, 0, :]  # (*cb, block, p): row j maps the state before the block to y[j]
    nblocks = -(-n // block)
    pad = nblocks * block - n
    lead = v.shape[:-1]
    vb = torch.nn.functional.pad(v, (0, pad)).reshape(*lead, nblocks, block)
    zero_state = vb @ toeplitz.transpose(-1, -2)  # (..., nblocks, block)
    ends = zero_state[..., block - order:].flip(-1)  # (..., nblocks, p) states at block ends
    # Prefix scan of s_k = M s_{k-1} + ends_k with M = A^block.
    m_pow = powers[..., block, :, :]
    states = ends
    d = 1
    while d < nblocks:
        shifted = states[..., :-d, :] @ m_pow.transpose(-1, -2)
        states = torch.cat([states[..., :d, :], states[..., d:, :] + shifted], dim=-2)
        m_pow = m_pow @ m_pow
        d *= 2
    prev = torch.cat([torch.zeros_like(states[..., :1, :]), states[..., :-1, :]], dim=-2)
    y = zero_state + prev @ readout.transpose(-1, -2)
    return y.reshape(*lead, nblocks * block)[..., :n]


def _fir(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Causal FIR ``v[n] = sum_k taps[k] x[n-k]`` along the last dim (shifted sums for short
    filters, FFT convolution for long ones). ``taps`` is ``(k,)``, or ``(filters, k)`` for
    ``x`` of shape ``(..., filters, time)``."""
    n = x.shape[-1]
    k = taps.shape[-1]
    if k <= 32:
        v = x * taps[..., 0:1]
        for i in range(1, min(k, n + 1)):
            v = v + torch.nn.functional.pad(x[..., : n - i] * taps[..., i : i + 1], (i, 0))
        return v
    size = n + k - 1
    nfft = 1 << (size - 1).bit_length()
    spec = torch.fft.rfft(x, nfft) * torch.fft.rfft(taps, nfft)
    return torch.fft.irfft(spec, nfft)[..., :n]


def _check_leading_coeff(a: Coeffs, aa: torch.Tensor) -> None:
    """Refuse ``a[0] == 0`` (``a[:, 0] == 0`` for a bank of filters).

    Python coefficients are checked always. A tensor's value is only known when the
    function runs eagerly: reading it inside ``torch.compile`` would break the graph, so
    traced code skips the check (a zero ``a[0]`` then gives non-finite output).
    """
    if not isinstance(a, torch.Tensor):
        rows = a if isinstance(a[0], (list, tuple)) else [a]
        if any(float(row[0]) == 0.0 for row in rows):
            raise OptionError("lfilter: a[0] must not be zero")
        return
    if _is_compiling():
        return
    if bool((aa[..., 0].detach() == 0).any()):
        raise OptionError("lfilter: a[0] must not be zero")


def lfilter(
    waveform: torch.Tensor,
    a_coeffs: Coeffs,
    b_coeffs: Coeffs,
    clamp: bool = True,
    batching: bool = True,
) -> torch.Tensor:
    """Filter along the last dimension with the transfer function ``B(z) / A(z)``.

    Computes ``a[0] y[n] = sum_k b[k] x[n-k] - sum_{k>=1} a[k] y[n-k]`` with zero initial
    state (SoX's and scipy's ``lfilter`` convention). Computed in float64.

    The argument order is torchaudio's (denominator first, ``clamp`` on by default); note
    that scipy's ``lfilter(b, a, x)`` takes the numerator first.

    Args:
        waveform: ``(..., time)`` real tensor (``(..., num_filters, time)`` for a bank of
            filters with ``batching=True``).
        a_coeffs: denominator coefficients ``a``: 1-D, or 2-D ``(num_filters, taps)`` for a
            bank of filters (list or tensor, may require grad); ``a[..., 0] != 0``.
        b_coeffs: numerator coefficients ``b``, 1-D or 2-D like ``a_coeffs``. When one of
            them is 2-D and the other 1-D, the 1-D one is shared by all filters.
        clamp: clamp the output to [-1, 1] (torchaudio's default); pass ``False`` for
            signals that are not audio in [-1, 1].
        batching: with a bank of filters, filter row ``f`` of ``waveform[..., f, :]`` with
            filter ``f`` (``True``), or apply every filter to the whole ``waveform`` and
            return ``(..., num_filters, time)`` (``False``).

    Returns:
        ``(..., time)`` tensor with ``waveform``'s dtype (float64 for integer input);
        ``(..., num_filters, time)`` for a bank of filters.

    Raises:
        OptionError: empty or more than 2-D coefficients, filter banks of different
            sizes or not matching ``waveform``'s dim -2, or ``a[0] == 0``.

    Differences:
        torchaudio requires ``a_coeffs`` and ``b_coeffs`` of the same length; here they may
        differ.
    """
    a, b = a_coeffs, b_coeffs
    x = waveform.to(torch.float64)
    bb = _as_coeffs(b, x)
    aa = _as_coeffs(a, x)
    if bb.ndim not in (1, 2) or aa.ndim not in (1, 2) or bb.shape[-1] == 0 or aa.shape[-1] == 0:
        raise OptionError(
            f"lfilter: b and a must be non-empty 1-D or 2-D coefficient arrays, got shapes "
            f"{tuple(bb.shape)} and {tuple(aa.shape)}"
        )
    _check_leading_coeff(a, aa)
    if bb.ndim == 2 or aa.ndim == 2:
        filters = bb.shape[0] if bb.ndim == 2 else aa.shape[0]
        if (bb.ndim == 2 and bb.shape[0] != filters) or (aa.ndim == 2 and aa.shape[0] != filters):
            raise OptionError(f"lfilter: b has {bb.shape[0]} filters but a has {aa.shape[0]}")
        bb = bb.expand(filters, bb.shape[-1])
        aa = aa.expand(filters, aa.shape[-1])
        if not batching:
            x = x.unsqueeze(-2).expand(*x.shape[:-1], filters, x.shape[-1])
        elif x.ndim < 2 or x.shape[-2] != filters:
            raise OptionError(
                f"lfilter: {filters} filters need a waveform of shape (..., {filters}, time) with "
                f"batching=True, got {tuple(x.shape)}"
            )
    bb = bb / aa[..., :1]
    aa = aa / aa[..., :1]
    v = _fir(x, bb)
    y = _all_pole(v, aa)
    if clamp:
        y = y.clamp(-1.0, 1.0)
    out_dtype = waveform.dtype if waveform.is_floating_point() else torch.float64
    return y.to(out_dtype)


def filtfilt(
    waveform: torch.Tensor,
    a_coeffs: Coeffs,
    b_coeffs: Coeffs,
    clamp: bool = True,
    *,
    batching: bool = True,
) -> torch.Tensor:
    """Zero-phase filtering: :func:`lfilter` forwards, then backwards (torchaudio's rule,
    no edge padding).

    Args:
        waveform: ``(..., time)`` tensor.
        a_coeffs: denominator coefficients (see :func:`lfilter`; torchaudio's order).
        b_coeffs: numerator coefficients.
        clamp: clamp the final output to [-1, 1] (torchaudio's default).
        batching: see :func:`lfilter` (only used with a bank of filters).

    Returns:
        ``(..., time)`` tensor (``(..., num_filters, time)`` for a bank of filters).
    """
    fwd = lfilter(waveform, a_coeffs, b_coeffs, clamp=False, batching=batching)
    back = lfilter(fwd.flip(-1), a_coeffs, b_coeffs, clamp=False).flip(-1)
    return back.clamp(-1.0, 1.0) if clamp else back


def biquad(
    waveform: torch.Tensor, b0: float, b1: float, b2: float, a0: float, a1: float, a2: float
) -> torch.Tensor:
    """Second-order IIR filter (SoX ``biquad b0 b1 b2 a0 a1 a2``).

    Args:
        waveform: ``(..., time)`` tensor.
        b0, b1, b2, a0, a1, a2: coefficients; they are divided by ``a0``.

    Returns:
        ``(..., time)`` tensor.
    """
    return lfilter(waveform, [a0, a1, a2], [b0, b1, b2], clamp=False)


# --------------------------------------------------------------------------------------
# Coefficient designers (SoX biquads.c semantics).

Design = Literal[
    "lowpass", "highpass", "lowpass1", "highpass1", "bandpass", "bandpass_csg", "bandreject",
    "allpass", "allpass1", "allpass2", "equalizer", "bass", "treble", "band", "band_n",
]


def _alpha(w0: float, width: float, width_type: str, gain_db: float, fc: float, sample_rate: float) -> float:
    if not width:
        return 0.0
    a_lin = math.exp(gain_db / 40 * math.log(10.0))
    if width_type == "s":
        return math.sin(w0) / 2 * math.sqrt((a_lin + 1 / a_lin) * (1 / width - 1) + 2)
    if width_type == "q":
        return math.sin(w0) / (2 * width)
    if width_type == "o":
        return math.sin(w0) * math.sinh(math.log(2.0) / 2 * width * w0 / math.sin(w0))
    if width_type in ("h", "k"):
        hz = width * 1000 if width_type == "k" else width
        return math.sin(w0) / (2 * fc / hz)
    if width_type == "b":
        return math.tan(math.pi * width / sample_rate)
    raise OptionError(f"unknown width type {width_type!r}")


def biquad_coeffs(
    kind: Design,
    sample_rate: float,
    frequency: float,
    width: float = 0.0,
    width_type: WidthType = "q",
    gain: float = 0.0,
) -> tuple[list[float], list[float]]:
    """Coefficients ``(b, a)`` of one of SoX's biquad designs (normalized so ``a[0] == 1``).

    Args:
        kind: the design (SoX effect names; ``lowpass1``/``highpass1`` are the ``-1``
            one-pole forms, ``bandpass_csg`` is ``bandpass -c``, ``band_n`` is ``band -n``,
            ``allpass1``/``allpass2`` the ``-1``/``-2`` experimental all-passes).
        sample_rate: Hz.
        frequency: centre/corner frequency in Hz.
        width: filter width, interpreted by ``width_type``.
        width_type: see :data:`WidthType`.
        gain: gain in dB (equalizer, bass, treble).

    Returns:
        ``(b, a)``, three coefficients each (float64 values).

    Raises:
        OptionError: frequency above Nyquist or an unknown design.
    """
    w0 = 2 * math.pi * frequency / sample_rate
    if w0 > math.pi:
        raise OptionError("frequency must be less than half the sample-rate (Nyquist rate)")
    a_lin = math.exp(gain / 40 * math.log(10.0))
    cw, sw = math.cos(w0), math.sin(w0)
    alpha = _alpha(w0, width, width_type, gain, frequency, sample_rate)
    b0 = b1 = b2 = a1 = a2 = 0.0
    a0 = 1.0
    if kind == "lowpass":
        b0, b1, b2 = (1 - cw) / 2, 1 - cw, (1 - cw) / 2
        a0, a1, a2 = 1 + alpha, -2 * cw, 1 - alpha
    elif kind == "highpass":
        b0, b1, b2 = (1 + cw) / 2, -(1 + cw), (1 + cw) / 2
        a0, a1, a2 = 1 + alpha, -2 * cw, 1 - alpha
    elif kind == "bandpass_csg":
        b0, b1, b2 = sw / 2, 0.0, -sw / 2
        a0, a1, a2 = 1 + alpha, -2 * cw, 1 - alpha
    elif kind == "bandpass":
        b0, b1, b2 = alpha, 0.0, -alpha
        a0, a1, a2 = 1 + alpha, -2 * cw, 1 - alpha
    elif kind == "bandreject":
        b0, b1, b2 = 1.0, -2 * cw, 1.0
        a0, a1, a2 = 1 + alpha, -2 * cw, 1 - alpha
    elif kind == "allpass":
        b0, b1, b2 = 1 - alpha, -2 * cw, 1 + alpha
        a0, a1, a2 = 1 + alpha, -2 * cw, 1 - alpha
    elif kind == "equalizer":
        b0, b1, b2 = 1 + alpha * a_lin, -2 * cw, 1 - alpha * a_lin
        a0, a1, a2 = 1 + alpha / a_lin, -2 * cw, 1 - alpha / a_lin
    elif kind == "bass":
        sa = 2 * math.sqrt(a_lin) * alpha
        b0 = a_lin * ((a_lin + 1) - (a_lin - 1) * cw + sa)
        b1 = 2 * a_lin * ((a_lin - 1) - (a_lin + 1) * cw)
        b2 = a_lin * ((a_lin + 1) - (a_lin - 1) * cw - sa)
        a0 = (a_lin + 1) + (a_lin - 1) * cw + sa
        a1 = -2 * ((a_lin - 1) + (a_lin + 1) * cw)
        a2 = (a_lin + 1) + (a_lin - 1) * cw - sa
    elif kind == "treble":
        sa = 2 * math.sqrt(a_lin) * alpha
        b0 = a_lin * ((a_lin + 1) + (a_lin - 1) * cw + sa)
        b1 = -2 * a_lin * ((a_lin - 1) + (a_lin + 1) * cw)
        b2 = a_lin * ((a_lin + 1) + (a_lin - 1) * cw - sa)
        a0 = (a_lin + 1) - (a_lin - 1) * cw + sa
        a1 = 2 * ((a_lin - 1) - (a_lin + 1) * cw)
        a2 = (a_lin + 1) - (a_lin - 1) * cw - sa
    elif kind == "lowpass1":
        a1 = -math.exp(-w0)
        b0 = 1 + a1
    elif kind == "highpass1":
        a1 = -math.exp(-w0)
        b0 = (1 - a1) / 2
        b1 = -b0
    elif kind in ("band", "band_n"):
        if not width:
            width, width_type = frequency / 2, "h"
        if width_type == "q":
            bw_hz = frequency / width
        elif width_type in ("h", "k"):
            bw_hz = width * 1000 if width_type == "k" else width
        else:
            bw_hz = frequency * (2.0**width - 1) * 2.0 ** (-0.5 * width)
        a2 = math.exp(-2 * math.pi * bw_hz / sample_rate)
        a1 = -4 * a2 / (1 + a2) * math.cos(2 * math.pi * frequency / sample_rate)
        b0 = math.sqrt(1 - a1 * a1 / (4 * a2)) * (1 - a2)
        if kind == "band_n":
            b0 *= math.sqrt(((1 + a2) * (1 + a2) - a1 * a1) * (1 - a2) / (1 + a2)) / b0
    elif kind == "allpass1":
        b0, b1, a1 = math.exp(-w0), -1.0, -math.exp(-w0)
    elif kind == "allpass2":
        b0, b1, b2 = 1 - sw, -2 * cw, 1 + sw
        a0, a1, a2 = 1 + sw, -2 * cw, 1 - sw
    else:
        raise OptionError(f"unknown biquad design {kind!r}")
    return [b0 / a0, b1 / a0, b2 / a0], [1.0, a1 / a0, a2 / a0]


def _run(waveform: torch.Tensor, coeffs: tuple[list[float], list[float]]) -> torch.Tensor:
    b, a = coeffs
    return lfilter(waveform, a, b, clamp=False)


def lowpass_biquad(waveform: torch.Tensor, sample_rate: float, cutoff_freq: float, Q: float = 0.7071067811865476) -> torch.Tensor:  # noqa: N803
    """Two-pole low-pass (SoX ``lowpass f [Q]q``). ``waveform``: ``(..., time)``."""
    return _run(waveform, biquad_coeffs("lowpass", sample_rate, cutoff_freq, Q, "q"))


def highpass_biquad(waveform: torch.Tensor, sample_rate: float, cutoff_freq: float, Q: float = 0.7071067811865476) -> torch.Tensor:  # noqa: N803
    """Two-pole high-pass (SoX ``highpass f [Q]q``). ``waveform``: ``(..., time)``."""
    return _run(waveform, biquad_coeffs("highpass", sample_rate, cutoff_freq, Q, "q"))


def bandpass_biquad(
    waveform: torch.Tensor, sample_rate: float, central_freq: float, Q: float = 0.7071067811865476,  # noqa: N803
    const_skirt_gain: bool = False,
) -> torch.Tensor:
    """Band-pass (SoX ``bandpass [-c] f Qq``). ``waveform``: ``(..., time)``."""
    kind: Design = "bandpass_csg" if const_skirt_gain else "bandpass"
    return _run(waveform, biquad_coeffs(kind, sample_rate, central_freq, Q, "q"))


def bandreject_biquad(waveform: torch.Tensor, sample_rate: float, central_freq: float, Q: float = 0.7071067811865476) -> torch.Tensor:  # noqa: N803
    """Band-reject (SoX ``bandreject f Qq``). ``waveform``: ``(..., time)``."""
    return _run(waveform, biquad_coeffs("bandreject", sample_rate, central_freq, Q, "q"))


def allpass_biquad(waveform: torch.Tensor, sample_rate: float, central_freq: float, Q: float = 0.7071067811865476) -> torch.Tensor:  # noqa: N803
    """Two-pole all-pass (SoX ``allpass f Qq``). ``waveform``: ``(..., time)``."""
    return _run(waveform, biquad_coeffs("allpass", sample_rate, central_freq, Q, "q"))


def equalizer_biquad(
    waveform: torch.Tensor, sample_rate: float, center_freq: float, gain: float, Q: float = 0.7071067811865476  # noqa: N803
) -> torch.Tensor:
    """Peaking equalizer (SoX ``equalizer f Qq gain``). ``waveform``: ``(..., time)``."""
    return _run(waveform, biquad_coeffs("equalizer", sample_rate, center_freq, Q, "q", gain))


def bass_biquad(
    waveform: torch.Tensor, sample_rate: float, gain: float, central_freq: float = 100.0, Q: float = 0.707  # noqa: N803
) -> torch.Tensor:
    """Low shelf (SoX ``bass gain f Qq``; SoX's own default width is slope 0.5, use
    :func:`biquad_coeffs` for slopes). ``waveform``: ``(..., time)``."""
    return _run(waveform, biquad_coeffs("bass", sample_rate, central_freq, Q, "q", gain))


def treble_biquad(
    waveform: torch.Tensor, sample_rate: float, gain: float, central_freq: float = 3000.0, Q: float = 0.707  # noqa: N803
) -> torch.Tensor:
    """High shelf (SoX ``treble gain f Qq``). ``waveform``: ``(..., time)``."""
    return _run(waveform, biquad_coeffs("treble", sample_rate, central_freq, Q, "q", gain))


def band_biquad(
    waveform: torch.Tensor, sample_rate: float, central_freq: float, Q: float = 0.7071067811865476,  # noqa: N803
    noise: bool = False,
) -> torch.Tensor:
    """Two-pole resonator (SoX ``band [-n] f Qq``). ``waveform``: ``(..., time)``."""
    kind: Design = "band_n" if noise else "band"
    return _run(waveform, biquad_coeffs(kind, sample_rate, central_freq, Q, "q"))


def deemph_coeffs(sample_rate: float) -> tuple[list[float], list[float]]:
    """Coefficients of SoX's CD de-emphasis shelf (44100 or 48000 Hz only).

    Raises:
        OptionError: any other sample rate.
    """
    if sample_rate == 44100:
        fc, width, gain = 5283.0, 0.4845, -9.477
    elif sample_rate == 48000:
        fc, width, gain = 5356.0, 0.479, -9.62
    else:
        raise OptionError("sample rate must be 44100 (audio-CD) or 48000 (DAT)")
    return biquad_coeffs("treble", sample_rate, fc, width, "s", gain)


def deemph_biquad(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """ISO 908 CD de-emphasis (SoX ``deemph``). ``waveform``: ``(..., time)``."""
    return _run(waveform, deemph_coeffs(sample_rate))


_RIAA = {
    44100: ((-0.2014898, 0.9233820), (0.7083149, 0.9924091)),
    48000: ((-0.1766069, 0.9321590), (0.7396325, 0.9931330)),
    88200: ((-0.1168735, 0.9648312), (0.8590646, 0.9964002)),
    96000: ((-0.1141486, 0.9676817), (0.8699137, 0.9966946)),
    192000: ((-0.1040610965, 0.9837523263), (0.9328992971, 0.9983633125)),
}


def riaa_coeffs(sample_rate: float) -> tuple[list[float], list[float]]:
    """Coefficients of SoX's RIAA vinyl playback equalization, 0 dB at 1 kHz.

    Raises:
        OptionError: a rate other than 44.1k, 48k, 88.2k, 96k or 192k.
    """
    if sample_rate not in _RIAA:
        raise OptionError("Sample rate must be 44.1k, 48k, 88.2k, 96k, or 192k")
    zeros, poles = _RIAA[int(sample_rate)]
    b = [1.0, -(zeros[0] + zeros[1]), zeros[0] * zeros[1]]
    a = [1.0, -(poles[0] + poles[1]), poles[0] * poles[1]]
    y = 2 * math.pi * 1000 / sample_rate
    b_re = b[0] + b[1] * math.cos(-y) + b[2] * math.cos(-2 * y)
    a_re = a[0] + a[1] * math.cos(-y) + a[2] * math.cos(-2 * y)
    b_im = b[1] * math.sin(-y) + b[2] * math.sin(-2 * y)
    a_im = a[1] * math.sin(-y) + a[2] * math.sin(-2 * y)
    g = 1 / math.sqrt((b_re**2 + b_im**2) / (a_re**2 + a_im**2))
    return [v * g for v in b], a


def riaa_biquad(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """RIAA playback equalization (SoX ``riaa``). ``waveform``: ``(..., time)``."""
    return _run(waveform, riaa_coeffs(sample_rate))
