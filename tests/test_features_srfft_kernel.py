"""The compiled split-radix FFT + power kernel gives the numpy path's bits, and the policy
that picks between them (threshold, ``KALDIBRIDGE_NO_NUMBA``) behaves as documented."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.functional import _srfft_kernels as K
from kaldibridge.functional.spectral import half_complex_power_planar, recursive_twiddles
from kaldibridge.functional.srfft import split_radix_fft_planar

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", ROOT / ".." / "shared" / "golden")).resolve()
FEATURE_TOOLS = ("compute-fbank-feats", "compute-mfcc-feats", "compute-spectrogram-feats", "compute-plp-feats")

needs_numba = pytest.mark.skipif(
    not K.compiled_path_available(), reason="numba not installed or disabled: only the numpy path exists"
)


def _twiddles(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    q = n_fft // 4
    return tuple(np.ascontiguousarray(t, dtype=np.float32).reshape(q, 1) for t in recursive_twiddles(n_fft))


def _numpy_power(x: np.ndarray, n_fft: int, power: bool) -> np.ndarray:
    out = np.empty((n_fft // 2 + 1, x.shape[2]), dtype=np.float32)
    y = split_radix_fft_planar(x.copy())
    return half_complex_power_planar(y, _twiddles(n_fft), out, power)


@needs_numba
@pytest.mark.parametrize("n_fft", [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192])
@pytest.mark.parametrize("power", [True, False])
def test_compiled_equals_numpy_bitwise(n_fft: int, power: bool) -> None:
    rng = np.random.default_rng(n_fft + power)
    frames = 71  # not a multiple of the kernel's column block
    x = (rng.standard_normal((2, n_fft // 2, frames)) * rng.uniform(1e-3, 3e4, frames)).astype(np.float32)
    x[:, :, 0] = 0.0  # silence
    x[:, :, 1] = 1.0  # DC only
    expected = _numpy_power(x, n_fft, power)
    got = np.full_like(expected, np.nan)
    K.split_radix_power_compiled(x.copy(), _twiddles(n_fft), got, power)
    assert np.array_equal(got, expected)


@needs_numba
@pytest.mark.slow
def test_compiled_equals_numpy_bitwise_fuzz() -> None:
    count = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))
    rng = np.random.default_rng(2026)
    for _ in range(max(1, count // 20)):
        n_fft = 1 << int(rng.integers(2, 13))
        frames = int(rng.integers(1, 200))
        scale = 10.0 ** rng.uniform(-30, 30, frames)  # tiny to huge, subnormals included
        x = (rng.standard_normal((2, n_fft // 2, frames)) * scale).astype(np.float32)
        expected = _numpy_power(x, n_fft, True)
        got = np.empty_like(expected)
        K.split_radix_power_compiled(x, _twiddles(n_fft), got)
        assert np.array_equal(got, expected, equal_nan=True), (n_fft, frames)


def test_dispatch_follows_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 256, 40)).astype(np.float32)
    expected = _numpy_power(x, 512, True)
    out = np.empty_like(expected)
    monkeypatch.setattr(K, "FORCE_PATH", "numpy")
    K.split_radix_power_planar(x.copy(), _twiddles(512), out)
    assert K.last_fft_path() == "numpy"
    assert np.array_equal(out, expected)
    monkeypatch.setattr(K, "FORCE_PATH", None)
    monkeypatch.setattr(K, "FFT_COMPILE_AFTER_FRAMES", 0)
    out[...] = np.nan
    K.split_radix_power_planar(x.copy(), _twiddles(512), out)
    assert K.last_fft_path() == ("numba" if K.compiled_path_available() else "numpy")
    assert np.array_equal(out, expected)


def test_float64_takes_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(K, "FORCE_PATH", "numba")
    x = np.random.default_rng(6).standard_normal((2, 64, 9))
    out = np.empty((65, 9))
    K.split_radix_power_planar(x.copy(), _twiddles(128), out)
    assert K.last_fft_path() == "numpy"
    z = np.empty((9, 128))
    z[:, 0::2], z[:, 1::2] = x[0].T, x[1].T
    np.testing.assert_allclose(out, (np.abs(np.fft.rfft(z)) ** 2).T, rtol=1e-5, atol=1e-9)


def _run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "KALDIBRIDGE_NO_NUMBA"}
    full.update(env)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


_SHORT_RUN = """
import sys, torch
import kaldibridge.kaldi as kk
from kaldibridge.functional import _srfft_kernels as K
{setup}
kk.fbank(torch.randn(16000 * {seconds}) * 1000, dither=0.0)
print(K.last_fft_path(), "numba" in sys.modules)
"""


def test_short_run_does_not_load_numba() -> None:
    out = _run(_SHORT_RUN.format(setup="", seconds=3))
    assert out == "numpy False"


def test_no_numba_env_forces_numpy() -> None:
    out = _run(_SHORT_RUN.format(setup="K.FFT_COMPILE_AFTER_FRAMES = 0", seconds=1), KALDIBRIDGE_NO_NUMBA="1")
    assert out.split()[0] == "numpy"


@needs_numba
def test_threshold_from_environment_switches_to_compiled() -> None:
    # 1 s of audio is 98 frames, past a threshold of 50
    out = _run(_SHORT_RUN.format(setup="", seconds=1), KALDIBRIDGE_FFT_COMPILE_AFTER_FRAMES="50")
    assert out == "numba True"


def _feature_cases() -> list[dict]:
    manifest = GOLDEN / "kaldi" / "manifest.json"
    if not manifest.exists():
        return []
    cases = json.loads(manifest.read_text())
    # the dither case draws random numbers: its two runs differ whatever the FFT path
    return [c for c in cases if c["tool"] in FEATURE_TOOLS and c["name"] != "fbank_dither_default"]


@needs_numba
@pytest.mark.skipif(not _feature_cases(), reason="golden data (../shared/golden) not present")
def test_golden_feature_cases_same_bytes_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kaldibridge.__main__ import main

    monkeypatch.chdir(GOLDEN)
    compared = 0
    for case in _feature_cases():
        outputs = {}
        for path in ("numpy", "numba"):
            monkeypatch.setattr(K, "FORCE_PATH", path)
            monkeypatch.setattr(K, "_last_path", "none")
            out_dir = tmp_path / case["name"] / path
            out_dir.mkdir(parents=True)
            argv = [a.replace("{out}", str(out_dir)) for a in case["argv"]]
            code = main([case["tool"], *argv])
            capsys.readouterr()
            assert code == case["exit_code"] or case["name"].startswith("err_"), shlex.join(argv)
            outputs[path] = {  # scp files name the output folder
                p.name: p.read_bytes().replace(str(out_dir).encode(), b"{out}") for p in sorted(out_dir.iterdir())
            }
        assert outputs["numpy"] == outputs["numba"], case["name"]
        compared += K.last_fft_path() == "numba" and bool(outputs["numba"])
    assert compared >= 50  # cases where the compiled kernel ran (the others: no frames, not a power of two)
