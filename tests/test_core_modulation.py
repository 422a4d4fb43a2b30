"""phaser and flanger: the sox goldens, a plain per-sample delay-line reference written
here, batch == loop, float32 vs float64, gradients, torch.compile and torch.export."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import kaldibridge.functional as F
from kaldibridge.errors import OptionError

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN") or Path(__file__).resolve().parents[1] / ".." / "shared" / "golden")
SOX = GOLDEN / "sox"


def _wave(*shape: int, seed: int = 0, scale: float = 0.4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


def _table(kind: str, size: int, low: float, high: float, phase: float, as_int: bool) -> list[float]:
    """SoX's LFO table, one value at a time (reference only)."""
    out = []
    offset = int(phase / math.pi / 2 * size + 0.5)
    for i in range(size):
        point = (i + offset) % size
        if kind == "sine":
            d = (math.sin(point / size * 2 * math.pi) + 1) / 2
        else:
            d = point * 2 / size
            quarter = 4 * point // size
            d = d + 0.5 if quarter == 0 else (d - 1.5 if quarter == 3 else 1.5 - d)
        d = d * (high - low) + low
        if as_int:
            out.append(float(int(d - 0.5) if d < 0 else int(d + 0.5)))
        else:
            out.append(float(np.float32(d)))
    return out


def _ref_phaser(x: np.ndarray, rate: int, gain_in: float, gain_out: float, delay_ms: float, decay: float,
                speed: float, sine: bool) -> np.ndarray:
    """The phaser's circular delay line, sample by sample, as SoX's phaser.c runs it."""
    dlen = int(delay_ms * 0.001 * rate + 0.5)
    mlen = int(rate / speed + 0.5)
    mod = _table("sine" if sine else "triangle", mlen, 1.0, float(dlen), math.pi / 2, True)
    out = np.empty_like(x)
    for row in np.ndindex(x.shape[:-1]):
        buf = [0.0] * dlen
        pos = mpos = 0
        for i in range(x.shape[-1]):
            d = x[row + (i,)] * gain_in + buf[(pos + int(mod[mpos])) % dlen] * decay
            mpos = (mpos + 1) % mlen
            pos = (pos + 1) % dlen
            buf[pos] = d
            out[row + (i,)] = min(1.0, max(-1.0, d * gain_out))
    return out


def _ref_flanger(x: np.ndarray, rate: int, delay: float = 0.0, depth: float = 2.0, regen: float = 0.0,
                 width: float = 71.0, speed: float = 0.5, phase: float = 25.0, shape: str = "sine",
                 quadratic: bool = False) -> np.ndarray:
    """SoX's flanger.c, one sample and one channel at a time; ``x`` is (..., channel, time)."""
    fb = regen / 100
    g = width / 100
    in_gain = 1 / (1 + g)
    delay_gain = g / (1 + g) * (1 - abs(fb))
    blen = int((delay / 1000 + depth / 1000) * rate + 0.5) + 2
    lfo_len = int(rate / speed)
    lfo = _table(shape, lfo_len, float(math.floor(delay / 1000 * rate + 0.5)), blen - 2.0, 3 * math.pi / 2, False)
    out = np.empty_like(x)
    for row in np.ndindex(x.shape[:-1]):
        c = row[-1]
        cph = int(c * lfo_len * (phase / 100) + 0.5)
        buf = [0.0] * blen
        pos = 0
        last = 0.0
        for i in range(x.shape[-1]):
            s = x[row + (i,)]
            pos = (pos + blen - 1) % blen
            buf[pos] = s + last * fb
            d = lfo[(i + cph) % lfo_len]
            k = int(math.floor(d))
            f = d - k
            d0 = buf[(pos + k) % blen]
            d1 = buf[(pos + k + 1) % blen]
            if quadratic:
                d2 = buf[(pos + k + 2) % blen] - d0
                d1 -= d0
                delayed = d0 + ((d2 * 0.5 - d1) * f + (d1 * 2 - d2 * 0.5)) * f
            else:
                delayed = d0 + (d1 - d0) * f
            last = delayed
            out[row + (i,)] = min(1.0, max(-1.0, s * in_gain + delayed * delay_gain))
    return out


