"""Frame-wise pitch estimate from the normalised cross-correlation function (torchaudio's)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kaldibridge.errors import OptionError

__all__ = ["detect_pitch_frequency"]

_EPS = 1e-9


def _nccf(waveform: Tensor, sample_rate: int, frame_time: float, freq_low: float) -> Tensor:
    """NCCF for lags ``1..ceil(sample_rate / freq_low)``: shape ``(batch, frames, lags)``.

    For frame ``i`` starting at ``b = i * frame_size`` and lag ``m``:
    ``sum_n x[b+n] x[b+m+n] / (|x[b:b+N]|^2 |x[b+m:b+m+N]|^2)`` (each norm plus 1e-9), the
    normalisation torchaudio uses. All lags are computed at once with grouped convolutions.
    """
    lags = int(math.ceil(sample_rate / freq_low))
    frame_size = int(math.ceil(sample_rate * frame_time))
    batch, length = waveform.shape
    frames = int(math.ceil(length / frame_size))
    waveform = torch.nn.functional.pad(waveform, (0, lags + frames * frame_size - length))
    ref = waveform.unfold(-1, frame_size, frame_size)[:, :frames]  # (B, F, N)
    span = waveform.unfold(-1, frame_size + lags, frame_size)[:, :frames]  # (B, F, N + lags)
    groups = batch * frames
    cross = torch.nn.functional.conv1d(
        span.reshape(1, groups, frame_size + lags), ref.reshape(groups, 1, frame_size), groups=groups
    ).reshape(batch, frames, lags + 1)
    ones = torch.ones(1, 1, frame_size, dtype=waveform.dtype, device=waveform.device)
    energy = torch.nn.functional.conv1d(span.reshape(groups, 1, frame_size + lags).pow(2), ones)
    energy = energy.reshape(batch, frames, lags + 1).clamp(min=0)
    ref_energy = ref.pow(2).sum(dim=-1, keepdim=True)
    denom = (_EPS + ref_energy.sqrt()).pow(2) * (_EPS + energy.sqrt()).pow(2)
    return (cross / denom)[..., 1:]


def _best_lag(nccf: Tensor, sample_rate: int, freq_high: float) -> Tensor:
    """Index (0-based lag minus one) of the NCCF peak, preferring the first half of the range
    when its peak reaches 99 % of the global one (an octave-error guard)."""
    lag_min = int(math.ceil(sample_rate / freq_high))
    half = nccf.shape[-1] // 2
    if lag_min >= half:
        raise OptionError(
            f"freq_high too low for freq_low: the minimal lag {lag_min} must be below {half}"
        )
    best_val, best_idx = torch.max(nccf[..., lag_min:], dim=-1)
    half_val, half_idx = torch.max(nccf[..., lag_min:half], dim=-1)
    idx = torch.where(half_val > 0.99 * best_val, half_idx, best_idx)
    return idx + lag_min + 1


def _median_smooth(indices: Tensor, win_length: int) -> Tensor:
    pad = (win_length - 1) // 2
    if indices.shape[-1] + pad < win_length:
        raise OptionError(
            f"signal too short for median smoothing: {indices.shape[-1]} frames, win_length={win_length}"
        )
    head = indices[..., :1].expand(indices.shape[:-1] + (pad,))
    padded = torch.cat([head, indices], dim=-1)
    return padded.unfold(-1, win_length, 1).median(dim=-1).values


def detect_pitch_frequency(
    waveform: Tensor,
    sample_rate: int,
    frame_time: float = 10**-2,
    win_length: int = 30,
    freq_low: int = 85,
    freq_high: int = 3400,
) -> Tensor:
    """Pitch of each frame from the NCCF peak, median-smoothed.

    Args:
        waveform: Signals, shape ``(..., time)``.
        sample_rate: Sampling rate in Hz.
        frame_time: Frame length in seconds.
        win_length: Median filter length in frames.
        freq_low: Lowest pitch searched, Hz (sets the longest lag).
        freq_high: Highest pitch searched, Hz (sets the shortest lag).

    Returns:
        Pitch in Hz, shape ``(..., frames - (win_length - 1 - (win_length - 1) // 2))``, the
        frame count torchaudio returns.
    """
    shape = waveform.shape
    flat = waveform.reshape(-1, shape[-1])
    if not flat.is_floating_point():
        flat = flat.to(torch.float32)
    nccf = _nccf(flat, sample_rate, frame_time, freq_low)
    indices = _median_smooth(_best_lag(nccf, sample_rate, freq_high), win_length)
    freq = sample_rate / (_EPS + indices.to(flat.dtype))
    return freq.reshape(shape[:-1] + freq.shape[-1:])
