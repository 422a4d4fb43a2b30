"""STFT modules: Spectrogram, InverseSpectrogram, GriffinLim, SpectralCentroid.

Constructor arguments follow torchaudio.transforms; the analysis window is a buffer, so
``.to(device)`` / ``.double()`` move and cast it with the module.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from kaldibridge.functional.spectrogram import (
    griffinlim,
    inverse_spectrogram,
    spectral_centroid,
    spectrogram,
)

__all__ = ["Spectrogram", "InverseSpectrogram", "GriffinLim", "SpectralCentroid"]

WindowFn = Callable[..., Tensor]


def _window(window_fn: WindowFn, win_length: int, wkwargs: dict | None) -> Tensor:
    return window_fn(win_length) if wkwargs is None else window_fn(win_length, **wkwargs)


class Spectrogram(torch.nn.Module):
    """Spectrogram of ``(..., time)`` signals: ``(..., freq, frames)``.

    Args:
        n_fft: FFT size (``n_fft // 2 + 1`` bins).
        win_length: Window length, default ``n_fft``.
        hop_length: Hop, default ``win_length // 2``.
        pad: Two-sided zero padding.
        window_fn: Window constructor, called as ``window_fn(win_length, **wkwargs)``.
        power: Magnitude exponent, or ``None`` for complex output.
        normalized: ``False``, ``True``/``"window"`` or ``"frame_length"``.
        wkwargs: Extra window arguments.
        center: Centre the frames (pad by ``n_fft // 2``).
        pad_mode: Padding mode when centring.
        onesided: Keep non-negative frequencies only.
        return_complex: Accepted for torchaudio compatibility (see
            :func:`kaldibridge.functional.spectrogram`).
    """

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: WindowFn = torch.hann_window,
        power: float | None = 2.0,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
        return_complex: bool | None = None,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.center = center
        self.pad_mode = pad_mode
        self.onesided = onesided
        self.return_complex = return_complex
        self.register_buffer("window", _window(window_fn, self.win_length, wkwargs))

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: ``(..., freq, frames)``."""
        return spectrogram(
            waveform, self.pad, self.window, self.n_fft, self.hop_length, self.win_length,
            self.power, self.normalized, self.center, self.pad_mode, self.onesided,
            self.return_complex,
        )


class InverseSpectrogram(torch.nn.Module):
    """Signals from complex spectrograms (inverse of :class:`Spectrogram` with ``power=None``).

    Args: as :class:`Spectrogram` (without ``power``).
    """

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: WindowFn = torch.hann_window,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad = pad
        self.normalized = normalized
        self.center = center
        self.pad_mode = pad_mode
        self.onesided = onesided
        self.register_buffer("window", _window(window_fn, self.win_length, wkwargs))

    def forward(self, spectrogram: Tensor, length: int | None = None) -> Tensor:
        """Args: spectrogram ``(..., freq, frames)`` complex; length of the output or None.
        Returns: ``(..., time)``."""
        return inverse_spectrogram(
            spectrogram, length, self.pad, self.window, self.n_fft, self.hop_length,
            self.win_length, self.normalized, self.center, self.pad_mode, self.onesided,
        )


class GriffinLim(torch.nn.Module):
    """Signals from magnitude spectrograms by fast Griffin-Lim phase reconstruction.

    Args:
        n_fft: FFT size.
        n_iter: Iterations.
        win_length: Window length, default ``n_fft``.
        hop_length: Hop, default ``win_length // 2``.
        window_fn: Window constructor.
        power: Exponent the magnitudes were raised to.
        wkwargs: Extra window arguments.
        momentum: Momentum in ``[0, 1)``.
        length: Output length, or ``None``.
        rand_init: Random initial phases (else zero phases).
    """

    def __init__(
        self,
        n_fft: int = 400,
        n_iter: int = 32,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn: WindowFn = torch.hann_window,
        power: float = 2.0,
        wkwargs: dict | None = None,
        momentum: float = 0.99,
        length: int | None = None,
        rand_init: bool = True,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.n_iter = n_iter
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.power = power
        self.momentum = momentum
        self.length = length
        self.rand_init = rand_init
        self.register_buffer("window", _window(window_fn, self.win_length, wkwargs))

    def forward(self, specgram: Tensor) -> Tensor:
        """Args: specgram ``(..., freq, frames)``, magnitudes to ``power``. Returns: ``(..., time)``."""
        return griffinlim(
            specgram, self.window, self.n_fft, self.hop_length, self.win_length, self.power,
            self.n_iter, self.momentum, self.length, self.rand_init,
        )


class SpectralCentroid(torch.nn.Module):
    """Spectral centroid of each frame, in Hz: ``(..., time)`` -> ``(..., frames)``.

    Args:
        sample_rate: Sampling rate in Hz.
        n_fft: FFT size.
        win_length: Window length, default ``n_fft``.
        hop_length: Hop, default ``win_length // 2``.
        pad: Two-sided zero padding.
        window_fn: Window constructor.
        wkwargs: Extra window arguments.
    """

    def __init__(
        self,
        sample_rate: int,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: WindowFn = torch.hann_window,
        wkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad = pad
        self.register_buffer("window", _window(window_fn, self.win_length, wkwargs))

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: ``(..., frames)``."""
        return spectral_centroid(
            waveform, self.sample_rate, self.pad, self.window, self.n_fft, self.hop_length,
            self.win_length,
        )