# ---------------------------------------------------------------------------- goldens


def _golden(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    import json

    case = next(c for c in json.loads((SOX / "manifest.json").read_text()) if c["name"] == name)
    x, rate = sf.read(GOLDEN / case["input"], dtype="float64", always_2d=True)
    y, _ = sf.read(GOLDEN / case["output"], dtype="float64", always_2d=True)
    return x.T.copy(), y.T.copy(), rate


def test_phaser_matches_sox_golden() -> None:
    x, want, rate = _golden("phaser")  # phaser 0.89 0.85 1 0.24 2 -t
    got = F.phaser(torch.from_numpy(x), rate, 0.89, 0.85, 1.0, 0.24, 2.0, sinusoidal=False).numpy()
    assert np.abs(want).max() > 0.3
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["flanger_default", "flanger_stereo"])
def test_flanger_matches_sox_golden(name: str) -> None:
    x, want, rate = _golden(name)
    got = F.flanger(torch.from_numpy(x), rate).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------- references


@pytest.mark.parametrize(
    "rate,args",
    [
        (8000, (0.4, 0.74, 3.0, 0.4, 0.5, True)),
        (16000, (0.9, 2.5, 0.5, 0.9, 2.0, False)),  # gain_out 2.5 clips
        (44100, (0.6, 0.9, 5.0, 0.99, 0.1, True)),
        (8000, (1.0, 1.0, 0.1, 0.3, 1.0, True)),  # one-sample delay line
    ],
)
def test_phaser_matches_delay_line(rate: int, args: tuple) -> None:
    x = _wave(2, 1500, seed=rate)
    got = F.phaser(x, rate, *args).numpy()
    np.testing.assert_allclose(got, _ref_phaser(x.numpy(), rate, *args), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"regen": 60.0},
        {"regen": -95.0, "interpolation": "quadratic"},
        {"regen": 30.0, "delay": 1.5, "depth": 4.0, "modulation": "triangular", "speed": 3.0},
        {"regen": 0.0, "interpolation": "quadratic", "width": 100.0},
        {"regen": 10.0, "depth": 0.0, "phase": 70.0},
    ],
)
def test_flanger_matches_delay_line(kwargs: dict) -> None:
    x = _wave(2, 3, 1200, seed=7)
    ref_kwargs = {k: v for k, v in kwargs.items() if k not in ("modulation", "interpolation")}
    want = _ref_flanger(
        x.numpy(), 16000, shape="triangle" if kwargs.get("modulation") == "triangular" else "sine",
        quadratic=kwargs.get("interpolation") == "quadratic", **ref_kwargs,
    )
    got = F.flanger(x, 16000, **kwargs).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_flanger_one_dim_is_one_channel() -> None:
    x = _wave(700, seed=3)
    torch.testing.assert_close(F.flanger(x, 8000, regen=20.0), F.flanger(x[None], 8000, regen=20.0)[0])


# --------------------------------------------------------------------- properties


def test_phaser_batch_equals_loop_and_two_dims_are_a_batch() -> None:
    x = _wave(3, 2, 900, seed=4)
    out = F.phaser(x, 8000, decay=0.7)
    for i in range(3):
        for j in range(2):
            torch.testing.assert_close(out[i, j], F.phaser(x[i, j], 8000, decay=0.7), rtol=0, atol=1e-15)
    assert not torch.allclose(out[0, 0], out[1, 0])


def test_flanger_batch_equals_loop() -> None:
    x = _wave(3, 2, 900, seed=5)
    out = F.flanger(x, 8000, regen=40.0)
    for i in range(3):
        torch.testing.assert_close(out[i], F.flanger(x[i], 8000, regen=40.0), rtol=0, atol=1e-15)


