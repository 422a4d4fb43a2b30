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
