"""The sox effects' two paths: compiled kernels (numba) and the numpy/torch fallbacks.

Each kernel's plain-Python body (what numba compiles) is checked on small inputs against
an independent array computation, so the recursion is tested even without numba; when
numba is present the compiled kernels are checked on longer inputs, and whole effect
chains must give the same output with the kernels switched off.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kaldibridge._jit import JitKernel
from kaldibridge.functional.filtering import lfilter
from kaldibridge.sox import _iir, _reverb, apply_effects_tensor

HAVE_NUMBA = _iir.compiled_path_available()
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed or KALDIBRIDGE_NO_NUMBA set: only the fallback path exists")


def _signal(rows: int, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, n, generator=g, dtype=torch.float64) * 0.2


def _reverb_ref(x: torch.Tensor, offsets: list[float]) -> list[torch.Tensor]:
    return _reverb._filter_arrays_fft(x, 16000.0, 0.9, offsets, 0.85, 0.35, 0.015)


def _reverb_kernel(func, x: torch.Tensor, offsets: list[float]) -> list[torch.Tensor]:  # noqa: ANN001
    return _reverb._filter_arrays_compiled(func, x, 16000.0, 0.9, offsets, 0.85, 0.35, 0.015)


def test_reverb_kernel_python_body_matches_fft_path() -> None:
    # shorter than the impulse-response bound: the FFT path is exact up to rounding
    x = _signal(1, 700, seed=1)
    got = _reverb_kernel(_reverb._freeverb_kernel.func, x, [0.0, 1.0])
    ref = _reverb_ref(x, [0.0, 1.0])
    assert len(got) == len(ref) == 2
    for g, r in zip(got, ref):
        assert g.shape == r.shape == x.shape
        assert float(r.abs().max()) > 1e-3  # the combs' first echoes are inside the window
        torch.testing.assert_close(g, r, rtol=0, atol=1e-12)


def test_reverb_kernel_impulse_is_comb_delay() -> None:
    # the first nonzero output of an impulse comes after the shortest comb delay: no
    # sample of the wet signal is earlier than SoX's delay lines allow
    x = torch.zeros(1, 600, dtype=torch.float64)
    x[0, 0] = 1.0
    (y,) = _reverb_kernel(_reverb._freeverb_kernel.func, x, [0.0])
    combs, _ = _reverb._sizes(16000.0, 0.9, 0.0)
    first = int(torch.nonzero(y[0]).min())
    assert first == min(combs)


@needs_numba
def test_reverb_compiled_matches_fft_path_long() -> None:
    x = _signal(2, 20000, seed=2)
    kernel = _reverb._freeverb_kernel.compiled()
    got = _reverb_kernel(kernel, x, [0.0, 1.0])
    ref = _reverb_ref(x, [0.0, 1.0])
    for g, r in zip(got, ref):
        # the FFT path cuts the impulse response below -140 dB
        assert float((g - r).abs().max()) <= 1e-7 * float(r.abs().max())


def test_biquad_kernel_python_body_matches_lfilter() -> None:
    x = _signal(2, 500, seed=3) * 2.0**31
    b = [0.2, -0.35, 0.2]
    a = [1.0, -1.6, 0.7]
    out = np.empty((2, 500))
    _iir._biquad_kernel.func(x.numpy(), b[0], b[1], b[2], a[1], a[2], out)
    ref = lfilter(x, a, b, clamp=False)
    torch.testing.assert_close(torch.from_numpy(out), ref, rtol=1e-12, atol=1e-12 * float(ref.abs().max()))


@needs_numba
@pytest.mark.parametrize(("b", "a"), [([0.2, -0.35, 0.2], [1.3, -1.6, 0.7]), ([0.5, 0.5], [1.0, -0.2]), ([0.9], [1.0])])
def test_iir_filter_compiled_matches_lfilter(b: list[float], a: list[float]) -> None:
    x = _signal(1, 30000, seed=4).reshape(1, 1, -1) * 2.0**31
    got = _iir.iir_filter(x, b, a)
    ref = lfilter(x, a, b, clamp=False)
    assert got.shape == x.shape
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-9 * float(ref.abs().max()))


def _without_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(JitKernel, "compiled", lambda self: None)


CHAINS = [  # (chain, channels)
    ([["gain", "-3"], ["highpass", "100"], ["reverb", "50"]], 1),
    ([["reverb", "-w", "40", "30", "60", "50", "10"]], 2),
    ([["lowpass", "-1", "3000"], ["bass", "+4"], ["treble", "-3"], ["bandpass", "1k", "2q"]], 2),
]


@needs_numba
@pytest.mark.parametrize(("chain", "channels"), CHAINS, ids=lambda c: "-".join(e[0] for e in c) if isinstance(c, list) else str(c))
def test_chain_same_with_and_without_kernels(chain: list[list[str]], channels: int, monkeypatch: pytest.MonkeyPatch) -> None:
    t = torch.arange(24000, dtype=torch.float64) / 16000
    x = torch.stack([0.3 * torch.sin(2 * math.pi * (220 + 110 * c) * t) * torch.exp(-3 * t) for c in range(channels)])
    x = x.to(torch.float32)
    fast, rate = apply_effects_tensor(x, 16000, chain)
    _without_kernels(monkeypatch)
    slow, rate2 = apply_effects_tensor(x, 16000, chain)
    assert rate == rate2 == 16000
    assert fast.shape == slow.shape == x.shape
    # float32 output: one rounding step apart at most
    torch.testing.assert_close(fast, slow, rtol=0, atol=2.0**-23)


def test_envelope_kernel_python_body_matches_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaldibridge.sox import _compand

    rng = np.random.default_rng(5)
    levels = np.abs(rng.standard_normal(3000)) * np.repeat(rng.uniform(0, 1, 30), 100)
    out = np.empty_like(levels)
    _compand._envelope_kernel.func(levels, 0.3, 0.01, 0.5, out)
    _without_kernels(monkeypatch)
    ref = _compand._envelope(levels, 0.3, 0.01, 0.5)
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=0)
    # the pump rises faster than it falls: it follows the bursts from below
    assert out.max() <= levels.max() and out.min() >= 0


def test_phaser_and_flanger_python_bodies_match_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaldibridge.sox import _mod

    x = _signal(2, 800, seed=6) * 2.0**31
    fl = _mod.Flanger("flanger", ["1", "3", "-40", "71", "2", "triangle", "25", "quad"])
    delay = np.linspace(3.2, 40.7, 800)
    int_d = np.floor(delay).astype(np.int64)
    frac = delay - np.floor(delay)
    out_f = np.empty((2, 800))
    _mod._flanger_kernel.func(x.numpy(), int_d, frac, 52, 0.6, 0.3, fl.feedback, True, out_f)
    _without_kernels(monkeypatch)
    ref_f = fl._loop(x.numpy(), int_d, frac, 52, 0.6, 0.3, True)
    np.testing.assert_allclose(out_f, ref_f, rtol=1e-13, atol=1e-13 * np.abs(ref_f).max())
    ph = _mod.Phaser("phaser", ["0.4", "0.74", "3", "0.5", "0.5", "-t"])
    st = _mod.Stream(x.reshape(1, 2, 800) / 2.0**31, 16000.0, 1600)
    ref_p = ph.apply(st, None).x.reshape(2, 800).numpy() * 2.0**31  # type: ignore[arg-type]
    # the effect's own table at 16 kHz: 3 ms -> 48 samples, 0.5 Hz -> 32000 entries
    mod16 = np.asarray(_mod.wave_table("triangle", 32000, 1.0, 48.0, math.pi / 2, True), dtype=np.int64)
    out_p = np.empty((2, 800))
    _mod._phaser_kernel.func(x.numpy(), mod16, 48, 0.4, 0.5, 0.74, out_p)
    np.testing.assert_allclose(out_p, ref_p, rtol=1e-12, atol=1e-12 * np.abs(ref_p).max())


LOOP_CHAINS = [  # effects whose fallback is a Python loop: short signals
    ([["phaser", "0.6", "0.66", "3", "0.6", "2", "-s"]], 2),
    ([["flanger", "0", "2", "50", "71", "0.5", "sine", "25", "lin"]], 2),
    ([["flanger", "1", "3", "-60", "50", "1", "tri", "50", "quad"]], 1),
    ([["compand", "0.02,0.15", "6:-70,-60,-20", "-5", "-90", "0.01"]], 2),
    ([["mcompand", "0.005,0.1 -47,-40,-34,-34,-17,-33", "1000", "0.003,0.05 -47,-40,-34,-34,-15,-33"]], 1),
]


@needs_numba
@pytest.mark.parametrize(("chain", "channels"), LOOP_CHAINS, ids=lambda c: c[0][0] if isinstance(c, list) else str(c))
def test_loop_effects_same_with_and_without_kernels(chain: list[list[str]], channels: int, monkeypatch: pytest.MonkeyPatch) -> None:
    g = torch.Generator().manual_seed(7)
    t = torch.arange(6000, dtype=torch.float64) / 16000
    burst = (torch.sin(2 * math.pi * 3 * t) > 0).to(torch.float64)
    x = torch.stack([0.5 * torch.sin(2 * math.pi * (300 + 200 * c) * t) * burst + 0.01 * torch.randn(6000, generator=g, dtype=torch.float64)
                     for c in range(channels)]).unsqueeze(0).repeat(2, 1, 1).to(torch.float32)
    fast, _ = apply_effects_tensor(x, 16000, chain)
    _without_kernels(monkeypatch)
    slow, _ = apply_effects_tensor(x, 16000, chain)
    assert fast.shape == slow.shape
    assert float(slow.abs().max()) > 1e-3
    torch.testing.assert_close(fast, slow, rtol=0, atol=2.0**-23)


@pytest.mark.parametrize("effect", [["highpass", "100"], ["reverb"], ["phaser"], ["flanger", "0", "2", "50"], ["compand", "0.02,0.15", "6:-70,-60,-20"]])
@pytest.mark.parametrize("shape", [(1, 0), (2, 1, 0)])
def test_kernel_effects_accept_empty_input(effect: list[str], shape: tuple[int, ...]) -> None:
    y, rate = apply_effects_tensor(torch.zeros(shape), 16000, [effect])
    assert rate == 16000
    assert y.shape == shape
