"""Short-time Fourier transforms: spectrogram, its inverse, Griffin-Lim and spectral centroid.

Names, argument order and shapes follow ``torchaudio.functional`` so that migrating is an
import swap. Every function takes a ``(..., time)`` batch: all leading dimensions are batch
dimensions and each row is transformed independently.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kaldibridge.errors import OptionError

__all__ = ["spectrogram", "inverse_spectrogram", "griffinlim", "spectral_centroid"]


def _norm_mode(normalized: bool | str) -> str | None:
    """Map torchaudio's ``normalized`` argument to ``None``, ``"window"`` or ``"frame_length"``."""
    if isinstance(normalized, str):
        if normalized not in ("window", "frame_length"):
            raise OptionError(
                f"normalized must be a bool, 'window' or 'frame_length'; got {normalized!r}"
            )
        return normalized
    return "window" if normalized else None


def _real_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype in (torch.float64, torch.complex128) else torch.float32


def spectrogram(
    waveform: Tensor,
    pad: int,
    window: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float | None,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    return_complex: bool | None = None,
) -> Tensor:
    """Spectrogram of a batch of signals.

    Args:
        waveform: Signals, shape ``(..., time)``; every leading dimension is a batch dimension.
        pad: Zeros added on both sides of each signal before the transform.
        window: Analysis window, shape ``(win_length,)``; cast to the waveform's real dtype.
        n_fft: FFT size; ``n_fft // 2 + 1`` bins when ``onesided``.
        hop_length: Samples between successive frames.
        win_length: Window length in samples (``<= n_fft``; the window is zero-padded
            symmetrically to ``n_fft``).
        power: Exponent applied to the magnitude (1 for magnitude, 2 for power), or ``None``
            for the complex spectrum.
        normalized: ``True`` or ``"window"`` divides by the window's L2 norm;
            ``"frame_length"`` divides by ``sqrt(n_fft)``; ``False`` leaves the scale alone.
        center: Pad each signal by ``n_fft // 2`` on both sides so frame ``t`` is centred
            on sample ``t * hop_length``.
        pad_mode: Padding used when ``center`` is true (``"reflect"``, ``"constant"``,
            ``"replicate"``, ``"circular"``).
        onesided: Keep only the non-negative frequencies.
        return_complex: Accepted for torchaudio compatibility; only ``None`` or ``True`` with
            ``power=None`` are meaningful (the complex spectrum is returned when ``power`` is
            ``None``).

    Returns:
        Shape ``(..., freq, frames)``: real when ``power`` is set, complex otherwise.
    """
    if return_complex is False and power is None:
        raise OptionError("return_complex=False is not supported; use power=None for a complex result")
    if power is not None and power <= 0:
        raise OptionError(f"power must be positive or None; got {power}")
    mode = _norm_mode(normalized)
    if pad > 0:
        waveform = torch.nn.functional.pad(waveform, (pad, pad), "constant")
    shape = waveform.shape
    flat = waveform.reshape(-1, shape[-1])
    win = window.to(device=waveform.device, dtype=_real_dtype(waveform.dtype))
    spec = torch.stft(
        flat,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=win,
        center=center,
        pad_mode=pad_mode,
        normalized=mode == "frame_length",
        onesided=onesided,
        return_complex=True,
    )
    spec = spec.reshape(shape[:-1] + spec.shape[-2:])
    if mode == "window":
        spec = spec / win.pow(2).sum().sqrt()
    if power is None:
        return spec
    if power == 1.0:
        return spec.abs()
    if power == 2.0:  # no square root: about 2.5x cheaper than abs().pow(2)
        return spec.real.square() + spec.imag.square()
    return spec.abs().pow(power)


