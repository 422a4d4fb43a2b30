"""Audio file I/O: :func:`load`, :func:`info` and :func:`save`.

torchaudio-style functions on top of soundfile (libsndfile), with sox's
conventions for sample values, rounding and malformed WAV headers. Waveforms are
``(channels, frames)`` tensors, float32 in [-1, 1] unless ``normalize=False``.

Bad input raises :class:`kaldibridge.errors.AudioFormatError` naming the source
and the problem.
"""

from kaldibridge.io._backend import AudioMetaData, AudioSource, Encoding, info, load, save

__all__ = ["AudioMetaData", "AudioSource", "Encoding", "info", "load", "save"]
