"""Waveform and time-scale modules: Fade, TimeStretch, PitchShift, Speed, AddNoise,
Preemphasis, Deemphasis, Loudness."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional.loudness import loudness
from kaldibridge.functional.mixing import FadeShape, add_noise, deemphasis, fade_curve, preemphasis
from kaldibridge.functional.stretch import phase_vocoder, pitch_shift, speed

__all__ = [
    "Fade",
    "TimeStretch",
    "PitchShift",
    "Speed",
    "AddNoise",
    "Preemphasis",
    "Deemphasis",
    "Loudness",
]


class Fade(torch.nn.Module):
    """Fade in at the start and out at the end of ``(..., time)`` signals.

    Args:
        fade_in_len: Fade-in length in samples.
        fade_out_len: Fade-out length in samples.
        fade_shape: ``"linear"``, ``"logarithmic"``, ``"exponential"``, ``"quarter_sine"`` or
            ``"half_sine"``.
    """

    def __init__(self, fade_in_len: int = 0, fade_out_len: int = 0, fade_shape: FadeShape = "linear") -> None:
        super().__init__()
        if fade_in_len < 0 or fade_out_len < 0:
            raise OptionError(f"fade lengths must be non-negative; got {fade_in_len}, {fade_out_len}")
        if fade_shape not in ("linear", "logarithmic", "exponential", "quarter_sine", "half_sine"):
            raise OptionError(f"unknown fade_shape {fade_shape!r}")
        self.fade_in_len = fade_in_len
        self.fade_out_len = fade_out_len
        self.fade_shape = fade_shape

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: same shape."""
        length = waveform.shape[-1]
        dtype = waveform.dtype if waveform.is_floating_point() else torch.float32
        fin = fade_curve(length, self.fade_in_len, self.fade_shape, True, device=waveform.device, dtype=dtype)
        fout = fade_curve(length, self.fade_out_len, self.fade_shape, False, device=waveform.device, dtype=dtype)
        return waveform * fin * fout


class TimeStretch(torch.nn.Module):
    """Stretch complex spectrograms in time with the phase vocoder.

    Args:
        hop_length: Hop of the spectrogram, default ``n_fft // 2`` with
            ``n_fft = 2 * (n_freq - 1)``.
        n_freq: Number of frequency bins.
        fixed_rate: Rate used when ``forward`` gets none.
    """

    def __init__(self, hop_length: int | None = None, n_freq: int = 201, fixed_rate: float | None = None) -> None:
        super().__init__()
        self.fixed_rate = fixed_rate
        n_fft = (n_freq - 1) * 2
        hop = hop_length if hop_length is not None else n_fft // 2
        self.register_buffer("phase_advance", torch.linspace(0, math.pi * hop, n_freq)[..., None])

    def forward(self, complex_specgrams: Tensor, overriding_rate: float | None = None) -> Tensor:
        """Args: complex_specgrams ``(..., freq, frames)``; overriding_rate replaces
        ``fixed_rate``. Returns: ``(..., freq, ceil(frames / rate))``."""
        rate = self.fixed_rate if overriding_rate is None else overriding_rate
        if rate is None:
            raise OptionError("TimeStretch needs a rate: pass fixed_rate or overriding_rate")
        return phase_vocoder(complex_specgrams, rate, self.phase_advance)


class PitchShift(torch.nn.Module):
    """Shift the pitch of ``(..., time)`` signals by ``n_steps`` steps, keeping their length.

    Args:
        sample_rate: Sampling rate in Hz.
        n_steps: Steps to shift (positive raises the pitch).
        bins_per_octave: Steps per octave.
        n_fft: FFT size.
        win_length: Window length, default ``n_fft``.
        hop_length: Hop, default ``win_length // 4``.
        window_fn: Window constructor.
        wkwargs: Extra window arguments.
    """

    def __init__(
        self,
        sample_rate: int,
        n_steps: int,
        bins_per_octave: int = 12,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn: Callable[..., Tensor] = torch.hann_window,
        wkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.n_steps = n_steps
        self.bins_per_octave = bins_per_octave
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 4
        window = window_fn(self.win_length) if wkwargs is None else window_fn(self.win_length, **wkwargs)
        self.register_buffer("window", window)

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: same shape."""
        return pitch_shift(
            waveform, self.sample_rate, self.n_steps, self.bins_per_octave, self.n_fft,
            self.hop_length, self.win_length, self.window,
        )


class Speed(torch.nn.Module):
    """Change speed (and pitch) by a factor via resampling.

    Args:
        orig_freq: Sampling rate in Hz.
        factor: Speed factor (``1.1`` is 10 % faster).
    """

    def __init__(self, orig_freq: int, factor: float) -> None:
        super().__init__()
        self.orig_freq = orig_freq
        self.factor = factor

    def forward(self, waveform: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Args: waveform ``(..., time)``; lengths ``(...)`` or None.
        Returns: ``(output (..., new_time), scaled lengths or None)``."""
        return speed(waveform, self.orig_freq, self.factor, lengths)


class AddNoise(torch.nn.Module):
    """Add noise at a signal-to-noise ratio (see :func:`kaldibridge.functional.add_noise`)."""

    def forward(
        self, waveform: Tensor, noise: Tensor, snr: Tensor | float, lengths: Tensor | None = None
    ) -> Tensor:
        """Args: waveform and noise ``(..., time)``; snr in dB ``(...)``; lengths ``(...)`` or None.
        Returns: ``(..., time)``."""
        return add_noise(waveform, noise, snr, lengths)


class Preemphasis(torch.nn.Module):
    """``y[t] = x[t] - coeff * x[t - 1]`` on ``(..., time)`` signals."""

    def __init__(self, coeff: float = 0.97) -> None:
        super().__init__()
        self.coeff = coeff

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: same shape."""
        return preemphasis(waveform, self.coeff)


class Deemphasis(torch.nn.Module):
    """``y[t] = x[t] + coeff * y[t - 1]`` on ``(..., time)`` signals (not clamped)."""

    def __init__(self, coeff: float = 0.97) -> None:
        super().__init__()
        self.coeff = coeff

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: same shape."""
        return deemphasis(waveform, self.coeff)


class Loudness(torch.nn.Module):
    """Integrated loudness (ITU-R BS.1770-4) of ``(..., channels, time)`` audio, in LKFS."""

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self.sample_rate = sample_rate

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., channels, time)``. Returns: ``(...)``."""
        return loudness(waveform, self.sample_rate)
