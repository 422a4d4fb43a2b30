"""Interoperability with kaldiio and kaldi-io (test-only peers)."""

from __future__ import annotations

import importlib
import io
import os
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.kaldi.table import SequentialTableReader, TableWriter, read_mat

kaldiio = pytest.importorskip("kaldiio")

RNG = np.random.default_rng(1)


@pytest.fixture()
def kaldi_io() -> Iterator[object]:
    """kaldi-io prints a banner and rewrites PATH on import: contain both."""
    saved = {k: os.environ.get(k) for k in ("PATH", "KALDI_ROOT")}
    try:
        with redirect_stdout(io.StringIO()):
            mod = importlib.import_module("kaldi_io")
        yield mod
    except ImportError:
        pytest.skip("kaldi-io is not installed")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _data() -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)  # same values on every call
    return {
        "matrix": {f"u{i}": rng.standard_normal((5 + i, 4)).astype(np.float32) for i in range(3)},
        "double_matrix": {"d": rng.standard_normal((3, 2))},
        "vector": {"v": rng.standard_normal(6).astype(np.float32)},
        "double_vector": {"w": rng.standard_normal(3)},
        "int_vector": {"i": np.array([3, -1, 7], np.int32)},
    }


@pytest.mark.parametrize("holder", ["matrix", "double_matrix", "vector", "double_vector", "int_vector"])
@pytest.mark.parametrize("text", [False, True])
def test_kaldiio_reads_ours(tmp_path: Path, holder: str, text: bool) -> None:
    if text and holder == "int_vector":
        pytest.skip("kaldiio has no text int-vector reader")
    data = _data()[holder]
    ark, scp = tmp_path / "a.ark", tmp_path / "a.scp"
    with TableWriter(f"ark,scp{',t' if text else ''}:{ark},{scp}", holder) as w:
        for k, v in data.items():
            w.write(k, v)
    got = dict(kaldiio.load_ark(str(ark)))
    by_scp = kaldiio.load_scp(str(scp))
    for k, v in data.items():
        if text:
            np.testing.assert_allclose(got[k], v, rtol=1e-6)
        else:
            np.testing.assert_array_equal(got[k], v)
            np.testing.assert_array_equal(by_scp[k], v)


@pytest.mark.parametrize("method", range(1, 8))
def test_kaldiio_reads_our_compressed(tmp_path: Path, method: int) -> None:
    m = RNG.uniform(0, 1, (30, 6)).astype(np.float32)
    with TableWriter(f"ark:{tmp_path}/c.ark", "compressed_matrix", method=method) as w:
        w.write("c", m)
    ours = read_mat(f"{tmp_path}/c.ark:2")
    theirs = dict(kaldiio.load_ark(str(tmp_path / "c.ark")))["c"]
    # kaldiio's decoder is not bit-exact (float rounding); within a quantization step.
    np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=1e-5)


def test_we_read_kaldiio(tmp_path: Path) -> None:
    m_only = _data()["matrix"]
    kaldiio.save_ark(str(tmp_path / "m.ark"), m_only, scp=str(tmp_path / "m.scp"))
    for rs in (f"ark:{tmp_path}/m.ark", f"scp:{tmp_path}/m.scp"):
        got = dict(SequentialTableReader(rs))
        for k, v in m_only.items():
            np.testing.assert_array_equal(got[k], v)
    kaldiio.save_ark(str(tmp_path / "t.ark"), m_only, text=True)
    got = dict(SequentialTableReader(f"ark:{tmp_path}/t.ark"))
    for k, v in m_only.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-5)
    kaldiio.save_ark(str(tmp_path / "v.ark"), _data()["vector"])
    np.testing.assert_array_equal(dict(SequentialTableReader(f"ark:{tmp_path}/v.ark", "vector"))["v"], _data()["vector"]["v"])


