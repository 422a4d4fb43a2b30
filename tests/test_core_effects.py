"""contrast, dcshift, overdrive and dither against direct numpy readings of their formulas."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import kaldibridge.functional as F
from kaldibridge.errors import OptionError


def _wave(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64) * 1.9 - 0.95


def _np_contrast(x: np.ndarray, amount: float) -> np.ndarray:
    out = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        d = v * math.pi / 2
        out[i] = math.sin(d + amount / 750.0 * math.sin(d * 4))
    return out


def _np_dcshift(x: np.ndarray, shift: float, limiter_gain: float | None) -> np.ndarray:
    out = np.empty_like(x)
    thr = None if limiter_gain is None else 1.0 - (abs(shift) - limiter_gain)
    for i, v in np.ndenumerate(x):
        if thr is not None and shift > 0 and v > thr:
            out[i] = thr
        elif thr is not None and shift < 0 and v < -thr:
            out[i] = -thr
        else:
            out[i] = min(1.0, max(-1.0, v + shift))
    return out


def _np_overdrive(x: np.ndarray, gain: float, colour: float) -> np.ndarray:
    g = 10 ** (gain / 20)
    c = colour / 200
    out = np.empty_like(x)
    for row in np.ndindex(x.shape[:-1]):
        last_in = last_out = 0.0
        for n in range(x.shape[-1]):
            t = x[row + (n,)] * g + c
            t = -2.0 / 3 if t < -1 else (2.0 / 3 if t > 1 else t - t**3 / 3)
            last_out = t - last_in + 0.995 * last_out
            last_in = t
            out[row + (n,)] = min(1.0, max(-1.0, x[row + (n,)] * 0.5 + last_out * 0.75))
    return out


@pytest.mark.parametrize("amount", [0.0, 20.0, 75.0, 100.0])
def test_contrast_formula(amount: float) -> None:
    x = _wave(3, 50)
    np.testing.assert_allclose(F.contrast(x, amount).numpy(), _np_contrast(x.numpy(), amount), rtol=0, atol=1e-14)
    with pytest.raises(OptionError):
        F.contrast(x, 101.0)


@pytest.mark.parametrize(("shift", "gain"), [(0.3, None), (-0.5, None), (0.3, 0.05), (-0.2, 0.02), (1.5, None)])
def test_dcshift_formula(shift: float, gain: float | None) -> None:
    x = _wave(4, 60, seed=1)
    got = F.dcshift(x, shift, gain).numpy()
    np.testing.assert_allclose(got, _np_dcshift(x.numpy(), shift, gain), rtol=0, atol=1e-15)
    assert np.all(np.abs(got) <= 1.0)


def test_dcshift_limiter_holds_peaks_at_the_threshold() -> None:
    x = torch.tensor([0.0, 0.5, 0.9, 0.99], dtype=torch.float64)
    y = F.dcshift(x, 0.3, 0.05)  # threshold 0.75
    thr = 0.75
    expected = [0.3, 0.8, thr, thr]
    np.testing.assert_allclose(y.numpy(), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(("gain", "colour"), [(20.0, 20.0), (0.0, 0.0), (10.0, 50.0)])
def test_overdrive_formula(gain: float, colour: float) -> None:
    x = _wave(2, 3, 80, seed=2) * 0.2
    got = F.overdrive(x, gain, colour).numpy()
    np.testing.assert_allclose(got, _np_overdrive(x.numpy(), gain, colour), rtol=0, atol=1e-12)


def test_dither_lands_on_grid_with_bounded_error() -> None:
    x = _wave(4, 4000, seed=3)
    for density, bound in [("RPDF", 1.0), ("TPDF", 1.5), ("GPDF", None)]:
        y = F.dither(x, density, generator=torch.Generator().manual_seed(0))  # type: ignore[arg-type]
        steps = y * 32768
        torch.testing.assert_close(steps, torch.round(steps), rtol=0, atol=1e-9)
        err = (steps - x * 32768).abs()
        if bound is not None:
            assert float(err.max()) <= bound
        assert float(err.max()) > 0.5  # noise moved some samples past plain rounding


def test_dither_tpdf_error_variance_is_a_quarter_lsb() -> None:
    # TPDF dither makes the total error independent of the signal, variance 1/12 + 1/6
    x = _wave(8, 20000, seed=4)
    y = F.dither(x, "TPDF", generator=torch.Generator().manual_seed(1))
    err = (y - x) * 32768
    assert abs(float(err.mean())) < 0.01
    assert abs(float(err.var()) - 0.25) < 0.01


def test_dither_noise_shaping_moves_error_up() -> None:
    x = _wave(4, 16384, seed=5) * 0.5
    gen = torch.Generator().manual_seed(2)
    plain = F.dither(x, "TPDF", generator=gen)
    gen = torch.Generator().manual_seed(2)
    shaped = F.dither(x, "TPDF", True, generator=gen)
    err_plain = (plain - x).numpy()
    err_shaped = (shaped - x).numpy()
    np.testing.assert_allclose(err_shaped[:, 1:], err_plain[:, 1:] - err_plain[:, :-1], rtol=0, atol=1e-15)
    spec = np.abs(np.fft.rfft(err_shaped, axis=-1)) ** 2
    low, high = spec[:, 1 : spec.shape[-1] // 8].mean(), spec[:, -spec.shape[-1] // 8 :].mean()
    assert high > 10 * low


def test_dither_seeded_and_options() -> None:
    x = _wave(2, 100, seed=6)
    a = F.dither(x, generator=torch.Generator().manual_seed(5))
    b = F.dither(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with pytest.raises(OptionError):
        F.dither(x, "XPDF")  # type: ignore[arg-type]
    with pytest.raises(OptionError):
        F.contrast(x.to(torch.int16))


@pytest.mark.parametrize(
    "fn",
    [lambda x: F.contrast(x, 60.0), lambda x: F.dcshift(x, 0.2, 0.05), lambda x: F.overdrive(x, 15.0, 10.0)],
    ids=["contrast", "dcshift", "overdrive"],
)
def test_batch_equals_loop_dtype_and_compile(fn) -> None:  # type: ignore[no-untyped-def]
    x = _wave(3, 2, 64, seed=7)
    y = fn(x)
    loop = torch.stack([torch.stack([fn(x[i, j]) for j in range(2)]) for i in range(3)])
    torch.testing.assert_close(y, loop, rtol=0, atol=1e-14)
    y32 = fn(x.float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y, rtol=0, atol=1e-5)
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x.float()), y32, rtol=1e-5, atol=1e-5)


def test_gradcheck_contrast_and_overdrive() -> None:
    x = (_wave(2, 20, seed=8) * 0.05).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: F.contrast(t, 50.0), (x,))
    assert torch.autograd.gradcheck(lambda t: F.overdrive(t, 6.0, 10.0), (x,))


@pytest.mark.parametrize("n", [1, 2, 20000])
def test_overdrive_long_and_tiny_signals_match_the_recursion(n: int) -> None:
    scipy_signal = pytest.importorskip("scipy.signal", reason="scipy is the test-only IIR peer")
    x = _wave(2, n, seed=9) * 0.3
    t = x.numpy() * 10 ** (12 / 20) + 0.1
    t = np.where(t < -1, -2 / 3, np.where(t > 1, 2 / 3, t - t**3 / 3))
    u = scipy_signal.lfilter([1.0, -1.0], [1.0, -0.995], t, axis=-1)
    expected = np.clip(0.5 * x.numpy() + 0.75 * u, -1, 1)
    np.testing.assert_allclose(F.overdrive(x, 12.0, 20.0).numpy(), expected, rtol=0, atol=1e-11)


GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))


@pytest.mark.parametrize(
    ("case", "fn"),
    [
        ("contrast_75", lambda x: F.contrast(x, 75.0)),
        ("dcshift_0.1", lambda x: F.dcshift(x, 0.1)),
        ("dcshift_0.4_limiter", lambda x: F.dcshift(x, 0.4, 0.05)),
        ("overdrive_20_20", lambda x: F.overdrive(x, 20.0, 20.0)),
    ],
)
def test_matches_sox_golden(case: str, fn) -> None:  # type: ignore[no-untyped-def]
    sox_dir = GOLDEN / "sox"
    if not (sox_dir / case / "out.wav").is_file():
        pytest.skip(f"sox golden {case} not present under {sox_dir}")
    entry = next(e for e in json.loads((sox_dir / "manifest.json").read_text()) if e["name"] == case)
    x, _ = sf.read(GOLDEN / entry["input"], dtype="float64", always_2d=True)
    ref, _ = sf.read(sox_dir / case / "out.wav", dtype="float64", always_2d=True)
    y = fn(torch.from_numpy(x.T.copy())).numpy().T
    # SoX computes on 32-bit integers and writes float32: agree to float32 resolution
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-7)


def test_dither_name_is_the_function_after_the_kaldi_layer_loads() -> None:
    # The Kaldi layer's Gaussian dither lives in functional/gaussian_dither.py, so loading
    # it never shadows the torchaudio-style function on the package.
    import importlib

    importlib.import_module("kaldibridge.kaldi.features._common")
    import kaldibridge.functional as fresh

    assert callable(fresh.dither)
    assert fresh.dither is F.dither
