"""kaldibridge.transforms: ``torch.nn.Module`` wrappers of :mod:`kaldibridge.functional`.

Names and constructor arguments follow ``torchaudio.transforms``.
"""

from kaldibridge.transforms.effects import Convolve, FFTConvolve, Vad
from kaldibridge.transforms.masking import FrequencyMasking, SpecAugment, TimeMasking
from kaldibridge.transforms.melscale import LFCC, MFCC, InverseMelScale, MelScale, MelSpectrogram
from kaldibridge.transforms.misc import (
    AddNoise,
    Deemphasis,
    Fade,
    Loudness,
    PitchShift,
    Preemphasis,
    Speed,
    TimeStretch,
)
from kaldibridge.transforms.scale import AmplitudeToDB, MuLawDecoding, MuLawEncoding, Vol
from kaldibridge.transforms.spectrogram import GriffinLim, InverseSpectrogram, SpectralCentroid, Spectrogram
from kaldibridge.transforms.wrappers import ComputeDeltas, Resample, SlidingWindowCmn, SpeedPerturbation  # noqa: F401  (torch core wrappers)

__all__ = [
    "AddNoise",
    "Convolve",
    "FFTConvolve",
    "ComputeDeltas",
    "Resample",
    "SlidingWindowCmn",
    "SpeedPerturbation",
    "AmplitudeToDB",
    "Deemphasis",
    "Fade",
    "FrequencyMasking",
    "GriffinLim",
    "InverseMelScale",
    "InverseSpectrogram",
    "LFCC",
    "Loudness",
    "MFCC",
    "MelScale",
    "MelSpectrogram",
    "MuLawDecoding",
    "MuLawEncoding",
    "PitchShift",
    "Preemphasis",
    "SpecAugment",
    "SpectralCentroid",
    "Spectrogram",
    "Speed",
    "TimeMasking",
    "TimeStretch",
    "Vad",
    "Vol",
]