@pytest.mark.parametrize("method", [1, 2, 3, 5])
def test_we_read_kaldiio_compressed(tmp_path: Path, method: int) -> None:
    m = RNG.standard_normal((20, 5)).astype(np.float32)
    kaldiio.save_ark(str(tmp_path / "c.ark"), {"c": m}, compression_method=method)
    theirs = dict(kaldiio.load_ark(str(tmp_path / "c.ark")))["c"]
    ours = dict(SequentialTableReader(f"ark:{tmp_path}/c.ark"))["c"]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.abs(ours - m).max() < (m.max() - m.min()) / 30


def test_kaldi_io_both_ways(tmp_path: Path, kaldi_io) -> None:  # noqa: ANN001
    mats = _data()["matrix"]
    with TableWriter(f"ark:{tmp_path}/a.ark") as w:
        for k, v in mats.items():
            w.write(k, v)
    got = dict(kaldi_io.read_mat_ark(str(tmp_path / "a.ark")))
    for k, v in mats.items():
        np.testing.assert_array_equal(got[k], v)
    with TableWriter(f"ark:{tmp_path}/v.ark", "vector") as w:
        w.write("v", _data()["vector"]["v"])
    np.testing.assert_array_equal(dict(kaldi_io.read_vec_flt_ark(str(tmp_path / "v.ark")))["v"], _data()["vector"]["v"])
    with TableWriter(f"ark:{tmp_path}/i.ark", "int_vector") as w:
        w.write("i", np.array([4, 5], np.int32))
    assert dict(kaldi_io.read_vec_int_ark(str(tmp_path / "i.ark")))["i"].tolist() == [4, 5]
    post = [[(1, 0.5), (2, 0.5)], [(3, 1.0)]]
    with TableWriter(f"ark:{tmp_path}/p.ark", "posterior") as w:
        w.write("p", post)
    (pk, pv), = list(kaldi_io.read_post_ark(str(tmp_path / "p.ark")))
    assert pk == "p" and [[(int(a), float(b)) for a, b in f] for f in pv] == post

    with open(tmp_path / "k.ark", "wb") as f:
        for k, v in mats.items():
            kaldi_io.write_mat(f, v, key=k)
        kaldi_io.write_vec_flt(f, _data()["vector"]["v"], key="vv")
    seq = SequentialTableReader(f"ark:{tmp_path}/k.ark")  # matrices first, then the vector
    ours = dict(next(seq) for _ in mats)
    seq.close()
    for k, v in mats.items():
        np.testing.assert_array_equal(ours[k], v)
    with open(tmp_path / "ki.ark", "wb") as f:
        kaldi_io.write_vec_int(f, np.array([9, 8, 7], np.int32), key="x")
    assert dict(SequentialTableReader(f"ark:{tmp_path}/ki.ark", "int_vector"))["x"].tolist() == [9, 8, 7]
    post2 = [[(1, 0.5), (2, 0.5)], [(3, 0.75), (4, 0.25)]]  # kaldi-io wants equal frame sizes
    with open(tmp_path / "kp.ark", "wb") as f:
        kaldi_io.write_post(f, post2, key="y")
    assert dict(SequentialTableReader(f"ark:{tmp_path}/kp.ark", "posterior"))["y"] == post2


def test_wave_archives_both_ways(tmp_path: Path) -> None:
    from kaldibridge.kaldi import wave
    rng = np.random.default_rng(3)
    samples = rng.integers(-20000, 20000, size=(1, 800)).astype(np.float32)
    with TableWriter(f"ark:{tmp_path}/w.ark", "wave") as w:
        w.write("utt", wave.WaveData(samp_freq=16000.0, data=samples))
    rate, theirs = dict(kaldiio.load_ark(str(tmp_path / "w.ark")))["utt"]
    assert rate == 16000
    np.testing.assert_array_equal(theirs, samples[0].astype(np.int16))
    kaldiio.save_ark(str(tmp_path / "k.ark"), {"a": (8000, samples[0].astype(np.int16))})
    got = dict(SequentialTableReader(f"ark:{tmp_path}/k.ark", "wave"))["a"]
    assert got.samp_freq == 8000
    np.testing.assert_array_equal(got.data, samples)
