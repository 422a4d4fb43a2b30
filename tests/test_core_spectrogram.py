"""Spectrogram, inverse, Griffin-Lim and spectral centroid against numpy references and
closed forms; gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError


def _numpy_stft(x: np.ndarray, n_fft: int, hop: int, window: np.ndarray, center: bool, pad_mode: str) -> np.ndarray:
    """Plain per-frame reference: (freq, frames), window zero-padded to n_fft in the middle."""
    if center:
        x = np.pad(x, n_fft // 2, mode={"reflect": "reflect", "constant": "constant"}[pad_mode])
    win = np.zeros(n_fft)
    left = (n_fft - len(window)) // 2
    win[left : left + len(window)] = window
    frames = 1 + (len(x) - n_fft) // hop
    out = np.stack([np.fft.rfft(x[t * hop : t * hop + n_fft] * win) for t in range(frames)], axis=1)
    return out


def _hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic, as torch.hann_window


@pytest.mark.parametrize("center,pad_mode", [(True, "reflect"), (True, "constant"), (False, "reflect")])
@pytest.mark.parametrize("win_length", [256, 200])
def test_spectrogram_matches_numpy_reference(center: bool, pad_mode: str, win_length: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000)
    ref = _numpy_stft(x, 256, 100, _hann(win_length), center, pad_mode)
    spec = F.spectrogram(
        torch.from_numpy(x), pad=0, window=torch.hann_window(win_length, dtype=torch.float64), n_fft=256,
        hop_length=100, win_length=win_length, power=None, normalized=False, center=center, pad_mode=pad_mode,
    )
    np.testing.assert_allclose(spec.numpy(), ref, rtol=1e-10, atol=1e-10)
    power = F.spectrogram(
        torch.from_numpy(x), 0, torch.hann_window(win_length, dtype=torch.float64), 256, 100, win_length,
        2.0, False, center, pad_mode,
    )
    np.testing.assert_allclose(power.numpy(), np.abs(ref) ** 2, rtol=1e-10, atol=1e-10)


def test_spectrogram_normalizations_and_pad() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(2000)
    win = _hann(128)
    padded = np.pad(x, 9)
    ref = _numpy_stft(padded, 128, 64, win, True, "reflect")
    xt = torch.from_numpy(x)
    wt = torch.from_numpy(win)
    for normalized, divisor in [(True, np.sqrt((win**2).sum())), ("window", np.sqrt((win**2).sum())),
                                ("frame_length", np.sqrt(128.0)), (False, 1.0)]:
        spec = F.spectrogram(xt, 9, wt, 128, 64, 128, 1.0, normalized)
        np.testing.assert_allclose(spec.numpy(), np.abs(ref) / divisor, rtol=1e-10, atol=1e-10)
    with pytest.raises(OptionError):
        F.spectrogram(xt, 0, wt, 128, 64, 128, 1.0, "bogus")


def test_sine_peaks_at_its_bin() -> None:
    n_fft, sr = 512, 16000
    k = 37
    t = torch.arange(sr) / sr
    x = torch.sin(2 * math.pi * (k * sr / n_fft) * t)
    spec = T.Spectrogram(n_fft=n_fft)(x)
    assert bool((spec[:, 2:-2].argmax(dim=0) == k).all())


@pytest.mark.parametrize("pad,normalized,length", [(0, False, None), (5, True, 3001), (0, "frame_length", 2999)])
def test_inverse_spectrogram_round_trip(pad: int, normalized: bool | str, length: int | None) -> None:
    x = torch.randn(2, 3001, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    fwd = T.Spectrogram(n_fft=256, hop_length=64, pad=pad, power=None, normalized=normalized).double()
    inv = T.InverseSpectrogram(n_fft=256, hop_length=64, pad=pad, normalized=normalized).double()
    y = inv(fwd(x), length)
    expected = x if length is None else x[..., :length]
    if length is None:
        # natural length is a whole number of hops; compare the common part
        expected = x[..., : y.shape[-1]]
    torch.testing.assert_close(y, expected, rtol=1e-9, atol=1e-9)


def test_inverse_spectrogram_rejects_real_input() -> None:
    with pytest.raises(OptionError):
        T.InverseSpectrogram(n_fft=64)(torch.ones(33, 10))


def test_griffinlim_reaches_target_magnitudes() -> None:
    sr = 8000
    t = torch.arange(sr, dtype=torch.float64) / sr
    x = torch.sin(2 * math.pi * 440 * t) + 0.5 * torch.sin(2 * math.pi * (300 + 800 * t) * t)
    spec = T.Spectrogram(n_fft=256, hop_length=64).double()
    target = spec(x)
    zero_phase = T.InverseSpectrogram(n_fft=256, hop_length=64).double()(target.sqrt().to(torch.complex128))
    gl = T.GriffinLim(n_fft=256, hop_length=64, n_iter=48, length=sr).double()
    torch.manual_seed(0)
    y = gl(target)
    assert y.shape == x.shape

    def error(w: torch.Tensor) -> float:
        got = spec(w).sqrt()
        return float(torch.linalg.norm(got - target.sqrt()) / torch.linalg.norm(target.sqrt()))

    assert error(y) < 0.1
    assert error(y) < 0.5 * error(zero_phase)


def test_griffinlim_generator_makes_it_reproducible() -> None:
    target = T.Spectrogram(n_fft=64, hop_length=16)(torch.randn(800))
    window = torch.hann_window(64)
    a = F.griffinlim(target, window, 64, 16, 64, 2.0, 2, 0.99, None, True, generator=torch.Generator().manual_seed(5))
    b = F.griffinlim(target, window, 64, 16, 64, 2.0, 2, 0.99, None, True, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    with pytest.raises(OptionError):
        F.griffinlim(target, window, 64, 16, 64, 2.0, 2, 1.5, None, True)


def test_spectral_centroid_of_a_sine_is_its_frequency() -> None:
    sr, n_fft = 16000, 400
    freq = 40 * sr / n_fft  # bin centre: Hann leakage is symmetric around it
    x = torch.sin(2 * math.pi * freq * torch.arange(sr, dtype=torch.float64) / sr)
    c = T.SpectralCentroid(sr, n_fft=n_fft).double()(x)
    torch.testing.assert_close(c[2:-2], torch.full_like(c[2:-2], freq), rtol=0, atol=1e-2)


def test_gradients() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 200, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.hann_window(64, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda v: F.spectrogram(v, 3, w, 64, 16, 64, 2.0, True), (x,), fast_mode=True)
    assert torch.autograd.gradcheck(
        lambda v: F.spectral_centroid(v, 8000, 0, w, 64, 16, 64), (x,), fast_mode=True
    )
    spec = F.spectrogram(x.detach(), 0, w, 64, 16, 64, None, False).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda s: F.inverse_spectrogram(s, 200, 0, w, 64, 16, 64, "frame_length"), (spec,), fast_mode=True
    )
