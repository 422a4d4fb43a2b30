"""apply-cmvn --norm-means=false echoes its input; compressed matrices stay compressed.

Kaldi reads and writes ``GeneralMatrix`` objects on this path ("don't even uncompress"),
so CM/CM2/CM3 entries come out byte for byte, full matrices come out as float ``FM``,
text output shows the decompressed values and a range of a compressed matrix is a
plain matrix. The expected bytes are assembled here with ``struct``, not by the code
under test.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.cli.registry import load_tool
from kaldibridge.kaldi.table import CompressedMatrix, SequentialTableReader, decompress


GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))


def _cm_bytes(fmt: int, mn: float, rng: float, rows: int, cols: int, payload: bytes) -> bytes:
    token = {1: b"CM ", 2: b"CM2 ", 3: b"CM3 "}[fmt]
    return b"\0B" + token + struct.pack("<ffii", mn, rng, rows, cols) + payload


def _fm_bytes(m: np.ndarray) -> bytes:
    rows, cols = m.shape
    return b"\0BFM \x04" + struct.pack("<i", rows) + b"\x04" + struct.pack("<i", cols) + m.astype("<f4").tobytes()


def _dm_bytes(m: np.ndarray) -> bytes:
    rows, cols = m.shape
    return b"\0BDM \x04" + struct.pack("<i", rows) + b"\x04" + struct.pack("<i", cols) + m.astype("<f8").tobytes()


def _entries() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(7)
    # Arbitrary payloads: recompressing the decoded values would not give these bytes back.
    cm1 = _cm_bytes(1, -3.0, 7.5, 5, 3, rng.integers(0, 256, 3 * (8 + 5), dtype=np.uint8).tobytes())
    cm2 = _cm_bytes(2, -1.0, 2.0, 4, 2, rng.integers(0, 256, 2 * 4 * 2, dtype=np.uint8).tobytes())
    cm3 = _cm_bytes(3, 0.5, 10.0, 3, 4, rng.integers(0, 256, 3 * 4, dtype=np.uint8).tobytes())
    fm = _fm_bytes(rng.standard_normal((2, 3)).astype(np.float32))
    return [("utt-cm1", cm1), ("utt-fm", fm), ("utt-cm2", cm2), ("utt-cm3", cm3)]


def _archive(entries: list[tuple[str, bytes]]) -> bytes:
    return b"".join(k.encode() + b" " + v for k, v in entries)


def run(*argv: str) -> int:
    return load_tool("apply-cmvn").main(list(argv))


@pytest.fixture
def stats_file(tmp_path: Path) -> str:
    # never read on this path, but it must be a valid argument
    path = tmp_path / "stats.mat"
    path.write_bytes(_dm_bytes(np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 0.0]])))
    return str(path)


def test_compressed_and_float_entries_are_copied_byte_for_byte(tmp_path: Path, stats_file: str, capsys) -> None:
    src = tmp_path / "in.ark"
    src.write_bytes(_archive(_entries()))
    out = tmp_path / "out.ark"
    assert run("--norm-means=false", stats_file, f"ark:{src}", f"ark:{out}") == 0
    assert out.read_bytes() == src.read_bytes()
    assert "Copied 4 utterances." in capsys.readouterr().err


def test_double_input_becomes_float_and_empty_compressed_becomes_empty_fm(tmp_path: Path, stats_file: str) -> None:
    m = np.array([[0.1, -2.5], [3.0, 1e-3], [7.0, 8.25]])
    empty_cm = _cm_bytes(1, 0.0, 0.0, 0, 0, b"")
    src = tmp_path / "in.ark"
    src.write_bytes(_archive([("d", _dm_bytes(m)), ("e", empty_cm)]))
    out = tmp_path / "out.ark"
    assert run("--norm-means=false", stats_file, f"ark:{src}", f"ark:{out}") == 0
    expected = _archive([("d", _fm_bytes(m.astype(np.float32))), ("e", _fm_bytes(np.zeros((0, 0))))])
    assert out.read_bytes() == expected


def test_text_output_shows_decompressed_values(tmp_path: Path, stats_file: str) -> None:
    entries = _entries()
    src = tmp_path / "in.ark"
    src.write_bytes(_archive(entries))
    out = tmp_path / "out.txt"
    assert run("--norm-means=false", stats_file, f"ark:{src}", f"ark,t:{out}") == 0
    text = out.read_bytes()
    assert b"CM" not in text and b"\0B" not in text
    got = dict(SequentialTableReader(f"ark:{out}"))
    ref = dict(SequentialTableReader(f"ark:{src}"))  # the decoded values
    assert list(got) == [k for k, _ in entries]
    for k, v in ref.items():
        # text keeps 7 significant digits
        np.testing.assert_allclose(got[k], v, rtol=1e-6, atol=1e-6)


def test_range_of_compressed_matrix_is_written_as_plain_matrix(tmp_path: Path, stats_file: str) -> None:
    cm3 = dict(_entries())["utt-cm3"]
    ark = tmp_path / "in.ark"
    ark.write_bytes(b"r " + cm3)
    (tmp_path / "in.scp").write_text(f"whole {ark}:2\nrows {ark}:2[1:2]\n")
    out = tmp_path / "out.ark"
    assert run("--norm-means=false", stats_file, f"scp:{tmp_path / 'in.scp'}", f"ark:{out}") == 0
    mn, rng, rows, cols = struct.unpack_from("<ffii", cm3, 6)
    full = decompress(CompressedMatrix(3, mn, rng, rows, cols, cm3[6 + 16 :]))
    assert out.read_bytes() == b"whole " + cm3 + b"rows " + _fm_bytes(full[1:3])


def test_variance_without_means_is_fatal(tmp_path: Path, stats_file: str) -> None:
    src = tmp_path / "in.ark"
    src.write_bytes(_archive(_entries()))
    assert run("--norm-means=false", "--norm-vars=true", stats_file, f"ark:{src}", f"ark:{tmp_path / 'o.ark'}") == 255


@pytest.mark.parametrize("case", [f"copy_feats_compress_m{m}" for m in range(1, 8)] + ["copy_feats_compress_small_m3"])
def test_kaldi_compressed_archives_pass_through_unchanged(case: str, tmp_path: Path, stats_file: str) -> None:
    src = GOLDEN / "kaldi" / case / "out.ark"  # written by Kaldi's copy-feats --compress
    if not src.exists():
        pytest.skip("golden data not present")
    out = tmp_path / "out.ark"
    assert run("--norm-means=false", stats_file, f"ark:{src}", f"ark:{out}") == 0
    assert out.read_bytes() == src.read_bytes()
