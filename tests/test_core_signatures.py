"""Names and parameter order follow torchaudio, so migrating is an import swap.

torchaudio cannot be installed next to torch 2.13, so its signatures (torchaudio 2.x, as
documented) are written out here. Extra keyword-only parameters of ours are allowed.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T

_VAD_PARAMS = (
    "trigger_level trigger_time search_time allowed_gap pre_trigger_time boot_time noise_up_time "
    "noise_down_time noise_reduction_amount measure_freq measure_duration measure_smooth_time "
    "hp_filter_freq lp_filter_freq hp_lifter_freq lp_lifter_freq"
)

TORCHAUDIO_FUNCTIONAL = {
    "spectrogram": "waveform pad window n_fft hop_length win_length power normalized center pad_mode onesided return_complex",
    "inverse_spectrogram": "spectrogram length pad window n_fft hop_length win_length normalized center pad_mode onesided",
    "griffinlim": "specgram window n_fft hop_length win_length power n_iter momentum length rand_init",
    "amplitude_to_DB": "x multiplier amin db_multiplier top_db",
    "DB_to_amplitude": "x ref power",
    "melscale_fbanks": "n_freqs f_min f_max n_mels sample_rate norm mel_scale",
    "linear_fbanks": "n_freqs f_min f_max n_filter sample_rate",
    "create_dct": "n_mfcc n_mels norm",
    "mu_law_encoding": "x quantization_channels",
    "mu_law_decoding": "x_mu quantization_channels",
    "phase_vocoder": "complex_specgrams rate phase_advance",
    "mask_along_axis": "specgram mask_param mask_value axis p",
    "mask_along_axis_iid": "specgrams mask_param mask_value axis p",
    "spectral_centroid": "waveform sample_rate pad window n_fft hop_length win_length",
    "detect_pitch_frequency": "waveform sample_rate frame_time win_length freq_low freq_high",
    "loudness": "waveform sample_rate",
    "pitch_shift": "waveform sample_rate n_steps bins_per_octave n_fft hop_length win_length window",
    "add_noise": "waveform noise snr lengths",
    "speed": "waveform orig_freq factor lengths",
    "preemphasis": "waveform coeff",
    "convolve": "x y mode",
    "fftconvolve": "x y mode",
    "deemphasis": "waveform coeff",
    "phaser": "waveform sample_rate gain_in gain_out delay_ms decay mod_speed sinusoidal",
    "flanger": "waveform sample_rate delay depth regen width speed phase modulation interpolation",
    "vad": "waveform sample_rate " + _VAD_PARAMS,
    "biquad": "waveform b0 b1 b2 a0 a1 a2",
    "lfilter": "waveform a_coeffs b_coeffs clamp batching",
    "filtfilt": "waveform a_coeffs b_coeffs clamp",
    "allpass_biquad": "waveform sample_rate central_freq Q",
    "band_biquad": "waveform sample_rate central_freq Q noise",
    "bandpass_biquad": "waveform sample_rate central_freq Q const_skirt_gain",
    "bandreject_biquad": "waveform sample_rate central_freq Q",
    "bass_biquad": "waveform sample_rate gain central_freq Q",
    "treble_biquad": "waveform sample_rate gain central_freq Q",
    "equalizer_biquad": "waveform sample_rate center_freq gain Q",
    "highpass_biquad": "waveform sample_rate cutoff_freq Q",
    "lowpass_biquad": "waveform sample_rate cutoff_freq Q",
    "deemph_biquad": "waveform sample_rate",
    "riaa_biquad": "waveform sample_rate",
    "contrast": "waveform enhancement_amount",
    "dcshift": "waveform shift limiter_gain",
    "overdrive": "waveform gain colour",
    "dither": "waveform density_function noise_shaping",
}

TORCHAUDIO_TRANSFORMS = {
    "Spectrogram": "n_fft win_length hop_length pad window_fn power normalized wkwargs center pad_mode onesided return_complex",
    "InverseSpectrogram": "n_fft win_length hop_length pad window_fn normalized wkwargs center pad_mode onesided",
    "GriffinLim": "n_fft n_iter win_length hop_length window_fn power wkwargs momentum length rand_init",
    "AmplitudeToDB": "stype top_db",
    "MelScale": "n_mels sample_rate f_min f_max n_stft norm mel_scale",
    "InverseMelScale": "n_stft n_mels sample_rate f_min f_max norm mel_scale driver",
    "MelSpectrogram": "sample_rate n_fft win_length hop_length f_min f_max pad n_mels window_fn power normalized wkwargs center pad_mode onesided norm mel_scale",
    "MFCC": "sample_rate n_mfcc dct_type norm log_mels melkwargs",
    "LFCC": "sample_rate n_filter f_min f_max n_lfcc dct_type norm log_lf speckwargs",
    "MuLawEncoding": "quantization_channels",
    "MuLawDecoding": "quantization_channels",
    "TimeStretch": "hop_length n_freq fixed_rate",
    "Fade": "fade_in_len fade_out_len fade_shape",
    "FrequencyMasking": "freq_mask_param iid_masks",
    "TimeMasking": "time_mask_param iid_masks p",
    "SpecAugment": "n_time_masks time_mask_param n_freq_masks freq_mask_param iid_masks p zero_masking",
    "Vol": "gain gain_type",
    "SpectralCentroid": "sample_rate n_fft win_length hop_length pad window_fn wkwargs",
    "PitchShift": "sample_rate n_steps bins_per_octave n_fft win_length hop_length window_fn wkwargs",
    "Loudness": "sample_rate",
    "Speed": "orig_freq factor",
    "AddNoise": "",
    "Preemphasis": "coeff",
    "Deemphasis": "coeff",
    "Vad": "sample_rate " + _VAD_PARAMS,
    "Convolve": "mode",
    "FFTConvolve": "mode",
}


def _positional(fn: object) -> list[str]:
    params = inspect.signature(fn).parameters.values()
    return [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY and p.name != "self"]


@pytest.mark.parametrize("name", sorted(TORCHAUDIO_FUNCTIONAL))
def test_functional_signature(name: str) -> None:
    assert _positional(getattr(F, name)) == TORCHAUDIO_FUNCTIONAL[name].split()


@pytest.mark.parametrize("name", sorted(TORCHAUDIO_TRANSFORMS))
def test_transform_signature(name: str) -> None:
    cls = getattr(T, name)
    got = [] if cls.__init__ is torch.nn.Module.__init__ else _positional(cls.__init__)
    assert got == TORCHAUDIO_TRANSFORMS[name].split()
    assert name in T.__all__
