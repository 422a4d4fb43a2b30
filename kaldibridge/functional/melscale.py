"""Filter banks (mel and linear triangles) and the DCT matrix used by MFCC and LFCC."""

from __future__ import annotations

import math
import warnings
from typing import Literal

import torch
from torch import Tensor

from kaldibridge.errors import OptionError

__all__ = ["hz_to_mel", "mel_to_hz", "melscale_fbanks", "linear_fbanks", "create_dct"]

# Slaney's (Auditory Toolbox) mel scale: linear below 1 kHz, logarithmic above.
_SLANEY_F_SP = 200.0 / 3
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def _check_scale(mel_scale: str) -> None:
    if mel_scale not in ("htk", "slaney"):
        raise OptionError(f"mel_scale must be 'htk' or 'slaney'; got {mel_scale!r}")


def hz_to_mel(freq: Tensor, mel_scale: Literal["htk", "slaney"] = "htk") -> Tensor:
    """Mels from Hz (element-wise).

    Args:
        freq: Frequencies in Hz, any shape.
        mel_scale: ``"htk"`` (``2595 log10(1 + f / 700)``) or ``"slaney"``.

    Returns:
        Mels, same shape.
    """
    _check_scale(mel_scale)
    if mel_scale == "htk":
        return 2595.0 * torch.log10(1.0 + freq / 700.0)
    linear = freq / _SLANEY_F_SP
    logpart = _SLANEY_MIN_LOG_MEL + torch.log(
        torch.clamp(freq, min=_SLANEY_MIN_LOG_HZ) / _SLANEY_MIN_LOG_HZ
    ) / _SLANEY_LOGSTEP
    return torch.where(freq >= _SLANEY_MIN_LOG_HZ, logpart, linear)


def mel_to_hz(mels: Tensor, mel_scale: Literal["htk", "slaney"] = "htk") -> Tensor:
    """Hz from mels (element-wise inverse of :func:`hz_to_mel`).

    Args:
        mels: Mels, any shape.
        mel_scale: ``"htk"`` or ``"slaney"``.

    Returns:
        Frequencies in Hz, same shape.
    """
    _check_scale(mel_scale)
    if mel_scale == "htk":
        return 700.0 * (torch.pow(10.0, mels / 2595.0) - 1.0)
    linear = _SLANEY_F_SP * mels
    logpart = _SLANEY_MIN_LOG_HZ * torch.exp(
        _SLANEY_LOGSTEP * (torch.clamp(mels, min=_SLANEY_MIN_LOG_MEL) - _SLANEY_MIN_LOG_MEL)
    )
    return torch.where(mels >= _SLANEY_MIN_LOG_MEL, logpart, linear)


def _triangles(all_freqs: Tensor, f_pts: Tensor) -> Tensor:
    """Triangular filters with corners ``f_pts`` sampled at ``all_freqs``: ``(n_freqs, n_filters)``."""
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0)


def melscale_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: Literal["slaney"] | None = None,
    mel_scale: Literal["htk", "slaney"] = "htk",
) -> Tensor:
    """Triangular mel filter bank for a onesided spectrum.

    The ``n_freqs`` bins are spread evenly over ``[0, sample_rate // 2]``; the ``n_mels``
    triangles have corners evenly spaced in mels between ``f_min`` and ``f_max``. Computed in
    float64 and returned as float32.

    Args:
        n_freqs: Number of spectrum bins (``n_fft // 2 + 1``).
        f_min: Lowest corner in Hz.
        f_max: Highest corner in Hz.
        n_mels: Number of filters.
        sample_rate: Sampling rate in Hz.
        norm: ``"slaney"`` scales each triangle to unit area (``2 / bandwidth``), or ``None``.
        mel_scale: ``"htk"`` or ``"slaney"``.

    Returns:
        Shape ``(n_freqs, n_mels)``; ``spec.transpose(-1, -2) @ fb`` applies it.
    """
    if norm is not None and norm != "slaney":
        raise OptionError(f"norm must be None or 'slaney'; got {norm!r}")
    _check_scale(mel_scale)
    if not 0 <= f_min < f_max:
        raise OptionError(f"need 0 <= f_min < f_max; got f_min={f_min}, f_max={f_max}")
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs, dtype=torch.float64)
    m_min = hz_to_mel(torch.tensor(float(f_min), dtype=torch.float64), mel_scale)
    m_max = hz_to_mel(torch.tensor(float(f_max), dtype=torch.float64), mel_scale)
    m_pts = torch.linspace(float(m_min), float(m_max), n_mels + 2, dtype=torch.float64)
    f_pts = mel_to_hz(m_pts, mel_scale)
    fb = _triangles(all_freqs, f_pts)
    if norm == "slaney":
        fb = fb * (2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])).unsqueeze(0)
    if bool((fb.amax(dim=0) == 0.0).any()):
        warnings.warn(
            f"mel filter bank has all-zero filters (n_mels={n_mels} too high for n_freqs={n_freqs})",
            stacklevel=2,
        )
    return fb.to(torch.float32)


def linear_fbanks(
    n_freqs: int, f_min: float, f_max: float, n_filter: int, sample_rate: int
) -> Tensor:
    """Triangular filter bank with corners evenly spaced in Hz (used by LFCC).

    Args:
        n_freqs: Number of spectrum bins.
        f_min: Lowest corner in Hz.
        f_max: Highest corner in Hz.
        n_filter: Number of filters.
        sample_rate: Sampling rate in Hz.

    Returns:
        Shape ``(n_freqs, n_filter)``, float32 (computed in float64).
    """
    if not 0 <= f_min < f_max:
        raise OptionError(f"need 0 <= f_min < f_max; got f_min={f_min}, f_max={f_max}")
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs, dtype=torch.float64)
    f_pts = torch.linspace(float(f_min), float(f_max), n_filter + 2, dtype=torch.float64)
    return _triangles(all_freqs, f_pts).to(torch.float32)


def create_dct(n_mfcc: int, n_mels: int, norm: Literal["ortho"] | None) -> Tensor:
    """DCT-II matrix.

    Args:
        n_mfcc: Number of coefficients kept.
        n_mels: Number of input channels.
        norm: ``"ortho"`` for the orthonormal DCT-II, ``None`` for the unscaled one (times 2).

    Returns:
        Shape ``(n_mels, n_mfcc)``; ``x @ dct`` transforms the last dimension of ``x``.
    """
    if norm is not None and norm != "ortho":
        raise OptionError(f"norm must be None or 'ortho'; got {norm!r}")
    if n_mfcc > n_mels:
        raise OptionError(f"n_mfcc ({n_mfcc}) must not exceed n_mels ({n_mels})")
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(1)
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k)
    if norm is None:
        dct = dct * 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct = dct * math.sqrt(2.0 / n_mels)
    return dct.t().contiguous().to(torch.float32)
