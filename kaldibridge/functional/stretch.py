"""Time and pitch modification: phase vocoder, pitch shift and speed change."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kaldibridge.errors import OptionError

__all__ = ["phase_vocoder", "pitch_shift", "speed"]


def phase_vocoder(complex_specgrams: Tensor, rate: float, phase_advance: Tensor) -> Tensor:
    """Stretch complex spectrograms in time by ``1 / rate`` without changing pitch.

    Output frame ``k`` sits at input time ``k * rate``: its magnitude interpolates linearly
    between the two neighbouring input frames and its phase accumulates the measured
    per-bin phase increments.

    Args:
        complex_specgrams: Complex spectra, shape ``(..., freq, frames)``.
        rate: Speed-up factor (``> 1`` shortens, ``< 1`` lengthens).
        phase_advance: Expected phase advance per hop for each bin, shape ``(freq, 1)``
            (``linspace(0, pi * hop_length, freq)[:, None]``).

    Returns:
        Complex, shape ``(..., freq, ceil(frames / rate))``.
    """
    if rate <= 0:
        raise OptionError(f"rate must be positive; got {rate}")
    if not complex_specgrams.is_complex():
        raise OptionError("phase_vocoder expects complex spectrograms")
    if rate == 1.0:
        return complex_specgrams
    shape = complex_specgrams.shape
    spec = complex_specgrams.reshape((-1,) + tuple(shape[-2:]))
    real = spec.real.dtype
    count = math.ceil(spec.shape[-1] / rate)
    # output frame k sits at k * rate, placed in float64 so every dtype picks the same frames
    steps = torch.arange(count, device=spec.device, dtype=torch.float64) * rate
    alphas = torch.remainder(steps, 1.0).to(real)
    phase_0 = spec[..., :1].angle()
    padded = torch.cat([spec, torch.zeros_like(spec[..., :2])], dim=-1)
    left = padded.index_select(-1, steps.long())
    right = padded.index_select(-1, (steps + 1).long())
    advance = phase_advance.to(device=spec.device, dtype=real)
    delta = right.angle() - left.angle() - advance
    delta = delta - 2 * math.pi * torch.round(delta / (2 * math.pi))
    delta = delta + advance
    phase = torch.cat([phase_0, delta[..., :-1]], dim=-1)
    phase_acc = torch.cumsum(phase, dim=-1)
    mag = alphas * right.abs() + (1 - alphas) * left.abs()
    out = torch.polar(mag, phase_acc)
    return out.reshape(tuple(shape[:-2]) + out.shape[-2:])


def _resample(waveform: Tensor, orig_freq: int, new_freq: int) -> Tensor:
    from kaldibridge.functional.resample import resample  # another module's op, loaded on use

    return resample(waveform, orig_freq, new_freq)


def pitch_shift(
    waveform: Tensor,
    sample_rate: int,
    n_steps: int,
    bins_per_octave: int = 12,
    n_fft: int = 512,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Tensor | None = None,
) -> Tensor:
    """Shift the pitch by ``n_steps`` steps of ``1 / bins_per_octave`` octave, keeping the length.

    The signal is time-stretched by ``2 ** (n_steps / bins_per_octave)`` with the phase
    vocoder, then resampled back to the original duration.

    Args:
        waveform: Signals, shape ``(..., time)``.
        sample_rate: Sampling rate in Hz.
        n_steps: Shift in steps (positive raises the pitch).
        bins_per_octave: Steps per octave.
        n_fft: FFT size of the phase vocoder.
        hop_length: Hop, default ``n_fft // 4``.
        win_length: Window length, default ``n_fft``.
        window: Window, default Hann of ``win_length``.

    Returns:
        Same shape as ``waveform``.
    """
    hop = n_fft // 4 if hop_length is None else hop_length
    win_len = n_fft if win_length is None else win_length
    real = waveform.dtype if waveform.is_floating_point() else torch.float32
    win = (
        torch.hann_window(win_len, device=waveform.device, dtype=real)
        if window is None
        else window.to(device=waveform.device, dtype=real)
    )
    shape = waveform.shape
    flat = waveform.reshape(-1, shape[-1]).to(real)
    length = shape[-1]
    rate = 2.0 ** (-float(n_steps) / bins_per_octave)
    spec = torch.stft(
        flat, n_fft=n_fft, hop_length=hop, win_length=win_len, window=win, center=True,
        pad_mode="reflect", normalized=False, onesided=True, return_complex=True,
    )
    advance = torch.linspace(0, math.pi * hop, spec.shape[-2], device=spec.device, dtype=real)[:, None]
    stretched = phase_vocoder(spec, rate, advance)
    stretched_len = int(round(length / rate))
    wave = torch.istft(
        stretched, n_fft=n_fft, hop_length=hop, win_length=win_len, window=win, length=stretched_len
    )
    shifted = _resample(wave, int(sample_rate / rate), sample_rate)
    if shifted.shape[-1] >= length:
        shifted = shifted[..., :length]
    else:
        shifted = torch.nn.functional.pad(shifted, (0, length - shifted.shape[-1]))
    return shifted.reshape(shape[:-1] + (length,))


def speed(
    waveform: Tensor, orig_freq: int, factor: float, lengths: Tensor | None = None
) -> tuple[Tensor, Tensor | None]:
    """Play faster or slower (pitch changes with tempo), by resampling.

    The signal is resampled from ``factor * orig_freq`` to ``orig_freq`` Hz (the ratio reduced
    by the gcd), so ``factor = 1.1`` makes it about 10 % shorter.

    Args:
        waveform: Signals, shape ``(..., time)``.
        orig_freq: Sampling rate in Hz.
        factor: Speed factor (``> 0``).
        lengths: Valid lengths, shape ``(...)``, or ``None``.

    Returns:
        ``(output, out_lengths)``: output of shape ``(..., new_time)`` and the scaled lengths
        ``ceil(lengths / factor)`` (``None`` when ``lengths`` is ``None``).
    """
    if factor <= 0:
        raise OptionError(f"speed factor must be positive; got {factor}")
    source = int(factor * orig_freq)
    target = int(orig_freq)
    common = math.gcd(source, target)
    source //= common
    target //= common
    out_lengths = None if lengths is None else torch.ceil(lengths * target / source).to(lengths.dtype)
    if source == target:
        return waveform, out_lengths
    return _resample(waveform, source, target), out_lengths
