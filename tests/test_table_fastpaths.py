"""The table readers' fast paths give what the general parser gives, and fail the same way.

Fast paths under test: positioned reads for scp random access (``MatrixHolder.read_at``),
the whole-file script parser, runs of plain FM/DM entries read straight into their arrays,
and CM entries parsed from read windows and decoded lazily in batches.
"""

from __future__ import annotations

import io
import os
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.errors import FormatError, KaldiBridgeError, KaldiIOError
from kaldibridge.kaldi.table import (
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    compress,
    decompress,
    get_holder,
    read_script_file,
)
from kaldibridge.kaldi.table import compressed as C
from kaldibridge.kaldi.table.readers import _read_key
from kaldibridge.kaldi.table.xfilename import InputStream, open_rx

RNG = np.random.default_rng(3)


def _mats(n: int, cols: int = 7) -> dict[str, np.ndarray]:
    return {
        f"utt{i:03d}": (RNG.standard_normal((int(RNG.integers(1, 40)), cols)) * 3 + 1).astype(np.float32)
        for i in range(n)
    }


def _general(holder_name: str, path: Path) -> list[tuple[str, np.ndarray]]:
    """Entries read by the general (slow) parser: key, then holder.read."""
    holder = get_holder(holder_name)
    data = path.read_bytes()
    s = InputStream(io.BytesIO(data), str(path), size=len(data))
    out = []
    while True:
        k = _read_key(s, str(path))
        if k is None:
            return out
        out.append((k, holder.read(s)))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# ------------------------------------------------------------------ random access (pread)
