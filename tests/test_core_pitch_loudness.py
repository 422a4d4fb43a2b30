"""NCCF pitch detection and BS.1770-4 loudness against closed forms and loop references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError
from kaldibridge.functional.loudness import k_weighting_coeffs


def _np_detect_pitch(x: np.ndarray, sr: int, frame_time: float = 0.01, win: int = 30,
                     freq_low: int = 85, freq_high: int = 3400) -> np.ndarray:
    """Per-lag, per-frame loop transcription of the NCCF pitch tracker."""
    eps = 1e-9
    lags = math.ceil(sr / freq_low)
    size = math.ceil(sr * frame_time)
    frames = math.ceil(len(x) / size)
    x = np.concatenate([x, np.zeros(lags + frames * size - len(x))])
    nccf = np.zeros((frames, lags))
    for i in range(frames):
        s1 = x[i * size : i * size + size]
        for lag in range(1, lags + 1):
            s2 = x[i * size + lag : i * size + lag + size]
            nccf[i, lag - 1] = (s1 @ s2) / (eps + np.linalg.norm(s1)) ** 2 / (eps + np.linalg.norm(s2)) ** 2
    lag_min = math.ceil(sr / freq_high)
    half = lags // 2
    idx = np.zeros(frames, dtype=np.int64)
    for i in range(frames):
        best = lag_min + int(np.argmax(nccf[i, lag_min:]))
        first = lag_min + int(np.argmax(nccf[i, lag_min:half]))
        idx[i] = (first if nccf[i, first] > 0.99 * nccf[i, best] else best) + 1
    pad = (win - 1) // 2
    padded = np.concatenate([np.full(pad, idx[0]), idx])
    smooth = np.array([np.sort(padded[k : k + win])[(win - 1) // 2] for k in range(len(padded) - win + 1)])
    return sr / (eps + smooth)


@pytest.mark.parametrize("freq", [100, 300])
def test_pitch_of_integer_period_sines(freq: int) -> None:
    sr = 44100
    x = torch.sin(2 * math.pi * freq * torch.arange(sr, dtype=torch.float64) / sr)
    pitch = F.detect_pitch_frequency(x, sr)
    assert pitch.shape == (math.ceil(sr / 441) - 15,)
    torch.testing.assert_close(pitch, torch.full_like(pitch, float(freq)), rtol=1e-6, atol=0)


def test_pitch_matches_loop_reference() -> None:
    sr = 8000
    rng = np.random.default_rng(0)
    t = np.arange(int(0.6 * sr)) / sr
    f0 = 150 + 60 * t
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 5)) + 0.05 * rng.standard_normal(len(t))
    ours = F.detect_pitch_frequency(torch.from_numpy(x), sr).numpy()
    np.testing.assert_allclose(ours, _np_detect_pitch(x, sr), rtol=1e-9)


def test_pitch_options_checked() -> None:
    with pytest.raises(OptionError):
        F.detect_pitch_frequency(torch.randn(8000), 8000, freq_low=300, freq_high=400)


def test_k_weighting_matches_the_standard_at_48k() -> None:
    (b1, a1), (b2, a2) = k_weighting_coeffs(48000)
    # BS.1770-4, Tables 1 and 2
    np.testing.assert_allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-9)
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)
    with pytest.raises(OptionError):
        k_weighting_coeffs(2000)


_TABLE = (([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585]),
          ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621]))


def _np_loudness(x: np.ndarray, coeffs: tuple = _TABLE) -> float:
    """Reference at 48 kHz with scipy.signal.lfilter (default: the standard's printed coefficients)."""
    (b1, a1), (b2, a2) = coeffs
    y = scipy.signal.lfilter(b2, a2, scipy.signal.lfilter(b1, a1, x, axis=-1), axis=-1)
    block, step = 19200, 4800
    starts = range(0, x.shape[-1] - block + 1, step)
    z = np.array([[np.mean(ch[s : s + block] ** 2) for s in starts] for ch in y])  # (channels, blocks)
    g = np.array([1.0, 1.0, 1.0, 1.41, 1.41])[: x.shape[0]]
    lj = -0.691 + 10 * np.log10(g @ z)
    keep = lj > -70
    gamma_r = -0.691 + 10 * np.log10(g @ z[:, keep].mean(axis=1)) - 10
    keep &= lj > gamma_r
    return float(-0.691 + 10 * np.log10(g @ z[:, keep].mean(axis=1)))


def test_full_scale_997hz_sine_reads_minus_3_01() -> None:
    sr = 48000
    t = torch.arange(3 * sr, dtype=torch.float64) / sr
    sine = torch.sin(2 * math.pi * 997 * t)
    assert float(F.loudness(sine[None], sr)) == pytest.approx(-3.01, abs=0.01)
    assert float(F.loudness(sine, sr)) == pytest.approx(-3.01, abs=0.01)  # 1-D is mono
    stereo = torch.stack([sine, sine])
    assert float(T.Loudness(sr)(stereo)) == pytest.approx(0.0, abs=0.01)


def test_loudness_matches_scipy_reference_with_gating() -> None:
    sr = 48000
    rng = np.random.default_rng(1)
    n = 4 * sr
    env = np.ones(n)
    env[sr : 2 * sr] = 1e-5  # below the absolute gate
    env[2 * sr : 3 * sr] = 0.05  # caught by the relative gate
    x = rng.standard_normal((5, n)) * 0.1 * env * np.array([1.0, 0.8, 0.5, 0.3, 0.2])[:, None]
    for channels in (1, 2, 5):
        ours = float(F.loudness(torch.from_numpy(x[:channels]), sr))
        # same coefficients: filtering and gating agree to rounding
        assert ours == pytest.approx(_np_loudness(x[:channels], k_weighting_coeffs(sr)), abs=1e-8)
        # the printed (rounded) coefficients: the 38 Hz pole near z = 1 amplifies the rounding
        assert ours == pytest.approx(_np_loudness(x[:channels]), abs=1e-4)


def test_loudness_limits_and_gradient() -> None:
    with pytest.raises(OptionError):
        F.loudness(torch.randn(6, 48000), 48000)
    assert torch.isnan(F.loudness(torch.randn(2, 1, 100), 48000)).all()
    x = (0.1 * torch.randn(1, 1800, dtype=torch.float64, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: F.loudness(v, 4000), (x,), fast_mode=True)