@pytest.mark.parametrize("fn", ["phaser", "flanger", "flanger_fb"])
def test_float32_matches_float64(fn: str) -> None:
    call = {
        "phaser": lambda s: F.phaser(s, 8000, decay=0.8),
        "flanger": lambda s: F.flanger(s, 8000),
        "flanger_fb": lambda s: F.flanger(s, 8000, regen=-70.0, interpolation="quadratic"),
    }[fn]
    x = _wave(2, 1, 1000, seed=6)
    y64 = call(x)
    y32 = call(x.float())
    assert y64.dtype == torch.float64 and y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, rtol=0, atol=1e-6)


def test_phaser_gradcheck() -> None:
    x = _wave(1, 40, seed=8, scale=0.2).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: F.phaser(s, 8000, delay_ms=1.0, decay=0.6, mod_speed=2.0), (x,))


@pytest.mark.parametrize("regen", [0.0, 50.0])
def test_flanger_gradcheck(regen: float) -> None:
    x = _wave(1, 2, 24, seed=9, scale=0.2).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: F.flanger(s, 8000, depth=1.0, regen=regen, speed=10.0, delay=0.3), (x,))


def _compile_and_export(fn, x: torch.Tensor) -> None:  # type: ignore[no-untyped-def]
    torch._dynamo.reset()
    want = fn(x)
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), want, rtol=0, atol=1e-12)

    class Wrap(torch.nn.Module):
        def forward(self, s: torch.Tensor) -> torch.Tensor:
            return fn(s)

    program = torch.export.export(Wrap(), (x,))
    torch.testing.assert_close(program.module()(x), want, rtol=0, atol=1e-12)


def test_phaser_compiles_and_exports() -> None:
    _compile_and_export(lambda s: F.phaser(s, 8000, decay=0.5), _wave(2, 400, seed=10))


def test_flanger_without_feedback_compiles_and_exports() -> None:
    _compile_and_export(lambda s: F.flanger(s, 8000, interpolation="quadratic"), _wave(2, 2, 400, seed=11))


@pytest.mark.slow
def test_flanger_with_feedback_compiles_and_exports() -> None:
    # The trace holds one step per block (one sample where the LFO delay is 0): short input.
    _compile_and_export(lambda s: F.flanger(s, 8000, regen=50.0, delay=1.0), _wave(2, 1, 60, seed=12))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device in this environment")
@pytest.mark.parametrize(
    "call",
    [
        lambda s: F.phaser(s, 8000, decay=0.8),
        lambda s: F.flanger(s, 8000, interpolation="quadratic"),
        lambda s: F.flanger(s, 8000, regen=60.0),
    ],
)
def test_cuda_matches_cpu(call) -> None:  # type: ignore[no-untyped-def]
    x = _wave(2, 2, 700, seed=15)
    torch.testing.assert_close(call(x.cuda()).cpu(), call(x), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call",
    [
        lambda x: F.phaser(x, 8000, gain_in=1.5),
        lambda x: F.phaser(x, 8000, decay=1.0),
        lambda x: F.phaser(x, 8000, delay_ms=0.01),  # shorter than a sample
        lambda x: F.phaser(x, 8000, mod_speed=0.0),
        lambda x: F.flanger(x, 8000, regen=96.0),
        lambda x: F.flanger(x, 8000, modulation="square"),  # type: ignore[arg-type]
        lambda x: F.flanger(x, 8000, interpolation="cubic"),  # type: ignore[arg-type]
        lambda x: F.flanger(x.expand(5, 100), 8000),  # 5 channels
        lambda x: F.phaser(torch.zeros(10, dtype=torch.int16), 8000),
    ],
)
def test_bad_arguments_raise_option_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OptionError):
        call(_wave(100))


# ------------------------------------------------ compiled kernel vs array fallback