@pytest.mark.parametrize("method", [None, 1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("holder", ["matrix", "double_matrix"])
def test_random_access_by_pread_equals_general_reader(tmp_path: Path, method: int | None, holder: str) -> None:
    mats = _mats(30)
    mats["empty"] = np.zeros((0, 0), np.float32)
    spec = f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp"
    if method is None:
        w = TableWriter(spec, holder)
    else:
        w = TableWriter(spec, "compressed_matrix", method=method)
    with w:
        for k, m in mats.items():
            w.write(k, m)
    want = dict(_general(holder, tmp_path / "a.ark"))
    keys = list(mats)
    random.Random(0).shuffle(keys)
    with RandomAccessTableReader(f"scp:{tmp_path}/a.scp", holder) as r:
        for k in keys:
            got = r[k]
            assert _same(got, want[k]), k
            assert got.flags.writeable and got.flags.c_contiguous and got.base is None or got.size == 0


def test_random_access_returns_fresh_arrays(tmp_path: Path) -> None:
    mats = _mats(3)
    with TableWriter(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
        for k, m in mats.items():
            w.write(k, m)
    with RandomAccessTableReader(f"scp:{tmp_path}/a.scp") as r:
        a = r["utt001"]
        a[...] = 123.0
        b = r["utt001"]
        np.testing.assert_array_equal(b, mats["utt001"])
        assert not np.shares_memory(a, b)


def test_random_access_truncated_target_reports_key(tmp_path: Path) -> None:
    mats = _mats(3)
    with TableWriter(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
        for k, m in mats.items():
            w.write(k, m)
    size = os.path.getsize(tmp_path / "a.ark")
    with open(tmp_path / "a.ark", "r+b") as f:
        f.truncate(size - 3)  # the last matrix loses its tail
    with RandomAccessTableReader(f"scp:{tmp_path}/a.scp") as r:
        np.testing.assert_array_equal(r["utt000"], mats["utt000"])
        with pytest.raises(FormatError, match="utt002"):
            r["utt002"]


def test_random_access_text_and_odd_targets_use_general_path(tmp_path: Path) -> None:
    m = np.arange(6, dtype=np.float32).reshape(2, 3)
    with TableWriter(f"ark,t,scp:{tmp_path}/t.ark,{tmp_path}/t.scp") as w:
        w.write("a", m)
    (tmp_path / "single.mat").write_bytes(get_holder("matrix").write(m))
    (tmp_path / "x.scp").write_text(
        f"t {(tmp_path / 't.scp').read_text().split()[1]}\n"
        f"whole {tmp_path}/single.mat\n"
        f"ranged {tmp_path}/single.mat[1:1,0:1]\n"
    )
    with RandomAccessTableReader(f"scp:{tmp_path}/x.scp") as r:
        np.testing.assert_array_equal(r["t"], m)
        np.testing.assert_array_equal(r["whole"], m)
        np.testing.assert_array_equal(r["ranged"], m[1:2, 0:2])


def test_random_access_bad_header_in_target(tmp_path: Path) -> None:
    (tmp_path / "bad.ark").write_bytes(b"k \0BFM \x04" + struct.pack("<i", 5) + b"\x05" + b"\0" * 40)
    (tmp_path / "bad.scp").write_text(f"k {tmp_path}/bad.ark:2\n")
    with RandomAccessTableReader(f"scp:{tmp_path}/bad.scp") as r:
        with pytest.raises(KaldiBridgeError, match="'k'"):
            r["k"]


# ------------------------------------------------------------------ script files
def test_script_parser_matches_line_rules(tmp_path: Path) -> None:
    p = tmp_path / "a.scp"
    p.write_bytes(b"a x.ark:1\nb   y.ark:2  \r\nc cmd with spaces |\n")
    assert read_script_file(str(p)) == [("a", "x.ark:1"), ("b", "y.ark:2"), ("c", "cmd with spaces |")]
    p.write_bytes(b"a x\n\nb y\n")
    with pytest.raises(FormatError, match="empty line 2"):
        read_script_file(str(p))
    p.write_bytes(b"a x\n b y\n")
    with pytest.raises(FormatError, match="invalid line 2"):
        read_script_file(str(p))
    p.write_bytes(b"a x\nlonely\n")
    with pytest.raises(FormatError, match="invalid line 2"):
        read_script_file(str(p))
    p.write_bytes(b"a x\nb \xff\n")
    with pytest.raises(FormatError, match="line 2: not valid UTF-8"):
        read_script_file(str(p))
    p.write_bytes(b"")
    assert read_script_file(str(p)) == []
    p.write_bytes(b"a x")  # no final newline
    assert read_script_file(str(p)) == [("a", "x")]


# ------------------------------------------------------------------ sequential runs
@pytest.mark.parametrize("holder", ["matrix", "double_matrix"])
def test_sequential_plain_runs_equal_general_parser(tmp_path: Path, holder: str) -> None:
    mats = _mats(23)
    mats["zero_rows"] = np.zeros((0, 7), np.float32)
    with TableWriter(f"ark:{tmp_path}/a.ark", holder) as w:
        for k, m in mats.items():
            w.write(k, m)
    want = _general(holder, tmp_path / "a.ark")
    with SequentialTableReader(f"ark:{tmp_path}/a.ark", holder) as r:
        got = list(r)
    assert [k for k, _ in got] == [k for k, _ in want]
    for (_, a), (_, b) in zip(got, want):
        assert _same(a, b)
    # Every array is its own: writing one changes no other.
    for _, a in got:
        a[...] = -1
    assert all(np.all(a == -1) for _, a in got)
    with SequentialTableReader(f"ark:cat {tmp_path}/a.ark |", holder) as r:
        piped = list(r)
    assert all(_same(a, b) for (_, a), (_, b) in zip(piped, want))


def test_sequential_truncated_run_delivers_good_entries_first(tmp_path: Path) -> None:
    mats = _mats(9)
    with TableWriter(f"ark:{tmp_path}/a.ark") as w:
        for k, m in mats.items():
            w.write(k, m)
    data = (tmp_path / "a.ark").read_bytes()
    (tmp_path / "a.ark").write_bytes(data[:-5])
    got = []
    with pytest.raises(FormatError, match="utt008"):
        for k, m in SequentialTableReader(f"ark:{tmp_path}/a.ark"):
            got.append(k)
    assert got == list(mats)[:-1]


# ------------------------------------------------------------------ compressed batches
@pytest.mark.parametrize("cols", [1, 13, 80, 300])
def test_cm_archive_windows_and_lazy_batches_equal_single_decoding(tmp_path: Path, cols: int) -> None:
    mats = _mats(40, cols)
    with TableWriter(f"ark:{tmp_path}/c.ark", "compressed_matrix", method=2) as w:
        for k, m in mats.items():
            w.write(k, m)
    want = {k: decompress(compress(m, 2)) for k, m in mats.items()}
    got = list(SequentialTableReader(f"ark:{tmp_path}/c.ark"))
    assert [k for k, _ in got] == list(mats)
    for k, a in got:
        assert _same(a, want[k]), k
        assert a.flags.writeable and a.flags.c_contiguous
    a0, a1 = got[0][1], got[1][1]
    assert not np.shares_memory(a0, a1)
    got64 = dict(SequentialTableReader(f"ark:{tmp_path}/c.ark", "double_matrix"))
    for k, a in got64.items():
        assert a.dtype == np.float64 and np.array_equal(a, want[k].astype(np.float64))


def test_cm_lazy_batch_generator_equals_list() -> None:
    cms = [compress((RNG.standard_normal((r, 5)) * 2).astype(np.float32), 2) for r in (9, 12, 30)]
    items = [(c.min_value, c.range, c.num_rows, c.num_cols, c.payload) for c in cms]
    it = C.iter_cm_batch(items)
    first = next(it)
    assert _same(first, decompress(cms[0]))
    rest = list(it)
    assert [r.shape for r in rest] == [(12, 5), (30, 5)]
    assert all(_same(a, decompress(c)) for a, c in zip(rest, cms[1:]))
    assert list(C.iter_cm_batch([])) == []


def test_cm_entry_bigger_than_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kaldibridge.kaldi.table import holders as H

    monkeypatch.setattr(H, "_CM_READAHEAD", 64)  # every payload overflows the window
    mats = _mats(5, 40)
    with TableWriter(f"ark:{tmp_path}/c.ark", "compressed_matrix", method=2) as w:
        for k, m in mats.items():
            w.write(k, m)
    got = dict(SequentialTableReader(f"ark:{tmp_path}/c.ark"))
    for k, m in mats.items():
        assert _same(got[k], decompress(compress(m, 2)))


# ------------------------------------------------------------------ stream primitives
def test_buffered_and_advance_to(tmp_path: Path) -> None:
    p = tmp_path / "b.bin"
    p.write_bytes(bytes(range(256)) * 4)
    with open_rx(str(p)) as s:
        buf, i = s.buffered(10, 100)
        assert len(buf) - i >= 10 and buf[i] == 0
        s.advance_to(i + 5)
        assert s.pos == 5 and s.read(1) == b"\x05"
        with pytest.raises(KaldiIOError):
            s.advance_to(len(buf) + 1)
        mv = memoryview(bytearray(300))
        s.readinto_peek(mv, "test data")
        assert bytes(mv) == (bytes(range(256)) * 2)[6:306]
        assert s.pos == 306
        assert s.pread(4, 1020) == bytes([252, 253, 254, 255])
        assert s.pos == 306  # positioned reads leave the stream alone
        out = bytearray(8)
        s.pread_into(memoryview(out), 8, "x")
        assert bytes(out) == bytes(range(8, 16))
        with pytest.raises(FormatError, match="unexpected end"):
            s.pread_into(memoryview(bytearray(10)), 1020, "tail")
        with pytest.raises(FormatError, match="unexpected end of data reading what"):
            s.readinto_peek(memoryview(bytearray(5000)), "what")


def test_read_records_reports_a_file_that_shrank(tmp_path: Path) -> None:
    mats = _mats(6, 50)
    with TableWriter(f"ark:{tmp_path}/a.ark") as w:
        for k, m in mats.items():
            w.write(k, m)
    r = SequentialTableReader(f"ark:{tmp_path}/a.ark")
    it = iter(r)
    first = next(it)  # the stream is open and its size known
    size = os.path.getsize(tmp_path / "a.ark")
    with open(tmp_path / "a.ark", "r+b") as f:
        f.truncate(size - 100)
    rest = []
    with pytest.raises(FormatError, match="utt005.*unexpected end of data"):
        for kv in it:
            rest.append(kv[0])
    assert [first[0], *rest] == list(mats)[:-1]
    r.close()
