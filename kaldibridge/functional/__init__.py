"""kaldibridge.functional."""
from kaldibridge.functional.filtering import (  # noqa: E402,F401  (sox/filtering owner)
    allpass_biquad,
    band_biquad,
    bandpass_biquad,
    bandreject_biquad,
    bass_biquad,
    biquad,
    biquad_coeffs,
    deemph_biquad,
    equalizer_biquad,
    filtfilt,
    highpass_biquad,
    lfilter,
    lowpass_biquad,
    riaa_biquad,
    treble_biquad,
)
from kaldibridge.functional.resample import linear_resample, resample  # noqa: E402,F401  (pitch owner)
from kaldibridge.functional.effects import contrast, dcshift, dither, overdrive  # noqa: E402,F401  (torch core owner)
from kaldibridge.functional.loudness import loudness  # noqa: E402,F401  (torch core owner)
from kaldibridge.functional.masking import mask_along_axis, mask_along_axis_iid  # noqa: E402,F401  (torch core owner)
from kaldibridge.functional.melscale import (  # noqa: E402,F401  (torch core owner)
    create_dct,
    linear_fbanks,
    melscale_fbanks,
)
from kaldibridge.functional.mixing import add_noise, deemphasis, preemphasis  # noqa: E402,F401  (torch core owner)
from kaldibridge.functional.pitch_detect import detect_pitch_frequency  # noqa: E402,F401  (torch core owner)
from kaldibridge.functional.scale import (  # noqa: E402,F401  (torch core owner)
    DB_to_amplitude,
    amplitude_to_DB,
    mu_law_decoding,
    mu_law_encoding,
)
from kaldibridge.functional.spectrogram import (  # noqa: E402,F401  (torch core owner)
    griffinlim,
    inverse_spectrogram,
    spectral_centroid,
    spectrogram,
)
from kaldibridge.functional.stretch import phase_vocoder, pitch_shift, speed  # noqa: E402,F401  (torch core owner)
from kaldibridge.functional.framing import frame_signal, num_frames  # noqa: E402,F401  (features owner)
from kaldibridge.functional.window import window_function  # noqa: E402,F401  (features owner)
from kaldibridge.functional.mel import mel_filterbank, vtln_warp_freq  # noqa: E402,F401  (features owner)
from kaldibridge.functional.srfft import split_radix_fft  # noqa: E402,F401  (features owner)
from kaldibridge.functional.lpc import durbin, lpc_to_cepstrum  # noqa: E402,F401  (features owner)
from kaldibridge.functional.cmvn import normalize_mean_var, sliding_window_cmn  # noqa: E402,F401  (post-processing owner)
from kaldibridge.functional.deltas import add_deltas, compute_deltas, shift_frames, splice_frames  # noqa: E402,F401  (post-processing owner)
from kaldibridge.functional.convolve import block_fft_convolve, convolve, fftconvolve  # noqa: E402,F401  (post-processing owner)
from kaldibridge.functional.modulation import flanger, phaser  # noqa: E402,F401  (torch core owner)
from kaldibridge.functional.voice_activity import vad, vad_start  # noqa: E402,F401  (torch core owner)