@pytest.mark.parametrize("kwargs", [{"regen": 70.0}, {"regen": -40.0, "interpolation": "quadratic", "delay": 2.0}])
def test_flanger_feedback_kernel_and_block_path_agree(kwargs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from kaldibridge.functional import modulation

    x = _wave(2, 2, 1500, seed=13)
    want = _ref_flanger(
        x.numpy(), 16000, quadratic=kwargs.get("interpolation") == "quadratic",
        **{k: v for k, v in kwargs.items() if k != "interpolation"},
    )
    default = F.flanger(x, 16000, **kwargs)  # numba kernel when numba is installed
    with_grad = F.flanger(x.clone().requires_grad_(), 16000, **kwargs).detach()  # array path
    monkeypatch.setattr(modulation._flanger_kernel, "compiled", lambda: None)
    without_numba = F.flanger(x, 16000, **kwargs)
    for got in (default, with_grad, without_numba):
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-12)
    torch.testing.assert_close(default, without_numba, rtol=0, atol=1e-15)


def test_flanger_kernel_python_body_matches_compiled() -> None:
    from kaldibridge.functional import modulation

    kernel = modulation._flanger_kernel
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 300)) * 0.3
    frac = rng.random(300)
    lag = rng.integers(0, 6, 300)
    plain = np.empty_like(x)
    kernel.func(x, lag, frac, 3, 0.6, plain)
    compiled = kernel.compiled()
    if compiled is None:
        pytest.skip("numba is not installed or KALDIBRIDGE_NO_NUMBA is set: only the Python body exists")
    fast = np.empty_like(x)
    compiled(x, lag, frac, 3, 0.6, fast)
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-14)


@pytest.mark.parametrize("shape", [(2, 0), (2, 1), (0, 2, 50), (3,)])
def test_degenerate_shapes(shape: tuple[int, ...]) -> None:
    x = torch.full(shape, 0.25, dtype=torch.float64)
    for y in (F.phaser(x, 8000), F.flanger(x, 8000), F.flanger(x, 8000, regen=30.0)):
        assert y.shape == x.shape
    if x.shape[-1]:  # the first output sample has no delayed part yet
        first = x[..., :1]
        torch.testing.assert_close(F.phaser(x, 8000)[..., :1], first * 0.4 * 0.74)
        torch.testing.assert_close(F.flanger(x, 8000, delay=1.0)[..., :1], first / 1.71)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("KALDIBRIDGE_TEST_INDUCTOR", "") in ("", "0"),
    reason="inductor generates and compiles C++ (minutes on 2 loaded cores); fullgraph capture is "
    "already checked with the aot_eager backend. Set KALDIBRIDGE_TEST_INDUCTOR=1 to run it.",
)
@pytest.mark.parametrize("which", ["phaser", "flanger", "lfilter"])
def test_compile_inductor(which: str) -> None:
    torch._dynamo.reset()
    fn = {
        "phaser": lambda s: F.phaser(s, 8000, decay=0.5),
        "flanger": lambda s: F.flanger(s, 8000, interpolation="quadratic"),
        "lfilter": lambda s: F.lfilter(s, [1.0, -0.5, 0.2], [0.2, 0.3, 0.2]),
    }[which]
    x = _wave(2, 2, 400, seed=16)
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(x), fn(x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("block", [1, 7, 37, 256])
def test_phaser_blocks_of_time_give_the_same_result(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from kaldibridge.functional import modulation

    x = _wave(2, 600, seed=17)
    args = (0.7, 0.9, 2.0, 0.8, 2.0, False)
    whole = F.phaser(x, 8000, *args)
    monkeypatch.setattr(modulation, "_PHASER_BLOCK", block)
    got = F.phaser(x, 8000, *args)
    np.testing.assert_allclose(got.numpy(), _ref_phaser(x.numpy(), 8000, *args), rtol=0, atol=1e-12)
    torch.testing.assert_close(got, whole, rtol=0, atol=1e-13)
