"""The compiled ``CM`` kernels against the numpy path and Kaldi's own bytes.

Both paths of :mod:`kaldibridge.kaldi.table.compressed` run on the same inputs and must
give the same bits; the golden archives (written and decoded by Kaldi's copy-feats) are
checked through each path; the start-up policy (no numba for small amounts of data) is
checked in fresh processes.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaldibridge.kaldi.table import SequentialTableReader, TableWriter
from kaldibridge.kaldi.table import compressed as cmod
from kaldibridge.kaldi.table.compressed import CompressedMatrix, compress, decompress, iter_cm_batch

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
K = GOLDEN / "kaldi"

HAVE_KERNELS = cmod.cm_kernels_available()
needs_kernels = pytest.mark.skipif(
    not HAVE_KERNELS, reason="numba not installed or KALDIBRIDGE_NO_NUMBA set: only the numpy path exists"
)
PATHS = ["numpy", pytest.param("compiled", marks=needs_kernels)]


def _set_path(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    if path == "numpy":
        monkeypatch.setattr(cmod, "_cm_kernel", lambda kernel, nbytes: None)
    else:
        monkeypatch.setattr(cmod, "CM_COMPILE_AFTER_BYTES", 0)


def _both(monkeypatch: pytest.MonkeyPatch, fn):  # type: ignore[no-untyped-def]
    """``fn()`` on the numpy path, then on the compiled path."""
    with monkeypatch.context() as m:
        _set_path(m, "numpy")
        a = fn()
    with monkeypatch.context() as m:
        _set_path(m, "compiled")
        b = fn()
    return a, b


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _matrices(seed: int) -> list[np.ndarray]:
    """Speech-like values and the awkward cases: ties, constant columns, -0.0, tiny and
    huge ranges, subnormals, fewer than five rows."""
    rng = np.random.default_rng(seed)
    out = [(rng.standard_normal((int(rng.integers(9, 200)), 13)) * 3 + 5).astype(np.float32) for _ in range(6)]
    out.append(np.round(rng.standard_normal((40, 7)) * 2).astype(np.float32))  # many ties
    c = rng.standard_normal((30, 5)).astype(np.float32)
    c[:, 2] = 1.5  # a constant column
    out.append(c)
    z = np.zeros((12, 4), dtype=np.float32)
    z[3, 1] = -0.0
    z[7, 2] = 1.0
    out.append(z)
    out.append((rng.standard_normal((20, 6)) * 1e-39).astype(np.float32))  # subnormals
    out.append((rng.standard_normal((25, 3)) * 1e30).astype(np.float32))
    out.append(np.full((10, 3), 7.0, dtype=np.float32))  # constant matrix
    for n in range(1, 5):
        out.append(rng.standard_normal((n, 6)).astype(np.float32))
    out.append(rng.standard_normal((300, 1)).astype(np.float32))
    return out


@needs_kernels
@pytest.mark.parametrize("method", [1, 2])
def test_encode_paths_identical(monkeypatch: pytest.MonkeyPatch, method: int) -> None:
    for m in _matrices(1):
        a, b = _both(monkeypatch, lambda m=m: compress(m, method))
        assert a.fmt == b.fmt
        assert a.to_bytes() == b.to_bytes(), m.shape


@needs_kernels
def test_decode_paths_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    cms = [compress(m, 2) for m in _matrices(2)]
    for cm in cms:
        a, b = _both(monkeypatch, lambda cm=cm: decompress(cm))
        assert a.shape == b.shape == cm.shape
        assert b.flags.c_contiguous and b.flags.writeable
        assert np.array_equal(_bits(a), _bits(b))
    items = [(cm.min_value, cm.range, cm.num_rows, cm.num_cols, cm.payload) for cm in cms]
    for dtype in (np.float32, np.float64):
        a, b = _both(monkeypatch, lambda dtype=dtype: list(iter_cm_batch(items, dtype)))
        assert len(a) == len(b) == len(items)
        for x, y, cm in zip(a, b, cms):
            assert x.dtype == y.dtype == dtype
            assert y.shape == cm.shape
            assert np.array_equal(_bits(x), _bits(y))


@needs_kernels
def test_decode_garbage_headers_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random payloads and global headers (NaN, inf, subnormal, huge) decode alike."""
    rng = np.random.default_rng(3)
    specials = [np.nan, np.inf, -np.inf, 1e-42, -3e38, 3e38, 0.0, -0.0, 1.0]
    for i in range(60):
        rows, cols = int(rng.integers(1, 40)), int(rng.integers(1, 9))
        payload = rng.integers(0, 256, cols * (8 + rows), dtype=np.uint8).tobytes()
        if i % 3 == 0:
            mn, rg = float(rng.choice(specials)), float(rng.choice(specials))
        else:
            mn, rg = (float(x) for x in rng.standard_normal(2).astype(np.float32) * 10)
        cm = CompressedMatrix(1, mn, rg, rows, cols, payload)
        a, b = _both(monkeypatch, lambda cm=cm: decompress(cm))
        assert np.array_equal(_bits(a), _bits(b)), (mn, rg)