def inverse_spectrogram(
    spectrogram: Tensor,
    length: int | None,
    pad: int,
    window: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
) -> Tensor:
    """Signals from complex spectrograms (inverse of :func:`spectrogram` with ``power=None``).

    Args:
        spectrogram: Complex spectra, shape ``(..., freq, frames)``.
        length: Length of the output signals (after removing ``pad``), or ``None`` for the
            natural length.
        pad: The two-sided zero padding used in the forward transform; removed here.
        window: Synthesis window, shape ``(win_length,)``.
        n_fft: FFT size.
        hop_length: Samples between frames.
        win_length: Window length.
        normalized: The normalisation used in the forward transform (undone here).
        center: Whether the forward transform centred the frames.
        pad_mode: Accepted for symmetry with the forward transform (padding is simply cut).
        onesided: Whether the spectra hold only non-negative frequencies.

    Returns:
        Real signals, shape ``(..., time)``.
    """
    del pad_mode  # the centre padding is removed whatever mode produced it
    if not spectrogram.is_complex():
        raise OptionError("inverse_spectrogram expects a complex spectrogram")
    mode = _norm_mode(normalized)
    real = _real_dtype(spectrogram.dtype)
    win = window.to(device=spectrogram.device, dtype=real)
    if mode == "window":
        spectrogram = spectrogram * win.pow(2).sum().sqrt()
    shape = spectrogram.shape
    flat = spectrogram.reshape(-1, shape[-2], shape[-1])
    full = None if length is None else length + 2 * pad
    wave = torch.istft(
        flat,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=win,
        center=center,
        normalized=mode == "frame_length",
        onesided=onesided,
        length=full,
        return_complex=False,
    )
    if pad > 0:
        wave = wave[:, pad : wave.shape[-1] - pad]
    return wave.reshape(shape[:-2] + wave.shape[-1:])


def griffinlim(
    specgram: Tensor,
    window: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    n_iter: int,
    momentum: float,
    length: int | None,
    rand_init: bool,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Signals whose spectrograms approximate given magnitudes (fast Griffin-Lim).

    The phase is estimated by alternating projections with the momentum of Perraudin,
    Balazs and Sondergaard (2013).

    Args:
        specgram: Magnitudes raised to ``power``, shape ``(..., freq, frames)``.
        window: Window, shape ``(win_length,)``.
        n_fft: FFT size.
        hop_length: Samples between frames.
        win_length: Window length.
        power: The exponent the magnitudes were raised to.
        n_iter: Number of iterations.
        momentum: Momentum in ``[0, 1)``; 0 gives the original Griffin-Lim.
        length: Output length, or ``None``.
        rand_init: Start from random phases instead of zero phases.
        generator: Random generator for ``rand_init`` (keyword only; not in torchaudio).

    Returns:
        Shape ``(..., time)``.
    """
    if not 0 <= momentum < 1:
        raise OptionError(f"momentum must be in [0, 1); got {momentum}")
    if n_iter < 0:
        raise OptionError(f"n_iter must be non-negative; got {n_iter}")
    shape = specgram.shape
    mag = specgram.reshape(-1, shape[-2], shape[-1]).pow(1.0 / power)
    real = mag.dtype
    win = window.to(device=mag.device, dtype=real)
    if rand_init:
        phase = torch.rand(mag.shape, dtype=real, device=mag.device, generator=generator)
        angles = torch.polar(torch.ones_like(mag), phase * (2 * math.pi))
    else:
        angles = torch.polar(torch.ones_like(mag), torch.zeros_like(mag))
    previous = torch.zeros_like(angles)
    ratio = momentum / (1 + momentum)
    for _ in range(n_iter):
        wave = torch.istft(
            mag * angles, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
            window=win, length=length,
        )
        rebuilt = torch.stft(
            wave, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=win,
            center=True, pad_mode="reflect", normalized=False, onesided=True,
            return_complex=True,
        )
        angles = rebuilt - previous * ratio
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
    wave = torch.istft(
        mag * angles, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
        window=win, length=length,
    )
    return wave.reshape(shape[:-2] + wave.shape[-1:])


def spectral_centroid(
    waveform: Tensor,
    sample_rate: int,
    pad: int,
    window: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
) -> Tensor:
    """Spectral centroid (magnitude-weighted mean frequency) of each frame.

    Args:
        waveform: Signals, shape ``(..., time)``.
        sample_rate: Sampling rate in Hz.
        pad: Two-sided zero padding.
        window: Window, shape ``(win_length,)``.
        n_fft: FFT size.
        hop_length: Samples between frames.
        win_length: Window length.

    Returns:
        Centroids in Hz, shape ``(..., frames)``; NaN for silent frames.
    """
    spec = spectrogram(
        waveform, pad=pad, window=window, n_fft=n_fft, hop_length=hop_length,
        win_length=win_length, power=1.0, normalized=False,
    )
    freqs = torch.linspace(
        0, sample_rate // 2, steps=1 + n_fft // 2, device=spec.device, dtype=spec.dtype
    ).unsqueeze(-1)
    return (freqs * spec).sum(dim=-2) / spec.sum(dim=-2)
