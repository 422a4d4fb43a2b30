"""Option groups shared by Kaldi's frame-based features, declared once.

Kaldi: ``FrameExtractionOptions`` (``src/feat/feature-window.h``) and ``MelBanksOptions``
(``src/feat/mel-computations.h``). Flag names, types and defaults are Kaldi's.

Differences: Kaldi's ``MelBanksOptions`` struct defaults to 25 bins, but every Kaldi tool
that registers it (fbank, MFCC, PLP) overrides that to 23, so the default here is 23.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kaldibridge.kaldi.options import OptionGroup, option

__all__ = ["FrameExtractionOptions", "MelBanksOptions", "f32"]


def f32(x: float) -> float:
    """Round a Python float to float32 (Kaldi stores these options as ``BaseFloat``)."""
    return float(np.float32(x))


@dataclass(frozen=True)
class FrameExtractionOptions(OptionGroup):
    """How the waveform is cut into windowed frames before the FFT."""

    sample_frequency: float = option(
        16000.0, "Sampling rate of the waveform in Hz (the input must have it, unless resampling is allowed)",
        cpp="samp_freq",
    )
    frame_length: float = option(25.0, "Length of one frame in milliseconds", cpp="frame_length_ms")
    frame_shift: float = option(10.0, "Hop between successive frames in milliseconds", cpp="frame_shift_ms")
    preemphasis_coefficient: float = option(
        0.97, "Pre-emphasis coefficient c in y[i] = x[i] - c x[i-1]", cpp="preemph_coeff"
    )
    remove_dc_offset: bool = option(True, "Subtract each frame's mean before further processing")
    dither: float = option(
        1.0,
        "Standard deviation of Gaussian noise added to each frame (0 disables it; then consider "
        "--energy-floor, e.g. 1.0 or 0.1)",
    )
    window_type: str = option(
        "povey", 'Window: "hamming", "hanning", "povey" (hanning^0.85), "rectangular", "sine" or "blackman"'
    )
    blackman_coeff: float = option(0.42, "Constant term of the generalized Blackman window")
    round_to_power_of_two: bool = option(
        True, "Zero-pad each frame to the next power of two before the FFT"
    )
    snip_edges: bool = option(
        True,
        "If true, emit only frames that fit entirely in the signal (count depends on the frame "
        "length); if false, the count is round(samples / shift) and the signal is mirrored at its ends",
    )
    allow_downsample: bool = option(
        False, "Accept waveforms sampled faster than --sample-frequency and resample them down"
    )
    allow_upsample: bool = option(
        False, "Accept waveforms sampled slower than --sample-frequency and resample them up"
    )
    max_feature_vectors: int = option(
        -1, "Memory bound for online extraction (only the latest N frames kept); no effect offline"
    )

    # -- derived sizes (Kaldi's WindowShift / WindowSize / PaddedWindowSize) ---------------
    @property
    def window_shift(self) -> int:
        """Frame shift in samples: ``int(fs * 0.001 * shift_ms)`` with float32 operands."""
        return int(f32(self.sample_frequency) * 0.001 * f32(self.frame_shift))

    @property
    def window_size(self) -> int:
        """Frame length in samples."""
        return int(f32(self.sample_frequency) * 0.001 * f32(self.frame_length))

    @property
    def padded_window_size(self) -> int:
        """FFT size: the frame length, rounded up to a power of two if requested."""
        n = self.window_size
        if not self.round_to_power_of_two or n <= 0:
            return n
        return 1 << (n - 1).bit_length()


@dataclass(frozen=True)
class MelBanksOptions(OptionGroup):
    """The triangular mel filter bank and its VTLN warping."""

    num_mel_bins: int = option(23, "Number of triangular mel filters", cpp="num_bins")
    low_freq: float = option(20.0, "Lower edge of the mel filter bank in Hz")
    high_freq: float = option(
        0.0, "Upper edge of the mel filter bank in Hz; zero or negative means an offset from the Nyquist frequency"
    )
    vtln_low: float = option(100.0, "Lower inflection point of the piecewise-linear VTLN warp in Hz")
    vtln_high: float = option(
        -500.0, "Upper inflection point of the VTLN warp in Hz; negative means an offset from the Nyquist frequency"
    )
    debug_mel: bool = option(False, "Log the mel filter weights when they are built")
