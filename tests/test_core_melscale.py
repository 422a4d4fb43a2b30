"""Mel/linear filter banks, DCT, MelScale, InverseMelScale, MFCC and LFCC against
independent numpy/scipy references."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.fft
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError


def _np_hz_to_mel(f: np.ndarray, scale: str) -> np.ndarray:
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f = np.asarray(f, dtype=np.float64)
    out = f * 3.0 / 200.0
    high = f >= 1000.0
    out[high] = 15.0 + np.log(f[high] / 1000.0) * 27.0 / np.log(6.4)
    return out


def _np_mel_to_hz(m: np.ndarray, scale: str) -> np.ndarray:
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    m = np.asarray(m, dtype=np.float64)
    out = m * 200.0 / 3.0
    high = m >= 15.0
    out[high] = 1000.0 * np.exp((m[high] - 15.0) * np.log(6.4) / 27.0)
    return out


def _np_triangles(n_freqs: int, sr: int, corners: np.ndarray) -> np.ndarray:
    """Filter j rises linearly from corners[j] to corners[j+1] and falls to corners[j+2]."""
    freqs = np.linspace(0, sr // 2, n_freqs)
    fb = np.zeros((n_freqs, len(corners) - 2))
    for j in range(len(corners) - 2):
        lo, mid, hi = corners[j : j + 3]
        for i, f in enumerate(freqs):
            if lo <= f <= mid:
                fb[i, j] = (f - lo) / (mid - lo)
            elif mid < f <= hi:
                fb[i, j] = (hi - f) / (hi - mid)
    return fb


def _np_mel_fb(n_freqs: int, f_min: float, f_max: float, n_mels: int, sr: int, norm: str | None, scale: str) -> np.ndarray:
    mels = np.linspace(_np_hz_to_mel(np.array([f_min]), scale)[0], _np_hz_to_mel(np.array([f_max]), scale)[0], n_mels + 2)
    corners = _np_mel_to_hz(mels, scale)
    fb = _np_triangles(n_freqs, sr, corners)
    if norm == "slaney":
        fb *= 2.0 / (corners[2:] - corners[:-2])
    return fb


def test_mel_scale_closed_forms() -> None:
    f = torch.tensor([0.0, 700.0, 1000.0, 6400.0], dtype=torch.float64)
    htk = F.melscale.hz_to_mel(f, "htk")
    torch.testing.assert_close(htk[1], torch.tensor(2595.0 * math.log10(2.0), dtype=torch.float64))
    slaney = F.melscale.hz_to_mel(f, "slaney")
    torch.testing.assert_close(slaney, torch.tensor([0.0, 10.5, 15.0, 42.0], dtype=torch.float64))
    for scale in ("htk", "slaney"):
        torch.testing.assert_close(F.melscale.mel_to_hz(F.melscale.hz_to_mel(f, scale), scale), f)


@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_melscale_fbanks_match_numpy(norm: str | None, scale: str) -> None:
    ours = F.melscale_fbanks(257, 20.0, 7600.0, 40, 16000, norm, scale)
    ref = _np_mel_fb(257, 20.0, 7600.0, 40, 16000, norm, scale)
    assert ours.shape == (257, 40) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5, atol=1e-7)


def test_slaney_norm_gives_unit_area() -> None:
    fb = F.melscale_fbanks(4097, 0.0, 8000.0, 20, 16000, norm="slaney").double()
    area = fb.sum(dim=0) * (8000.0 / 4096)
    torch.testing.assert_close(area, torch.ones(20, dtype=torch.float64), rtol=1e-3, atol=0)


def test_linear_fbanks_match_numpy() -> None:
    ours = F.linear_fbanks(129, 100.0, 3900.0, 12, 8000)
    ref = _np_triangles(129, 8000, np.linspace(100.0, 3900.0, 14))
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5, atol=1e-7)


def test_empty_filters_warn_and_bad_options_raise() -> None:
    with pytest.warns(UserWarning, match="all-zero"):
        F.melscale_fbanks(33, 0.0, 8000.0, 64, 16000)
    with pytest.raises(OptionError):
        F.melscale_fbanks(33, 0.0, 8000.0, 10, 16000, norm="bogus")
    with pytest.raises(OptionError):
        F.melscale_fbanks(33, 0.0, 8000.0, 10, 16000, mel_scale="bark")
    with pytest.raises(OptionError):
        T.MFCC(n_mfcc=50, melkwargs={"n_mels": 40})


@pytest.mark.parametrize("norm", [None, "ortho"])
def test_create_dct_matches_scipy(norm: str | None) -> None:
    x = np.random.default_rng(0).standard_normal((5, 23))
    ours = torch.from_numpy(x) @ F.create_dct(13, 23, norm).double()
    ref = scipy.fft.dct(x, type=2, norm=norm, axis=-1)[:, :13]
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_melscale_applies_the_bank() -> None:
    spec = torch.rand(3, 201, 7, dtype=torch.float64)
    module = T.MelScale(n_mels=30, sample_rate=16000, n_stft=201).double()
    ref = np.einsum("bft,fm->bmt", spec.numpy(), _np_mel_fb(201, 0.0, 8000.0, 30, 16000, None, "htk"))
    np.testing.assert_allclose(module(spec).numpy(), ref, rtol=1e-6, atol=1e-9)


def test_inverse_melscale_is_clamped_least_squares() -> None:
    g = torch.Generator().manual_seed(0)
    spec = torch.rand(2, 65, 9, generator=g, dtype=torch.float64)
    fb = _np_mel_fb(65, 0.0, 4000.0, 24, 8000, None, "htk")
    mel = np.einsum("bft,fm->bmt", spec.numpy(), fb)
    inv = T.InverseMelScale(n_stft=65, n_mels=24, sample_rate=8000).double()
    ours = inv(torch.from_numpy(mel)).numpy()
    for b in range(2):
        sol = np.linalg.lstsq(fb.T, mel[b], rcond=None)[0]  # minimum-norm solution
        np.testing.assert_allclose(ours[b], np.maximum(sol, 0.0), rtol=1e-4, atol=1e-6)
    assert (ours >= 0).all()


def _np_power_spec(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    xp = np.pad(x, n_fft // 2, mode="reflect")
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + (len(xp) - n_fft) // hop
    return np.stack([np.abs(np.fft.rfft(xp[t * hop : t * hop + n_fft] * win)) ** 2 for t in range(frames)], axis=1)


def test_mfcc_matches_numpy_pipeline() -> None:
    x = np.random.default_rng(4).standard_normal(4000) * 0.1
    power = _np_power_spec(x, 256, 128)
    mel = _np_mel_fb(129, 0.0, 4000.0, 32, 8000, None, "htk").T @ power
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    ref = scipy.fft.dct(db, type=2, norm="ortho", axis=0)[:13]
    module = T.MFCC(sample_rate=8000, n_mfcc=13, melkwargs={"n_fft": 256, "hop_length": 128, "n_mels": 32}).double()
    np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), ref, rtol=1e-6, atol=1e-6)
    logmel = T.MFCC(sample_rate=8000, n_mfcc=13, log_mels=True, melkwargs={"n_fft": 256, "hop_length": 128, "n_mels": 32}).double()
    ref_log = scipy.fft.dct(np.log(mel + 1e-6), type=2, norm="ortho", axis=0)[:13]
    np.testing.assert_allclose(logmel(torch.from_numpy(x)).numpy(), ref_log, rtol=1e-6, atol=1e-6)


def test_lfcc_matches_numpy_pipeline() -> None:
    x = np.random.default_rng(5).standard_normal(3000) * 0.1
    power = _np_power_spec(x, 200, 100)
    lin = _np_triangles(101, 8000, np.linspace(0.0, 4000.0, 22)).T @ power
    db = 10 * np.log10(np.maximum(lin, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    ref = scipy.fft.dct(db, type=2, norm="ortho", axis=0)[:10]
    module = T.LFCC(sample_rate=8000, n_filter=20, n_lfcc=10, speckwargs={"n_fft": 200, "hop_length": 100}).double()
    np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), ref, rtol=1e-6, atol=1e-6)


def test_mfcc_gradcheck() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = T.MFCC(sample_rate=8000, n_mfcc=5, melkwargs={"n_fft": 64, "hop_length": 32, "n_mels": 8}).double()
    x = torch.randn(2, 160, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), fast_mode=True)
    inv = T.InverseMelScale(n_stft=33, n_mels=8, sample_rate=8000).double()
    mel = torch.rand(8, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(inv, (mel,), fast_mode=True)
