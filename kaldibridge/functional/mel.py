"""Mel scale, piecewise-linear VTLN frequency warping and triangular mel filter banks.

The filter-bank weights are computed the way the classic float32 C implementations do it:
every intermediate value is rounded to float32 after each elementary operation
(``log``/``exp`` are evaluated in float64 and rounded once, i.e. correctly rounded in
practice), so the bin edges and weights reproduce those implementations to the last bit in
nearly all cases. Frequencies are in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kaldibridge.errors import OptionError

__all__ = [
    "mel_scale",
    "inverse_mel_scale",
    "vtln_warp_freq",
    "vtln_warp_mel_freq",
    "MelBank",
    "mel_filterbank",
    "resolve_high_freq",
]

_F = np.float32


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def mel_scale(freq) -> np.ndarray:
    """``1127 ln(1 + f / 700)`` in float32 arithmetic; float32 array (or 0-d array)."""
    f = _f(freq)
    a = f / _F(700.0)
    b = _F(1.0) + a
    c = _f(np.log(b.astype(np.float64)))
    return _F(1127.0) * c


def inverse_mel_scale(mel) -> np.ndarray:
    """``700 (exp(m / 1127) - 1)`` in float32 arithmetic."""
    m = _f(mel)
    a = m / _F(1127.0)
    b = _f(np.exp(a.astype(np.float64)))
    return _F(700.0) * (b - _F(1.0))


def vtln_warp_freq(
    vtln_low_cutoff: float,
    vtln_high_cutoff: float,
    low_freq: float,
    high_freq: float,
    warp_factor: float,
    freq,
) -> np.ndarray:
    """Piecewise-linear VTLN warp of frequencies (float32 arithmetic).

    The function ``F`` maps ``[low_freq, high_freq]`` onto itself, is ``f / warp_factor``
    between two inflection points ``l = vtln_low_cutoff * max(1, warp_factor)`` and
    ``h = vtln_high_cutoff * min(1, warp_factor)``, and linear on either side so that
    ``F(low_freq) = low_freq`` and ``F(high_freq) = high_freq``. Frequencies outside
    ``[low_freq, high_freq]`` are returned unchanged.
    """
    lo, hi = _F(low_freq), _F(high_freq)
    w = _F(warp_factor)
    f = _f(freq)
    one = _F(1.0)
    l = _F(vtln_low_cutoff) * max(one, w)
    h = _F(vtln_high_cutoff) * min(one, w)
    scale = _F(1.0 / np.float64(w))
    fl = scale * l
    fh = scale * h
    scale_left = (fl - lo) / (l - lo)
    scale_right = (hi - fh) / (hi - h)
    out = np.where(
        f < l,
        lo + scale_left * (f - lo),
        np.where(f < h, scale * f, hi + scale_right * (f - hi)),
    ).astype(np.float32)
    return np.where((f < lo) | (f > hi), f, out).astype(np.float32)


def vtln_warp_mel_freq(
    vtln_low_cutoff: float,
    vtln_high_cutoff: float,
    low_freq: float,
    high_freq: float,
    warp_factor: float,
    mel,
) -> np.ndarray:
    """:func:`vtln_warp_freq` applied on the mel scale (mel -> Hz -> warp -> mel)."""
    return mel_scale(
        vtln_warp_freq(vtln_low_cutoff, vtln_high_cutoff, low_freq, high_freq, warp_factor, inverse_mel_scale(mel))
    )


def _fmt(x: float) -> str:
    """Format a number like C++ ``ostream << float`` (6 significant digits)."""
    return f"{float(x):g}"


def resolve_high_freq(high_freq: float, sample_freq: float) -> float:
    """``high_freq`` if positive, else ``nyquist + high_freq`` (float32 arithmetic)."""
    nyquist = _F(0.5 * np.float64(_F(sample_freq)))
    hf = _F(high_freq)
    return float(hf if hf > 0.0 else nyquist + hf)


@dataclass(frozen=True)
class MelBank:
    """A triangular filter bank.

    Attributes:
        weights: float32 numpy ``(num_bins, n_fft // 2 + 1)``; row ``b`` holds the weights of
            bin ``b`` over the one-sided spectrum (the Nyquist column is always zero).
        center_freqs: float32 numpy ``(num_bins,)``, centre frequency of each bin in Hz
            (after warping).
        first: int numpy ``(num_bins,)``, first non-zero spectrum index of each bin.
        last: int numpy ``(num_bins,)``, last non-zero spectrum index of each bin.
    """

    weights: np.ndarray
    center_freqs: np.ndarray
    first: np.ndarray
    last: np.ndarray

    def tensor(self, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
        """The weights as a tensor ``(num_bins, n_fft // 2 + 1)``."""
        return torch.from_numpy(self.weights).to(dtype=dtype, device=device)


def mel_filterbank(
    num_bins: int,
    sample_freq: float,
    n_fft: int,
    low_freq: float = 20.0,
    high_freq: float = 0.0,
    vtln_low: float = 100.0,
    vtln_high: float = -500.0,
    vtln_warp: float = 1.0,
) -> MelBank:
    """Triangular mel filters, equally spaced on the mel scale, with optional VTLN warping.

    Bin ``b`` spans mel values ``[m_lo + b d, m_lo + (b + 2) d]`` with its peak at
    ``m_lo + (b + 1) d`` where ``d = (mel(high) - mel(low)) / (num_bins + 1)``. With
    ``vtln_warp != 1`` the three corner frequencies of each bin are warped by
    :func:`vtln_warp_mel_freq`. Spectrum bin ``i`` (frequency ``i * sample_freq / n_fft``)
    gets weight ``(mel - left) / (center - left)`` on the rising side and
    ``(right - mel) / (right - center)`` on the falling side, strictly inside the triangle.

    Args:
        num_bins: number of triangular filters (>= 3).
        sample_freq: sampling rate in Hz.
        n_fft: FFT size (even); the spectrum has ``n_fft // 2 + 1`` points.
        low_freq: lower edge in Hz.
        high_freq: upper edge in Hz; ``<= 0`` means an offset from the Nyquist frequency.
        vtln_low: lower VTLN inflection point in Hz.
        vtln_high: upper VTLN inflection point in Hz; negative means an offset from Nyquist.
        vtln_warp: VTLN warp factor (1 = no warping).

    Raises:
        OptionError: bad frequency ranges or too many bins for the FFT size.
    """
    if num_bins < 3:
        raise OptionError("Must have at least 3 mel bins")
    if n_fft % 2 != 0:
        raise OptionError(f"The padded window size must be even for mel banks, got {n_fft}")
    sf = _F(sample_freq)
    num_fft_bins = n_fft // 2
    nyquist = _F(0.5 * np.float64(sf))
    lo = _F(low_freq)
    hi = _F(resolve_high_freq(high_freq, sample_freq))
    if lo < 0.0 or lo >= nyquist or hi <= 0.0 or hi > nyquist or hi <= lo:
        raise OptionError(
            f"Bad values in options: low-freq {_fmt(lo)} and high-freq {_fmt(hi)} vs. nyquist {_fmt(nyquist)}"
        )
    fft_bin_width = sf / _F(n_fft)
    mel_lo = mel_scale(lo)
    mel_hi = mel_scale(hi)
    delta = (mel_hi - mel_lo) / _F(num_bins + 1)
    vl = _F(vtln_low)
    vh = _F(vtln_high)
    if vh < 0.0:
        vh = vh + nyquist
    warp = _F(vtln_warp)
    if warp != 1.0 and (vl < 0.0 or vl <= lo or vl >= hi or vh <= 0.0 or vh >= hi or vh <= vl):
        raise OptionError(
            f"Bad values in options: vtln-low {_fmt(vl)} and vtln-high {_fmt(vh)}, versus "
            f"low-freq {_fmt(lo)} and high-freq {_fmt(hi)}"
        )
    b = np.arange(num_bins, dtype=np.float32)
    left = mel_lo + b * delta
    center = mel_lo + (b + _F(1.0)) * delta
    right = mel_lo + (b + _F(2.0)) * delta
    if warp != 1.0:
        left = vtln_warp_mel_freq(vl, vh, lo, hi, warp, left)
        center = vtln_warp_mel_freq(vl, vh, lo, hi, warp, center)
        right = vtln_warp_mel_freq(vl, vh, lo, hi, warp, right)
    center_freqs = inverse_mel_scale(center)
    freqs = fft_bin_width * np.arange(num_fft_bins, dtype=np.float32)
    mel = mel_scale(freqs)[None, :]
    left, center, right = left[:, None], center[:, None], right[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        up = (mel - left) / (center - left)
        down = (right - mel) / (right - center)
    inside = (mel > left) & (mel < right)
    w = np.where(inside, np.where(mel <= center, up, down), _F(0.0)).astype(np.float32)
    any_inside = inside.any(axis=1)
    if not any_inside.all():
        bad = int(np.argmin(any_inside))
        raise OptionError(
            f"Mel bin {bad} contains no FFT bin: --num-mel-bins={num_bins} is too large for this "
            f"frame length / frequency range"
        )
    first = np.argmax(inside, axis=1)
    last = num_fft_bins - 1 - np.argmax(inside[:, ::-1], axis=1)
    weights = np.zeros((num_bins, num_fft_bins + 1), dtype=np.float32)
    weights[:, :num_fft_bins] = w
    return MelBank(weights=weights, center_freqs=center_freqs.astype(np.float32), first=first, last=last)
