"""Phase vocoder / TimeStretch, pitch shift and speed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError


def _np_phase_vocoder(spec: np.ndarray, rate: float, advance: np.ndarray) -> np.ndarray:
    """Loop transcription of the textbook phase vocoder on one (freq, frames) matrix."""
    freq, frames = spec.shape
    padded = np.concatenate([spec, np.zeros((freq, 2), dtype=spec.dtype)], axis=1)
    steps = np.arange(math.ceil(frames / rate)) * rate
    out = np.zeros((freq, len(steps)), dtype=spec.dtype)
    phase = np.angle(spec[:, 0])
    for k, s in enumerate(steps):
        i = int(s)
        frac = s - i
        left, right = padded[:, i], padded[:, i + 1]
        mag = frac * np.abs(right) + (1 - frac) * np.abs(left)
        out[:, k] = mag * np.exp(1j * phase)
        delta = np.angle(right) - np.angle(left) - advance
        delta -= 2 * np.pi * np.round(delta / (2 * np.pi))
        phase = phase + delta + advance
    return out


@pytest.mark.parametrize("rate", [0.7, 1.3, 2.0])
def test_phase_vocoder_matches_loop_reference(rate: float) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3000, dtype=torch.float64, generator=g)
    spec = T.Spectrogram(n_fft=256, hop_length=64, power=None).double()(x)
    advance = torch.linspace(0, math.pi * 64, 129, dtype=torch.float64)[:, None]
    out = F.phase_vocoder(spec, rate, advance)
    assert out.shape == (2, 129, math.ceil(spec.shape[-1] / rate))
    for b in range(2):
        ref = _np_phase_vocoder(spec[b].numpy(), rate, advance[:, 0].numpy())
        np.testing.assert_allclose(out[b].numpy(), ref, rtol=1e-7, atol=1e-7)


def test_rate_one_is_identity_and_errors() -> None:
    spec = torch.randn(3, 33, 10, dtype=torch.complex64)
    assert torch.equal(T.TimeStretch(n_freq=33, fixed_rate=1.0)(spec), spec)
    with pytest.raises(OptionError):
        T.TimeStretch(n_freq=33)(spec)
    with pytest.raises(OptionError):
        F.phase_vocoder(spec, -1.0, torch.zeros(33, 1))


def _dominant_hz(x: torch.Tensor, sr: int) -> float:
    x = x.double()
    spec = torch.fft.rfft(x * torch.hann_window(x.shape[-1], dtype=torch.float64))
    return float(spec.abs().argmax()) * sr / x.shape[-1]


def test_time_stretch_keeps_the_pitch() -> None:
    sr = 16000
    x = torch.sin(2 * math.pi * 500 * torch.arange(sr) / sr)
    spec = T.Spectrogram(n_fft=512, hop_length=128, power=None)(x)
    stretched = T.TimeStretch(hop_length=128, n_freq=257)(spec, 0.5)
    y = T.InverseSpectrogram(n_fft=512, hop_length=128)(stretched)
    assert y.shape[-1] == pytest.approx(2 * sr, rel=0.02)
    assert _dominant_hz(y[4000:-4000], sr) == pytest.approx(500, abs=2)


def test_pitch_shift_an_octave_and_zero_steps() -> None:
    sr = 16000
    x = torch.sin(2 * math.pi * 440 * torch.arange(sr) / sr)
    up = T.PitchShift(sr, 12)(x)
    assert up.shape == x.shape
    assert _dominant_hz(up[2000:-2000], sr) == pytest.approx(880, abs=3)
    same = F.pitch_shift(x.double(), sr, 0)
    torch.testing.assert_close(same[512:-512], x.double()[512:-512], rtol=0, atol=1e-6)
    batch = torch.stack([x, 0.5 * x.flip(-1)])
    out = T.PitchShift(sr, -12)(batch)  # an octave keeps the resampling ratio small (2:1)
    torch.testing.assert_close(out[1], T.PitchShift(sr, -12)(batch[1]), rtol=1e-5, atol=1e-5)
    assert _dominant_hz(out[0, 2000:-2000], sr) == pytest.approx(220, abs=3)


def test_speed_changes_length_and_pitch() -> None:
    sr = 16000
    x = torch.sin(2 * math.pi * 400 * torch.arange(sr) / sr).repeat(2, 1)
    y, lengths = T.Speed(sr, 1.25)(x, torch.tensor([16000, 8001]))
    assert y.shape == (2, math.ceil(sr * 4 / 5))
    assert lengths.tolist() == [12800, math.ceil(8001 * 4 / 5)]
    assert _dominant_hz(y[0, 1000:-1000], sr) == pytest.approx(500, abs=3)
    same, none = F.speed(x, sr, 1.0)
    assert torch.equal(same, x) and none is None
    with pytest.raises(OptionError):
        F.speed(x, sr, 0.0)


def test_phase_vocoder_gradcheck() -> None:
    g = torch.Generator().manual_seed(2)
    spec = (torch.randn(2, 9, 6, dtype=torch.float64, generator=g) + 3) * torch.exp(
        1j * torch.rand(2, 9, 6, dtype=torch.float64, generator=g)
    )
    spec.requires_grad_(True)
    advance = torch.linspace(0, math.pi * 4, 9, dtype=torch.float64)[:, None]
    assert torch.autograd.gradcheck(lambda s: F.phase_vocoder(s, 1.4, advance), (spec,), fast_mode=True)
