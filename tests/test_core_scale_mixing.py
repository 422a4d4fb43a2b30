"""Decibels, mu-law, Vol, Fade, pre-/de-emphasis, add_noise and the exact IIR helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError
from kaldibridge.functional.mixing import _iir_filter, fade_curve


def test_amplitude_to_db_closed_form() -> None:
    x = torch.tensor([[1.0, 10.0, 100.0], [1e-12, 0.5, 2.0]], dtype=torch.float64)
    db = T.AmplitudeToDB("power").double()(x)
    expected = 10 * np.log10(np.maximum(x.numpy(), 1e-10))
    np.testing.assert_allclose(db.numpy(), expected, rtol=1e-12)
    mag = T.AmplitudeToDB("magnitude")(x.float())
    np.testing.assert_allclose(mag.numpy(), 2 * expected, rtol=1e-5)


def test_top_db_floors_each_matrix_separately() -> None:
    x = torch.ones(2, 3, 4)
    x[0, 0, 0] = 1e6  # 60 dB peak in item 0 only
    x[1] *= 1e-4  # item 1 sits at -40 dB everywhere
    db = F.amplitude_to_DB(x, 10.0, 1e-10, 0.0, top_db=20.0)
    assert db[0, 0, 0] == pytest.approx(60.0)
    assert torch.all(db[0].flatten()[1:] == 40.0)  # floored at 60 - 20
    assert torch.allclose(db[1], torch.full((3, 4), -40.0))  # untouched by item 0's peak
    with pytest.raises(OptionError):
        T.AmplitudeToDB(top_db=-1.0)


def test_db_to_amplitude_inverts() -> None:
    x = torch.rand(5, 7, dtype=torch.float64) + 0.01
    db = F.amplitude_to_DB(x, 10.0, 1e-10, 0.0)
    torch.testing.assert_close(F.DB_to_amplitude(db, 1.0, 1.0), x)
    db20 = F.amplitude_to_DB(x, 20.0, 1e-10, 0.0)
    torch.testing.assert_close(F.DB_to_amplitude(db20, 1.0, 0.5), x)


def test_mu_law_closed_forms_and_round_trip() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0])
    assert T.MuLawEncoding(256)(x).tolist() == [0, 128, 255]
    sig = torch.linspace(-1, 1, 1001, dtype=torch.float64)
    mu = 255.0
    expected = np.floor((np.sign(sig.numpy()) * np.log1p(mu * np.abs(sig.numpy())) / np.log1p(mu) + 1) / 2 * mu + 0.5)
    codes = F.mu_law_encoding(sig, 256)
    assert codes.dtype == torch.int64
    np.testing.assert_array_equal(codes.numpy(), expected.astype(np.int64))
    back = F.mu_law_decoding(codes, 256)
    # encoding rounds to within 1/mu in the companded domain; the expansion's slope there is
    # at most (1 + mu |x|) ln(1 + mu) / mu times a factor close to 1 over one step
    bound = 1.2 * (1 + mu * sig.abs()) * math.log1p(mu) / mu**2
    assert torch.all((back.double() - sig).abs() <= bound)


@pytest.mark.parametrize("gain,gain_type,factor", [(0.5, "amplitude", 0.5), (20 * math.log10(2), "db", 2.0), (4.0, "power", 2.0)])
def test_vol(gain: float, gain_type: str, factor: float) -> None:
    x = torch.tensor([0.1, -0.2, 0.45, 0.9])
    y = T.Vol(gain, gain_type)(x)
    torch.testing.assert_close(y, (x * factor).clamp(-1, 1))
    with pytest.raises(OptionError):
        T.Vol(-1.0, "amplitude")


def test_fade_shapes() -> None:
    t = np.linspace(0, 1, 5)
    fade_in = {
        "linear": t,
        "exponential": 2.0 ** ((t - 1) * 5),
        "logarithmic": np.log10(0.1 + t) + 1,
        "quarter_sine": np.sin(t * np.pi / 2),
        "half_sine": np.sin(t * np.pi - np.pi / 2) / 2 + 0.5,
    }
    for shape, ramp in fade_in.items():
        curve = fade_curve(8, 5, shape, True, dtype=torch.float64).numpy()
        np.testing.assert_allclose(curve, np.clip(np.concatenate([ramp, np.ones(3)]), 0, 1), atol=1e-12)
        out = fade_curve(8, 5, shape, False, dtype=torch.float64).numpy()
        assert out[:3].tolist() == [1.0, 1.0, 1.0]
        assert np.all(np.diff(out) <= 1e-12) and out[-1] <= 2.0**-5 + 1e-12
    x = torch.ones(2, 10)
    y = T.Fade(fade_in_len=3, fade_out_len=4)(x)
    np.testing.assert_allclose(y[0].numpy(), [0, 0.5, 1, 1, 1, 1, 1, 2 / 3, 1 / 3, 0], atol=1e-6)
    with pytest.raises(OptionError):
        T.Fade(fade_in_len=20)(x)


def test_preemphasis_and_deemphasis_match_scipy() -> None:
    x = np.random.default_rng(0).standard_normal((3, 2000))
    pre = F.preemphasis(torch.from_numpy(x), 0.95).numpy()
    np.testing.assert_allclose(pre, scipy.signal.lfilter([1.0, -0.95], [1.0], x), rtol=1e-12, atol=1e-12)
    de = F.deemphasis(torch.from_numpy(x), 0.95).numpy()
    np.testing.assert_allclose(de, scipy.signal.lfilter([1.0], [1.0, -0.95], x), rtol=1e-9, atol=1e-9)
    back = F.deemphasis(F.preemphasis(torch.from_numpy(x), 0.97), 0.97)
    np.testing.assert_allclose(back.numpy(), x, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("b,a", [
    ([0.2, 0.3, 0.1], [1.0, -1.5, 0.7]),
    ([1.0, -2.0, 1.0], [2.0, -3.98, 1.9801]),  # double real pole near 1, a[0] != 1
    ([0.1, 0.0, -0.1, 0.05, 0.02], [1.0, -0.5, 0.3, -0.1, 0.05]),
])
def test_iir_filter_matches_scipy(b: list[float], a: list[float]) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3000))
    ours = _iir_filter(torch.from_numpy(x), b, a).numpy()
    ref = scipy.signal.lfilter(b, a, x)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())


@pytest.mark.parametrize("snr", [0.0, 10.0, -5.0])
def test_add_noise_reaches_the_snr(snr: float) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1000, generator=g, dtype=torch.float64)
    noise = torch.randn(3, 1000, generator=g, dtype=torch.float64) * 3
    y = F.add_noise(x, noise, torch.full((3,), snr, dtype=torch.float64))
    added = y - x
    measured = 10 * torch.log10(x.pow(2).sum(-1) / added.pow(2).sum(-1))
    torch.testing.assert_close(measured, torch.full((3,), snr, dtype=torch.float64))
    lengths = torch.tensor([1000, 500, 250])
    y = T.AddNoise()(x, noise, snr, lengths)
    for i, n in enumerate(lengths.tolist()):
        added = (y - x)[i, :n]
        measured = 10 * torch.log10(x[i, :n].pow(2).sum() / added.pow(2).sum())
        assert float(measured) == pytest.approx(snr, abs=1e-9)


def test_gradients() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 50, dtype=torch.float64, generator=g, requires_grad=True)
    n = torch.randn(2, 50, dtype=torch.float64, generator=g, requires_grad=True)
    snr = torch.tensor([3.0, 7.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(F.add_noise, (x, n, snr), fast_mode=True)
    assert torch.autograd.gradcheck(lambda v: F.deemphasis(v, 0.9), (x,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda v: F.preemphasis(v, 0.9), (x,), fast_mode=True)
    assert torch.autograd.gradcheck(T.Fade(10, 10, "half_sine"), (x,), fast_mode=True)
    spec = torch.rand(2, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: F.amplitude_to_DB(s + 0.1, 10.0, 1e-10, 0.0), (spec,), fast_mode=True)