@needs_kernels
def test_encode_values_outside_quantiles_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quantization kernel alone, with values outside and on the quantiles and zero
    segment widths (the clamps and C's int conversion)."""
    from kaldibridge.kaldi.table._cm_kernels import cm_encode_kernel

    rng = np.random.default_rng(4)
    for _ in range(30):
        rows, cols = int(rng.integers(1, 50)), int(rng.integers(1, 6))
        p = np.sort(rng.standard_normal((cols, 4)).astype(np.float32), axis=1)
        p[rng.random((cols, 4)) < 0.2] = 0.0
        p = np.sort(p, axis=1)
        mat = rng.standard_normal((rows, cols)).astype(np.float32) * 3
        mat[rng.random((rows, cols)) < 0.2] = p[0, 1]
        got = np.empty((cols, rows), dtype=np.uint8)
        cm_encode_kernel.compiled()(mat, p, got)
        want = cmod._float_to_char_exact(np.ascontiguousarray(mat.T), p)
        assert np.array_equal(got, want)


@settings(max_examples=int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200")) // 4 or 1, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.integers(1, 60),
    cols=st.integers(1, 10),
    scale=st.sampled_from([1e-30, 1e-3, 1.0, 1e3, 1e30]),
    seed=st.integers(0, 2**32 - 1),
)
@needs_kernels
def test_roundtrip_paths_identical_property(
    monkeypatch: pytest.MonkeyPatch, rows: int, cols: int, scale: float, seed: int
) -> None:
    m = (np.random.default_rng(seed).standard_normal((rows, cols)) * scale).astype(np.float32)
    a, b = _both(monkeypatch, lambda: compress(m, 2))
    assert a.to_bytes() == b.to_bytes()
    x, y = _both(monkeypatch, lambda: decompress(a))
    assert np.array_equal(_bits(x), _bits(y))


golden = pytest.mark.skipif(not K.is_dir(), reason="golden data not available at ../shared/golden")


@golden
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", [1, 2])
def test_kaldi_bytes_each_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, method: int) -> None:
    """Kaldi's copy-feats --compress output, and its decoding, through each path."""
    _set_path(monkeypatch, path)
    out = tmp_path / "c.ark"
    with SequentialTableReader(f"ark:{K}/fbank_default/out.ark") as r, TableWriter(
        f"ark:{out}", "compressed_matrix", method=method
    ) as w:
        for k, v in r:
            w.write(k, v)
    assert out.read_bytes() == (K / f"copy_feats_compress_m{method}" / "out.ark").read_bytes()
    dec = tmp_path / "d.ark"
    with SequentialTableReader(f"ark:{K}/copy_feats_compress_m{method}/out.ark") as r, TableWriter(f"ark:{dec}") as w:
        for k, v in r:
            w.write(k, v)
    assert dec.read_bytes() == (K / f"copy_feats_decompress_m{method}" / "out.ark").read_bytes()


_POLICY = """
import sys, numpy as np
from kaldibridge.kaldi.table import compressed as c
m = (np.random.default_rng(0).standard_normal((100, 40)) * 2).astype(np.float32)
c.decompress(c.compress(m, 2))
print("small", "numba" in sys.modules)
c.CM_COMPILE_AFTER_BYTES = 4 * m.size * 3
for _ in range(3):
    c.decompress(c.compress(m, 2))
print("large", "numba" in sys.modules)
"""


@pytest.mark.parametrize("no_numba", ["0", "1"])
def test_small_runs_do_not_load_numba(no_numba: str) -> None:
    env = {**os.environ, "KALDIBRIDGE_NO_NUMBA": no_numba}
    res = subprocess.run([sys.executable, "-c", _POLICY], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split()
    assert lines[:2] == ["small", "False"]
    has_numba = importlib.util.find_spec("numba") is not None
    expect = "True" if (no_numba == "0" and has_numba) else "False"
    assert lines[2:] == ["large", expect]
