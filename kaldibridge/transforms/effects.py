"""Effect modules with torchaudio's names: Vad (SoX's trigger VAD), Convolve, FFTConvolve."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from kaldibridge.errors import OptionError
from kaldibridge.functional.convolve import convolve, fftconvolve
from kaldibridge.functional.voice_activity import vad

__all__ = ["Vad", "Convolve", "FFTConvolve"]

_MODES = ("full", "valid", "same")


class Vad(nn.Module):
    """Trim leading non-speech with SoX's trigger VAD (see :func:`kaldibridge.functional.vad`).

    Args:
        sample_rate: Hz.
        trigger_level: measure level that triggers.
        trigger_time: time constant (s) smoothing the measure before the trigger test.
        search_time: how far (s) before the trigger to look for quieter speech.
        allowed_gap: longest gap (s) between bursts included in the look-back.
        pre_trigger_time: extra audio (s) kept before the start found.
        boot_time: time (s) for the initial noise estimate.
        noise_up_time: time constant (s) of the noise tracker when the level rises.
        noise_down_time: time constant (s) of the noise tracker when the level falls.
        noise_reduction_amount: multiple of the noise spectrum subtracted.
        measure_freq: measures per second.
        measure_duration: length (s) of each measure; default two measure periods.
        measure_smooth_time: time constant (s) smoothing the spectra.
        hp_filter_freq: lowest frequency (Hz) analysed.
        lp_filter_freq: highest frequency (Hz) analysed.
        hp_lifter_freq: lowest pitch (Hz) in the cepstral measure.
        lp_lifter_freq: highest pitch (Hz) in the cepstral measure.
    """

    def __init__(
        self,
        sample_rate: int,
        trigger_level: float = 7.0,
        trigger_time: float = 0.25,
        search_time: float = 1.0,
        allowed_gap: float = 0.25,
        pre_trigger_time: float = 0.0,
        boot_time: float = 0.35,
        noise_up_time: float = 0.1,
        noise_down_time: float = 0.01,
        noise_reduction_amount: float = 1.35,
        measure_freq: float = 20.0,
        measure_duration: float | None = None,
        measure_smooth_time: float = 0.4,
        hp_filter_freq: float = 50.0,
        lp_filter_freq: float = 6000.0,
        hp_lifter_freq: float = 150.0,
        lp_lifter_freq: float = 2000.0,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.params = dict(
            trigger_level=trigger_level, trigger_time=trigger_time, search_time=search_time,
            allowed_gap=allowed_gap, pre_trigger_time=pre_trigger_time, boot_time=boot_time,
            noise_up_time=noise_up_time, noise_down_time=noise_down_time,
            noise_reduction_amount=noise_reduction_amount, measure_freq=measure_freq,
            measure_duration=measure_duration, measure_smooth_time=measure_smooth_time,
            hp_filter_freq=hp_filter_freq, lp_filter_freq=lp_filter_freq,
            hp_lifter_freq=hp_lifter_freq, lp_lifter_freq=lp_lifter_freq,
        )

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(time,)`` or ``(channel, time)``. Returns: ``(..., time')``, the
        audio from the detected start on (empty when nothing triggered)."""
        return vad(waveform, self.sample_rate, **self.params)


class Convolve(nn.Module):
    """Direct convolution of two signals along the last dimension
    (:func:`kaldibridge.functional.convolve`).

    Args:
        mode: ``"full"``, ``"valid"`` or ``"same"``.
    """

    def __init__(self, mode: Literal["full", "valid", "same"] = "full") -> None:
        super().__init__()
        if mode not in _MODES:
            raise OptionError(f"Convolve: mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Args: x ``(..., N)``, y ``(..., M)`` (leading dims broadcast). Returns: the
        convolution, ``(..., N + M - 1)`` for ``"full"``."""
        return convolve(x, y, self.mode)


class FFTConvolve(nn.Module):
    """FFT convolution of two signals along the last dimension
    (:func:`kaldibridge.functional.fftconvolve`).

    Args:
        mode: ``"full"``, ``"valid"`` or ``"same"``.
    """

    def __init__(self, mode: Literal["full", "valid", "same"] = "full") -> None:
        super().__init__()
        if mode not in _MODES:
            raise OptionError(f"FFTConvolve: mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Args: x ``(..., N)``, y ``(..., M)`` (leading dims broadcast). Returns: the
        convolution, ``(..., N + M - 1)`` for ``"full"``."""
        return fftconvolve(x, y, self.mode)
