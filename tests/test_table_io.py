"""Table readers/writers: semantics, pipes, torch output, and errors on bad input."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.errors import (
    FormatError,
    KaldiBridgeError,
    KaldiIOError,
    PipeError,
    PipesRefusedError,
    TableKeyError,
)
from kaldibridge.kaldi.table import (
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    load_ark,
    load_scp,
    read_mat,
    read_object,
    read_integer_vector,
    read_vec,
    write_integer_vector,
    write_mat,
    write_vec,
)

RNG = np.random.default_rng(0)


def _mats(n: int = 4) -> dict[str, np.ndarray]:
    return {f"utt{i}": RNG.standard_normal((3 + i, 5)).astype(np.float32) for i in range(n)}


def _fm(rows: int, cols: int, data: bytes = b"") -> bytes:
    return b"\0BFM \x04" + struct.pack("<i", rows) + b"\x04" + struct.pack("<i", cols) + data


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("opts", ["ark", "ark,t", "ark,f", "ark,nf,b"])
def test_ark_roundtrip(tmp_path: Path, opts: str) -> None:
    mats = _mats()
    with TableWriter(f"{opts}:{tmp_path}/a.ark") as w:
        for k, m in mats.items():
            w[k] = m
    got = dict(SequentialTableReader(f"ark:{tmp_path}/a.ark"))
    assert list(got) == list(mats)
    for k in mats:
        if ",t" in opts:
            np.testing.assert_allclose(got[k], mats[k], rtol=1e-6)
        else:
            np.testing.assert_array_equal(got[k], mats[k])


def test_ark_scp_offsets_and_random_access(tmp_path: Path) -> None:
    mats = _mats(6)
    with TableWriter(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
        for k, m in mats.items():
            w.write(k, m)
    lines = (tmp_path / "a.scp").read_text().splitlines()
    assert lines[0] == f"utt0 {tmp_path}/a.ark:5"
    for line in lines:
        key, rx = line.split()
        np.testing.assert_array_equal(read_mat(rx), mats[key])
    d = load_scp(str(tmp_path / "a.scp"))
    assert list(d.keys()) == list(mats)
    for k in reversed(list(mats)):
        np.testing.assert_array_equal(d[k], mats[k])
    with pytest.raises(TableKeyError, match="nope"):
        d["nope"]
    assert d.get("nope") is None and "utt3" in d and "nope" not in d


def test_range_in_scp_is_inclusive(tmp_path: Path) -> None:
    m = np.arange(200, dtype=np.float32).reshape(40, 5)
    write_mat(str(tmp_path / "m.mat"), m)
    (tmp_path / "r.scp").write_text(
        f"a {tmp_path}/m.mat[10:19]\nb {tmp_path}/m.mat[10:19,1:2]\nc {tmp_path}/m.mat[:,4:4]\n"
    )
    got = dict(SequentialTableReader(f"scp:{tmp_path}/r.scp"))
    np.testing.assert_array_equal(got["a"], m[10:20])
    np.testing.assert_array_equal(got["b"], m[10:20, 1:3])
    np.testing.assert_array_equal(got["c"], m[:, 4:5])
    np.testing.assert_array_equal(read_mat(f"{tmp_path}/m.mat[,0:1]"), m[:, 0:2])


def test_text_matrix_variants(tmp_path: Path) -> None:
    p = tmp_path / "t.ark"
    p.write_bytes(
        b"a [\n 1 2\n 3 4 ]\nb [ ]\nc []\nd [ 1 2 ; 3 4 ]\ne  [ 5 6 ]\n"
        b"f [\n  inf -1e-3 ]\n"
    )
    got = dict(SequentialTableReader(f"ark:{p}"))
    np.testing.assert_array_equal(got["a"], [[1, 2], [3, 4]])
    assert got["b"].shape == (0, 0) and got["c"].shape == (0, 0)
    np.testing.assert_array_equal(got["d"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(got["e"], [[5, 6]])
    assert got["f"][0, 0] == np.inf and got["f"][0, 1] == np.float32(-1e-3)
    p.write_bytes(b"a [\n 1 2\n 3 ]\n")
    with pytest.raises(FormatError, match="inconsistent"):
        dict(SequentialTableReader(f"ark:{p}"))


def test_vector_and_double_holders(tmp_path: Path) -> None:
    v = RNG.standard_normal(7)
    for binary in (True, False):
        write_vec(str(tmp_path / "v"), v, binary=binary, double=True)
        got = read_vec(str(tmp_path / "v"), double=True)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, v, rtol=0 if binary else 1e-6)
    write_mat(str(tmp_path / "d"), v.reshape(7, 1), double=True)
    assert (tmp_path / "d").read_bytes()[:5] == b"\0BDM "
    assert read_mat(str(tmp_path / "d")).dtype == np.float32
    assert read_mat(str(tmp_path / "d"), double=True).dtype == np.float64


@pytest.mark.parametrize("binary", [True, False])
def test_other_holders_roundtrip(tmp_path: Path, binary: bool) -> None:
    t = "" if binary else ",t"
    cases = {
        "int_vector_vector": [np.array([1, 2], np.int32), np.array([], np.int32), np.array([-3], np.int32)],
        "posterior": [[(1, 0.5), (7, 0.25)], [], [(3, 1.0)]],
        "int": 42,
        "float": 0.25,
        "double": 1.0 / 3,
        "bool": True,
        "token": "abc",
        "token_vector": ["a", "b"],
        "int_vector": np.array([5, -1, 2**31 - 1], np.int32),
    }
    for holder, value in cases.items():
        with TableWriter(f"ark{t}:{tmp_path}/{holder}.ark", holder) as w:
            w.write("k1", value)
            w.write("k2", value)
        got = dict(SequentialTableReader(f"ark:{tmp_path}/{holder}.ark", holder))
        assert list(got) == ["k1", "k2"], holder
        g = got["k2"]
        if holder == "int_vector_vector":
            assert [x.tolist() for x in g] == [x.tolist() for x in value]
        elif holder == "int_vector":
            assert g.tolist() == value.tolist()
        elif holder == "double" and not binary:
            assert g == pytest.approx(value, rel=1e-6)
        else:
            assert g == value, holder


def test_scalar_text_layout(tmp_path: Path) -> None:
    with TableWriter(f"ark,t:{tmp_path}/d", "float") as w:
        w.write("u1", 3.2048750)
        w.write("u2", 1e-5)
    assert (tmp_path / "d").read_text() == "u1 3.204875 \nu2 1e-05 \n"


def test_as_torch_and_no_aliasing(tmp_path: Path) -> None:
    import torch
    mats = _mats()
    with TableWriter(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
        for k, m in mats.items():
            w(k, torch.from_numpy(m))
    vals = [v for _, v in SequentialTableReader(f"ark:{tmp_path}/a.ark", as_torch=True)]
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32 for v in vals)
    vals[0].fill_(0)  # writable, and modifying one value affects nothing else
    np.testing.assert_array_equal(vals[1].numpy(), mats["utt1"])
    ra = RandomAccessTableReader(f"scp:{tmp_path}/a.scp")
    a = ra["utt2"]
    a[:] = 7
    np.testing.assert_array_equal(ra["utt2"], mats["utt2"])
    ptrs = {v.data_ptr() for v in vals}
    assert len(ptrs) == len(vals)


def test_random_access_pipe_modes(tmp_path: Path) -> None:
    mats = _mats(5)
    with TableWriter(f"ark:{tmp_path}/a.ark") as w:
        for k, m in mats.items():
            w.write(k, m)
    for opts in ("ark", "ark,s", "ark,o", "ark,s,cs", "ark,p"):
        ra = RandomAccessTableReader(f"{opts}:cat {tmp_path}/a.ark |")
        np.testing.assert_array_equal(ra["utt3"], mats["utt3"])
        if ",o" not in opts and ",cs" not in opts:
            np.testing.assert_array_equal(ra["utt1"], mats["utt1"])
        np.testing.assert_array_equal(ra["utt4"], mats["utt4"])
        assert "utt9" not in ra
        ra.close()
    ra = RandomAccessTableReader(f"ark,s:{tmp_path}/a.ark")
    assert "utt10" not in ra  # sorted: "utt10" < "utt2", decided without reading to the end
    np.testing.assert_array_equal(ra["utt0"], mats["utt0"])


def test_helpers_load_ark(tmp_path: Path) -> None:
    mats = _mats(2)
    with TableWriter(f"ark:{tmp_path}/a.ark", "compressed_matrix", method=2) as w:
        for k, m in mats.items():
            w.write(k, m)
    got = dict(load_ark(str(tmp_path / "a.ark")))
    for k in mats:
        np.testing.assert_allclose(got[k], mats[k], atol=2e-3)


# ----------------------------------------------------------------------------- pipes
def test_pipes_read_write(tmp_path: Path) -> None:
    mats = _mats(3)
    with TableWriter(f"ark:| cat > {tmp_path}/p.ark") as w:
        for k, m in mats.items():
            w.write(k, m)
    got = dict(SequentialTableReader(f"ark:cat {tmp_path}/p.ark |"))
    for k in mats:
        np.testing.assert_array_equal(got[k], mats[k])
    write_mat(f"| cat > {tmp_path}/single.mat", mats["utt1"])
    np.testing.assert_array_equal(read_object(f"cat {tmp_path}/single.mat |", "matrix"), mats["utt1"])


def test_failing_pipe_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PipeError, match="exit.* status 3"):
        list(SequentialTableReader("ark:exit 3 |"))
    write_mat(str(tmp_path / "m"), np.ones((2, 2), np.float32))
    # Full data, then failure: still an error.
    with pytest.raises(PipeError, match="status 1"):
        list(SequentialTableReader(f"ark:(printf 'k '; cat {tmp_path}/m; false) |"))
    # Truncated data from a failing command: PipeError naming the command.
    with pytest.raises(PipeError, match="head -c 20"):
        list(SequentialTableReader(f"ark:(printf 'k '; cat {tmp_path}/m | head -c 20; exit 2) |"))
    with pytest.raises(PipeError):
        read_mat("false |")
    with pytest.raises(PipeError, match="status 4"):
        with TableWriter("ark:| cat > /dev/null; exit 4") as w:
            w.write("a", np.zeros((1, 1), np.float32))


def test_pipes_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(PipesRefusedError):
        SequentialTableReader(f"ark:touch {marker} |", allow_pipes=False)
    monkeypatch.setenv("KALDIBRIDGE_NO_PIPES", "1")
    with pytest.raises(PipesRefusedError):
        read_mat(f"touch {marker} |", allow_pipes=True)
    with pytest.raises(PipesRefusedError):
        TableWriter(f"ark:| touch {marker}")
    (tmp_path / "w.scp").write_text(f"a touch {marker} |\n")
    with pytest.raises(PipesRefusedError):
        list(SequentialTableReader(f"scp:{tmp_path}/w.scp"))
    assert not marker.exists()


# ----------------------------------------------------------------------------- writer safety
def test_writer_never_half_writes(tmp_path: Path) -> None:
    with TableWriter(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
        w.write("good", np.ones((2, 2), np.float32))
        with pytest.raises(FormatError, match="'bad'"):
            w.write("bad", np.ones((2, 2, 2), np.float32))
        with pytest.raises(TableKeyError):
            w.write("has space", np.ones((1, 1), np.float32))
        with pytest.raises(TableKeyError):
            w.write("", np.ones((1, 1), np.float32))
        w.write("good2", np.zeros((1, 3), np.float32))
    assert (tmp_path / "a.scp").read_text().split("\n")[0].startswith("good ")
    assert [ln.split()[0] for ln in (tmp_path / "a.scp").read_text().splitlines()] == ["good", "good2"]
    assert list(dict(SequentialTableReader(f"ark:{tmp_path}/a.ark"))) == ["good", "good2"]


def test_scp_wspecifier(tmp_path: Path) -> None:
    (tmp_path / "out.scp").write_text(f"a {tmp_path}/a.mat\nb {tmp_path}/b.mat\n")
    with TableWriter(f"scp:{tmp_path}/out.scp") as w:
        w.write("a", np.ones((1, 2), np.float32))
        with pytest.raises(TableKeyError, match="'c'"):
            w.write("c", np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(read_mat(str(tmp_path / "a.mat")), np.ones((1, 2)))
    with TableWriter(f"scp,p:{tmp_path}/out.scp") as w:
        w.write("c", np.ones((1, 2), np.float32))  # permissive: skipped


# ----------------------------------------------------------------------------- bad input
def _read_all(path: Path, holder: str = "matrix") -> list:
    return list(SequentialTableReader(f"ark:{path}", holder))


def test_truncated_archive(tmp_path: Path) -> None:
    p = tmp_path / "t.ark"
    p.write_bytes(b"utt1 " + _fm(4, 4, b"\0" * 40))
    with pytest.raises(FormatError, match=r"utt1.*offset"):
        _read_all(p)


def test_huge_header_does_not_allocate(tmp_path: Path) -> None:
    p = tmp_path / "h.ark"
    p.write_bytes(b"utt1 " + _fm(2**31 - 1, 80, b"\0" * 64))
    with pytest.raises(FormatError, match="utt1"):
        _read_all(p)
    with pytest.raises(FormatError):
        list(SequentialTableReader(f"ark:cat {p} |"))
    p.write_bytes(b"utt1 \0B\x04" + struct.pack("<i", 2**31 - 1) + b"\x04\1\0\0\0")
    with pytest.raises(FormatError):
        _read_all(p, "int_vector")


def test_garbage_token(tmp_path: Path) -> None:
    p = tmp_path / "g.ark"
    p.write_bytes(b"utt1 \0BXYZ \x04\0\0\0\0")
    with pytest.raises(FormatError, match=r"utt1.*expected token FM or DM"):
        _read_all(p)
    p.write_bytes(b"utt1 [ 1 2 x ]\n")
    with pytest.raises(FormatError, match=r"utt1.*'x'"):
        _read_all(p)
    p.write_bytes(b"utt1")
    with pytest.raises(FormatError, match="expected space after key 'utt1', got end of data"):
        _read_all(p)


def test_non_utf8_key(tmp_path: Path) -> None:
    p = tmp_path / "k.ark"
    p.write_bytes(b"utt\xff1 " + _fm(0, 0))
    with pytest.raises(FormatError, match="UTF-8"):
        _read_all(p)


def test_missing_scp_target_and_bad_offset(tmp_path: Path) -> None:
    write_mat(str(tmp_path / "m"), np.ones((2, 2), np.float32))
    (tmp_path / "a.scp").write_text(f"ok {tmp_path}/m\nmiss {tmp_path}/nope.ark:5\n")
    with pytest.raises(KaldiIOError, match=r"nope\.ark.*'miss'"):
        list(SequentialTableReader(f"scp:{tmp_path}/a.scp"))
    got = dict(SequentialTableReader(f"scp,p:{tmp_path}/a.scp"))
    assert list(got) == ["ok"]
    (tmp_path / "b.scp").write_text(f"far {tmp_path}/m:99999\nmid {tmp_path}/m:3\n")
    with pytest.raises(KaldiIOError, match=r"'far'.*offset 99999 is beyond the end"):
        list(SequentialTableReader(f"scp:{tmp_path}/b.scp"))
    ra = RandomAccessTableReader(f"scp:{tmp_path}/b.scp")
    with pytest.raises(FormatError, match="'mid'"):
        ra["mid"]
    with pytest.raises(KaldiIOError):
        SequentialTableReader(f"ark:{tmp_path}/does_not_exist.ark")
    (tmp_path / "c.scp").write_text("lonelykey\n")
    with pytest.raises(FormatError, match="line 1"):
        list(SequentialTableReader(f"scp:{tmp_path}/c.scp"))


def test_permissive_archive_stops_at_error(tmp_path: Path) -> None:
    p = tmp_path / "a.ark"
    with TableWriter(f"ark:{p}") as w:
        w.write("a", np.ones((2, 2), np.float32))
    p.write_bytes(p.read_bytes() + b"b \0BFM garbage")
    assert [k for k, _ in SequentialTableReader(f"ark,p:{p}")] == ["a"]
    with pytest.raises(FormatError, match="'b'"):
        _read_all(p)


def test_errors_share_the_tree() -> None:
    for cls in (FormatError, KaldiIOError, PipeError, PipesRefusedError, TableKeyError):
        assert issubclass(cls, KaldiBridgeError)


def test_stdin_reading(tmp_path: Path) -> None:
    import subprocess

    m = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_mat(str(tmp_path / "m"), m)
    code = (
        "from kaldibridge.kaldi.table import read_mat; import sys; "
        "m = read_mat('-'); sys.stdout.write(str(m.sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], stdin=open(tmp_path / "m", "rb"), capture_output=True, check=True
    )
    assert out.stdout.decode() == "15.0"


def test_long_script_and_text_archives_cross_buffer_boundaries(tmp_path: Path) -> None:
    keys = [f"utt{i:05d}" for i in range(1500)]  # many 8 KiB buffer refills
    mats = {k: np.full((1, 2), i, np.float32) for i, k in enumerate(keys)}
    for opts in ("ark,scp", "ark,scp,t"):
        with TableWriter(f"{opts}:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
            for k, m in mats.items():
                w.write(k, m)
        assert len(load_scp(str(tmp_path / "a.scp")).keys()) == 1500
        got = dict(SequentialTableReader(f"ark:{tmp_path}/a.ark"))
        assert list(got) == keys
        np.testing.assert_array_equal(got["utt01234"], mats["utt01234"])


def test_mixed_archive_fast_paths_match_general_reader(tmp_path: Path) -> None:
    from kaldibridge.kaldi.table import get_holder
    from kaldibridge.kaldi.table.xfilename import InputStream

    rng = np.random.default_rng(5)
    p = tmp_path / "mix.ark"
    with open(p, "wb") as f:
        for i in range(23):
            m = (rng.standard_normal((int(rng.integers(1, 40)), int(rng.integers(1, 9)))) * 3).astype(np.float32)
            method = [1, 2, 3, 5, 2, 2, 2][i % 7]
            holder = get_holder("compressed_matrix", method=method) if i % 5 else get_holder("matrix")
            f.write(f"k{i} ".encode() + holder.write(m))
        f.write(b"empty " + get_holder("compressed_matrix").write(np.zeros((0, 0), np.float32)))
    got = list(SequentialTableReader(f"ark:{p}"))
    # Reference: the general per-object reader on the same bytes.
    s = InputStream(open(p, "rb"), str(p), size=p.stat().st_size)
    ref = []
    h = get_holder("matrix")
    while True:
        word = s.read_word()
        if not word:
            break
        s.read(1)
        ref.append((word.decode(), h.read(s)))
    s.close()
    assert [k for k, _ in got] == [k for k, _ in ref]
    for (_, a), (_, b) in zip(got, ref):
        assert a.dtype == np.float32 and a.flags.writeable
        np.testing.assert_array_equal(a, b)
    # A truncated CM entry after good ones: the good ones come first, then the error.
    data = p.read_bytes()
    cut = data.index(b"k12 ") + 40
    p.write_bytes(data[:cut])
    seen = []
    with pytest.raises(FormatError, match="k12"):
        for k, _ in SequentialTableReader(f"ark:cat {p} |"):
            seen.append(k)
    assert seen == [f"k{i}" for i in range(12)]


def test_sphinx_matrix_holder(tmp_path: Path) -> None:
    # Hand-built Sphinx file: big-endian int32 count of floats, then big-endian float32.
    vals = np.arange(26, dtype=np.float32) / 4
    raw = struct.pack(">i", 26) + vals.astype(">f4").tobytes()
    (tmp_path / "a.sph").write_bytes(raw)
    (tmp_path / "s.scp").write_text(f"u1 {tmp_path / 'a.sph'}\n")
    got = dict(SequentialTableReader(f"scp:{tmp_path / 's.scp'}", "sphinx_matrix"))
    assert got["u1"].dtype == np.float32
    assert np.array_equal(got["u1"], vals.reshape(2, 13))
    with TableWriter(f"ark:{tmp_path / 'o.ark'}", "sphinx_matrix") as w:
        w.write("u1", got["u1"])
    assert (tmp_path / "o.ark").read_bytes() == b"u1 " + raw
    (tmp_path / "b.sph").write_bytes(struct.pack(">i", 14) + bytes(56))
    with pytest.raises(FormatError, match="inconsistent"):
        read_object(str(tmp_path / "b.sph"), "sphinx_matrix")
    (tmp_path / "c.sph").write_bytes(struct.pack(">i", 13 * 1000) + bytes(52))
    with pytest.raises(FormatError, match="bytes are left"):
        read_object(str(tmp_path / "c.sph"), "sphinx_matrix")


def test_integer_vector_single_file_format(tmp_path: Path) -> None:
    # ReadIntegerVector's binary layout: "\0B", size byte 4, int32 count, raw int32 values.
    p = tmp_path / "v.bin"
    write_integer_vector(str(p), [3, -1, 7])
    assert p.read_bytes() == b"\0B\x04" + struct.pack("<iiii", 3, 3, -1, 7)
    assert read_integer_vector(str(p)).tolist() == [3, -1, 7]
    write_integer_vector(str(p), np.array([5, 6]), binary=False)
    assert p.read_text() == "[ 5 6 ]\n"
    assert read_integer_vector(str(p)).dtype == np.int32
    assert read_integer_vector(str(p)).tolist() == [5, 6]
    p.write_bytes(b"\0B\x04" + struct.pack("<i", 5) + bytes(8))
    with pytest.raises(FormatError, match="cut short"):
        read_integer_vector(str(p))
    p.write_text("[ 1 x ]")
    with pytest.raises(FormatError, match="not an int32"):
        read_integer_vector(str(p))
