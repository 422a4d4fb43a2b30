"""Filter-bank modules: MelScale, InverseMelScale, MelSpectrogram, MFCC, LFCC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional.melscale import create_dct, linear_fbanks, melscale_fbanks
from kaldibridge.functional.scale import amplitude_to_DB
from kaldibridge.transforms.spectrogram import Spectrogram

__all__ = ["MelScale", "InverseMelScale", "MelSpectrogram", "MFCC", "LFCC"]


def _apply_fb(specgram: Tensor, fb: Tensor) -> Tensor:
    """``(..., freq, time)`` x ``(freq, n)`` -> ``(..., n, time)``."""
    return torch.matmul(specgram.transpose(-1, -2), fb.to(specgram.dtype)).transpose(-1, -2)


class MelScale(torch.nn.Module):
    """Spectrogram bins to mel bands: ``(..., n_stft, time)`` -> ``(..., n_mels, time)``.

    Args:
        n_mels: Number of mel bands.
        sample_rate: Sampling rate in Hz.
        f_min: Lowest frequency in Hz.
        f_max: Highest frequency in Hz, default ``sample_rate // 2``.
        n_stft: Number of spectrogram bins (``n_fft // 2 + 1``).
        norm: ``"slaney"`` for unit-area triangles, or ``None``.
        mel_scale: ``"htk"`` or ``"slaney"``.
    """

    def __init__(
        self,
        n_mels: int = 128,
        sample_rate: int = 16000,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_stft: int = 201,
        norm: Literal["slaney"] | None = None,
        mel_scale: Literal["htk", "slaney"] = "htk",
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min = f_min
        self.norm = norm
        self.mel_scale = mel_scale
        if f_min > self.f_max:
            raise OptionError(f"f_min ({f_min}) must not exceed f_max ({self.f_max})")
        fb = melscale_fbanks(n_stft, self.f_min, self.f_max, n_mels, sample_rate, norm, mel_scale)
        self.register_buffer("fb", fb)

    def forward(self, specgram: Tensor) -> Tensor:
        """Args: specgram ``(..., n_stft, time)``. Returns: ``(..., n_mels, time)``."""
        return _apply_fb(specgram, self.fb)


class InverseMelScale(torch.nn.Module):
    """Least-squares inverse of :class:`MelScale`: ``(..., n_mels, time)`` -> ``(..., n_stft, time)``.

    Solves ``fb^T X = melspec`` in the least-squares (minimum-norm) sense and clamps negative
    values to zero. The pseudo-inverse of the filter bank is computed once, in float64, at
    construction, so the forward pass is one matrix product.

    Args:
        n_stft: Number of spectrogram bins.
        n_mels: Number of mel bands.
        sample_rate: Sampling rate in Hz.
        f_min: Lowest frequency in Hz.
        f_max: Highest frequency in Hz, default ``sample_rate // 2``.
        norm: ``"slaney"`` or ``None``.
        mel_scale: ``"htk"`` or ``"slaney"``.
        driver: Accepted for torchaudio compatibility and ignored.

    Differences:
        torchaudio calls ``torch.linalg.lstsq`` on every forward pass; the precomputed
        pseudo-inverse gives the same solution for full-rank banks and the minimum-norm one
        otherwise.
    """

    def __init__(
        self,
        n_stft: int,
        n_mels: int = 128,
        sample_rate: int = 16000,
        f_min: float = 0.0,
        f_max: float | None = None,
        norm: Literal["slaney"] | None = None,
        mel_scale: Literal["htk", "slaney"] = "htk",
        driver: str = "gels",
    ) -> None:
        super().__init__()
        del driver
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min = f_min
        if f_min > self.f_max:
            raise OptionError(f"f_min ({f_min}) must not exceed f_max ({self.f_max})")
        fb = melscale_fbanks(n_stft, self.f_min, self.f_max, n_mels, sample_rate, norm, mel_scale)
        self.register_buffer("fb", fb)
        pinv = torch.linalg.pinv(fb.to(torch.float64).t())  # (n_stft, n_mels)
        self.register_buffer("pinv", pinv.to(torch.float32))

    def forward(self, melspec: Tensor) -> Tensor:
        """Args: melspec ``(..., n_mels, time)``. Returns: ``(..., n_stft, time)``, non-negative."""
        if melspec.shape[-2] != self.n_mels:
            raise OptionError(f"expected {self.n_mels} mel bands in dimension -2; got shape {tuple(melspec.shape)}")
        return torch.relu(torch.matmul(self.pinv.to(melspec.dtype), melspec))


class MelSpectrogram(torch.nn.Module):
    """Mel spectrogram: ``(..., time)`` -> ``(..., n_mels, frames)``.

    Args:
        sample_rate: Sampling rate in Hz.
        n_fft: FFT size.
        win_length: Window length, default ``n_fft``.
        hop_length: Hop, default ``win_length // 2``.
        f_min: Lowest frequency in Hz.
        f_max: Highest frequency in Hz, default ``sample_rate // 2``.
        pad: Two-sided zero padding.
        n_mels: Number of mel bands.
        window_fn: Window constructor.
        power: Magnitude exponent.
        normalized: Spectrogram normalisation (see :class:`Spectrogram`).
        wkwargs: Extra window arguments.
        center: Centre the frames.
        pad_mode: Padding mode when centring.
        onesided: Accepted for torchaudio compatibility (must be ``None`` or ``True``).
        norm: ``"slaney"`` or ``None``.
        mel_scale: ``"htk"`` or ``"slaney"``.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        pad: int = 0,
        n_mels: int = 128,
        window_fn: Callable[..., Tensor] = torch.hann_window,
        power: float = 2.0,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool | None = None,
        norm: Literal["slaney"] | None = None,
        mel_scale: Literal["htk", "slaney"] = "htk",
    ) -> None:
        super().__init__()
        if onesided is False:
            raise OptionError("MelSpectrogram needs a onesided spectrogram")
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.n_mels = n_mels
        self.f_max = f_max
        self.f_min = f_min
        self.spectrogram = Spectrogram(
            n_fft=n_fft, win_length=self.win_length, hop_length=self.hop_length, pad=pad,
            window_fn=window_fn, power=power, normalized=normalized, wkwargs=wkwargs,
            center=center, pad_mode=pad_mode, onesided=True,
        )
        self.mel_scale = MelScale(n_mels, sample_rate, f_min, f_max, n_fft // 2 + 1, norm, mel_scale)

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: ``(..., n_mels, frames)``."""
        return self.mel_scale(self.spectrogram(waveform))


def _cepstra(features: Tensor, dct: Tensor, log: bool, top_db: float) -> Tensor:
    if log:
        features = torch.log(features + 1e-6)
    else:
        features = amplitude_to_DB(features, 10.0, 1e-10, 0.0, top_db)
    return _apply_fb(features, dct)


class MFCC(torch.nn.Module):
    """Mel-frequency cepstral coefficients: ``(..., time)`` -> ``(..., n_mfcc, frames)``.

    The mel power spectrogram is taken to decibels (``top_db=80`` per ``(freq, time)``
    matrix; see :func:`kaldibridge.functional.amplitude_to_DB`) or, with ``log_mels``, to
    ``log(x + 1e-6)``, then a DCT-II is applied over the mel axis.

    Args:
        sample_rate: Sampling rate in Hz.
        n_mfcc: Number of coefficients.
        dct_type: Only 2 is supported.
        norm: DCT normalisation, ``"ortho"`` or ``None``.
        log_mels: Natural log instead of decibels.
        melkwargs: Arguments of :class:`MelSpectrogram`.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mfcc: int = 40,
        dct_type: int = 2,
        norm: Literal["ortho"] | None = "ortho",
        log_mels: bool = False,
        melkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if dct_type != 2:
            raise OptionError(f"only DCT type 2 is supported; got {dct_type}")
        self.sample_rate = sample_rate
        self.n_mfcc = n_mfcc
        self.dct_type = dct_type
        self.norm = norm
        self.top_db = 80.0
        self.log_mels = log_mels
        self.MelSpectrogram = MelSpectrogram(sample_rate=sample_rate, **(melkwargs or {}))
        n_mels = self.MelSpectrogram.n_mels
        if n_mfcc > n_mels:
            raise OptionError(f"cannot select {n_mfcc} MFCC coefficients from {n_mels} mel bands")
        self.register_buffer("dct_mat", create_dct(n_mfcc, n_mels, norm))

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: ``(..., n_mfcc, frames)``."""
        return _cepstra(self.MelSpectrogram(waveform), self.dct_mat, self.log_mels, self.top_db)


class LFCC(torch.nn.Module):
    """Linear-frequency cepstral coefficients: ``(..., time)`` -> ``(..., n_lfcc, frames)``.

    Args:
        sample_rate: Sampling rate in Hz.
        n_filter: Number of linear triangular filters.
        f_min: Lowest frequency in Hz.
        f_max: Highest frequency in Hz, default ``sample_rate // 2``.
        n_lfcc: Number of coefficients.
        dct_type: Only 2 is supported.
        norm: DCT normalisation, ``"ortho"`` or ``None``.
        log_lf: Natural log instead of decibels.
        speckwargs: Arguments of :class:`Spectrogram`.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_filter: int = 128,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_lfcc: int = 40,
        dct_type: int = 2,
        norm: Literal["ortho"] | None = "ortho",
        log_lf: bool = False,
        speckwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if dct_type != 2:
            raise OptionError(f"only DCT type 2 is supported; got {dct_type}")
        if n_lfcc > n_filter:
            raise OptionError(f"cannot select {n_lfcc} LFCC coefficients from {n_filter} filters")
        self.sample_rate = sample_rate
        self.f_min = f_min
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.n_filter = n_filter
        self.n_lfcc = n_lfcc
        self.dct_type = dct_type
        self.norm = norm
        self.log_lf = log_lf
        self.top_db = 80.0
        self.Spectrogram = Spectrogram(**(speckwargs or {}))
        n_freqs = self.Spectrogram.n_fft // 2 + 1
        self.register_buffer(
            "filter_mat", linear_fbanks(n_freqs, self.f_min, self.f_max, n_filter, sample_rate)
        )
        self.register_buffer("dct_mat", create_dct(n_lfcc, n_filter, norm))

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: ``(..., n_lfcc, frames)``."""
        features = _apply_fb(self.Spectrogram(waveform), self.filter_mat)
        return _cepstra(features, self.dct_mat, self.log_lf, self.top_db)

