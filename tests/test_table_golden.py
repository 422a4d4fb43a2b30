"""Table I/O against the real Kaldi outputs in ../shared/golden (byte-exact)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.kaldi.table import (
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    read_mat,
    write_mat,
)

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
K = GOLDEN / "kaldi"

pytestmark = pytest.mark.skipif(not K.is_dir(), reason="golden data not available at ../shared/golden")


def _copy(rspec: str, wspec: str, rholder: str = "matrix", wholder: str = "matrix", **kw) -> int:
    n = 0
    with SequentialTableReader(rspec, rholder) as r, TableWriter(wspec, wholder, **kw) as w:
        for k, v in r:
            w.write(k, v)
            n += 1
    return n


@pytest.mark.parametrize("method", range(1, 8))
def test_compress_byte_identical(tmp_path: Path, method: int) -> None:
    out = tmp_path / "out.ark"
    _copy(f"ark:{K}/fbank_default/out.ark", f"ark:{out}", wholder="compressed_matrix", method=method)
    assert out.read_bytes() == (K / f"copy_feats_compress_m{method}" / "out.ark").read_bytes()


@pytest.mark.parametrize("method", range(1, 8))
def test_compress_small_text_input_byte_identical(tmp_path: Path, method: int) -> None:
    case = K / f"copy_feats_compress_small_m{method}"
    out = tmp_path / "out.ark"
    _copy(f"ark,t:{case}/in.txt", f"ark:{out}", wholder="compressed_matrix", method=method)
    assert out.read_bytes() == (case / "out.ark").read_bytes()


@pytest.mark.parametrize("method", range(1, 8))
def test_decompress_matches_kaldi(tmp_path: Path, method: int) -> None:
    out = tmp_path / "out.ark"
    _copy(f"ark:{K}/copy_feats_compress_m{method}/out.ark", f"ark:{out}")
    assert out.read_bytes() == (K / f"copy_feats_decompress_m{method}" / "out.ark").read_bytes()
    txt = tmp_path / "out.txt"
    _copy(f"ark:{K}/copy_feats_compress_small_m{method}/out.ark", f"ark,t:{txt}")
    assert txt.read_bytes() == (K / f"copy_feats_decompress_small_m{method}" / "out.txt").read_bytes()


def test_binary_copy_identical(tmp_path: Path) -> None:
    out = tmp_path / "a.ark"
    assert _copy(f"ark:{K}/fbank_default/out.ark", f"ark:{out}") == 6
    assert out.read_bytes() == (K / "fbank_default" / "out.ark").read_bytes()


def test_text_archive_both_ways(tmp_path: Path) -> None:
    b = tmp_path / "b.ark"
    _copy(f"ark,t:{K}/fbank_text/out.txt", f"ark:{b}")
    assert b.read_bytes() == (K / "copy_feats_text_to_binary" / "out.ark").read_bytes()
    t = tmp_path / "t.txt"
    _copy(f"ark:{b}", f"ark,t:{t}")
    assert t.read_bytes() == (K / "fbank_text" / "out.txt").read_bytes()


def test_copy_matrix_text_and_back(tmp_path: Path) -> None:
    t = tmp_path / "c.txt"
    _copy(f"ark:{K}/cmvn_stats_utt/cmvn.ark", f"ark,t:{t}")  # copy-matrix reads as float
    assert t.read_bytes() == (K / "copy_matrix_to_text" / "cmvn.txt").read_bytes()
    b = tmp_path / "c.ark"
    _copy(f"ark,t:{K}/copy_matrix_to_text/cmvn.txt", f"ark:{b}")
    assert b.read_bytes() == (K / "copy_matrix_to_binary" / "cmvn.ark").read_bytes()


def test_double_matrix_reads_dm(tmp_path: Path) -> None:
    with SequentialTableReader(f"ark:{K}/cmvn_stats_utt/cmvn.ark", "double_matrix") as r:
        k, v = next(iter(r))
    assert v.dtype == np.float64 and v.shape[0] == 2
    # copy-matrix converts to float before printing (3629.062); the double itself is
    # 3629.0625878..., which float32 cannot hold.
    assert "%.7g" % v[0, 0] == "3629.063"
    assert np.float32(v[0, 0]) != v[0, 0]


def test_vectors_text_and_binary(tmp_path: Path) -> None:
    t = tmp_path / "v.txt"
    _copy(f"ark:{K}/compute_vad_default/vad.ark", f"ark,t:{t}", "vector", "vector")
    assert t.read_bytes() == (K / "copy_vector_to_text" / "vad.txt").read_bytes()
    b = tmp_path / "v.ark"
    _copy(f"ark,t:{K}/compute_vad_edge/vad.txt", f"ark:{b}", "vector", "vector")
    assert b.read_bytes() == (K / "copy_vector_to_binary" / "vad.ark").read_bytes()


def test_int_vector(tmp_path: Path) -> None:
    b = tmp_path / "i.ark"
    _copy(f"ark,t:{K}/copy_int_vector/in.txt", f"ark:{b}", "int_vector", "int_vector")
    assert b.read_bytes() == (K / "copy_int_vector" / "out.ark").read_bytes()
    with SequentialTableReader(f"ark:{b}", "int_vector") as r:
        got = dict(r)
    assert got["utt-a"].tolist() == [1, 2, 3, 4, 5, -6, 70000]
    assert got["utt-b"].tolist() == []


def test_scalar_tables(tmp_path: Path) -> None:
    t = tmp_path / "len.txt"
    with SequentialTableReader(f"ark:{K}/fbank_default/out.ark") as r, TableWriter(f"ark,t:{t}", "int") as w:
        for k, m in r:
            w.write(k, m.shape[0])
    assert t.read_bytes() == (K / "feat_to_len_per_utt" / "len.txt").read_bytes()
    with SequentialTableReader(f"ark,t:{K}/fbank_utt2dur/utt2dur", "float") as r:
        durs = dict(r)
    d = tmp_path / "utt2dur"
    with TableWriter(f"ark,t:{d}", "float") as w:
        for k, v in durs.items():
            w.write(k, v)
    assert d.read_bytes() == (K / "fbank_utt2dur" / "utt2dur").read_bytes()
    assert durs["spkA-001"] == pytest.approx(51278 / 16000)


def test_scp_and_ark_scp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)  # the scp holds paths relative to the golden root
    out = tmp_path / "o.ark"
    _copy(f"scp:{K}/fbank_ark_scp/feats.scp", f"ark:{out}")
    assert out.read_bytes() == (K / "copy_feats_from_scp" / "out.ark").read_bytes()
    ark, scp = tmp_path / "feats.ark", tmp_path / "feats.scp"
    _copy(f"ark:{K}/fbank_ark_scp/feats.ark", f"ark,scp:{ark},{scp}")
    assert ark.read_bytes() == (K / "fbank_ark_scp" / "feats.ark").read_bytes()
    expected = (K / "fbank_ark_scp" / "feats.scp").read_text().replace("kaldi/fbank_ark_scp/feats.ark", str(ark))
    assert scp.read_text() == expected


def test_single_object_text(tmp_path: Path) -> None:
    # copy-feats --binary=false kaldi/fbank_ark_scp/feats.ark:9 single.txt
    m = read_mat(f"{K}/fbank_ark_scp/feats.ark:9")
    out = tmp_path / "single.txt"
    write_mat(str(out), m, binary=False)
    assert out.read_bytes() == (K / "copy_feats_single_text" / "single.txt").read_bytes()


def test_htk_output(tmp_path: Path) -> None:
    out = tmp_path / "h.ark"
    with SequentialTableReader(f"ark:{K}/fbank_output_htk/out.ark", "htk_matrix") as r:
        entries = list(r)
    ref = dict(SequentialTableReader(f"ark:{K}/fbank_default/out.ark"))
    with TableWriter(f"ark:{out}", "htk_matrix") as w:
        for k, (m, header) in entries:
            assert header.samp_period == 100000 and header.parm_kind == 0o20007
            np.testing.assert_array_equal(m, ref[k])  # same features, HTK container
            w.write(k, ref[k])
    assert out.read_bytes() == (K / "fbank_output_htk" / "out.ark").read_bytes()


def test_random_access_ark_and_scp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    seq = dict(SequentialTableReader(f"ark:{K}/fbank_default/out.ark"))
    keys = list(seq)
    with RandomAccessTableReader(f"ark:{K}/fbank_default/out.ark") as ra:
        for k in reversed(keys):
            np.testing.assert_array_equal(ra[k], seq[k])
        assert "nope" not in ra
        assert ra.keys() == keys
    with RandomAccessTableReader(f"scp:{K}/fbank_ark_scp/feats.scp") as ra:
        np.testing.assert_array_equal(ra["spkC-001"], seq["spkC-001"])


def test_wave_archive_roundtrip(tmp_path: Path) -> None:
    out = tmp_path / "w.ark"
    n = _copy(f"ark:{K}/wav_copy_ark/wav.ark", f"ark:{out}", "wave", "wave")
    assert n > 0
    assert out.read_bytes() == (K / "wav_copy_ark" / "wav.ark").read_bytes()
