"""SoX-style effect modules: Vad (torchaudio's ``transforms.Vad``)."""

from __future__ import annotations

from torch import Tensor, nn

from kaldibridge.functional.voice_activity import vad

__all__ = ["Vad"]


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
