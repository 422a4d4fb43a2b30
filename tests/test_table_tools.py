"""Table tools (kaldibridge.cli.table_tools) against Kaldi's semantics, computed here.

Covers the tools and paths the golden cases do not: subset-feats, sum-matrices,
vector-sum, the second and third usages of matrix-sum, extract-feature-segments,
compare-feats, copy-matrix transforms, copy-vector resizing, copy-feats HTK and
single-file modes, paste-feats single files and missing keys, select-feats edge cases.
Expected values come from Kaldi's source (src/bin, src/featbin) re-derived with numpy
in each test. Tools run in-process through ``python -m kaldibridge``'s ``main``.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.__main__ import main
from kaldibridge.kaldi.table import SequentialTableReader, TableWriter, read_object, write_object

LINE = re.compile(r"^(LOG|WARNING|ERROR|VLOG\[\d+\]) \(.*?\.py:\d+\) (.*)$")
RNG = np.random.default_rng(1234)


# -- helpers ----------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _fixed_data() -> None:
    """Every test sees the same random data, whichever tests run with it."""
    global RNG
    RNG = np.random.default_rng(1234)


def run(capfd: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """Run a tool in-process; return (exit status, stdout, stderr)."""
    status = main(list(argv))
    out, err = capfd.readouterr()
    return status, out, err


def messages(err: str, kind: str) -> list[str]:
    """Texts of the one-line log messages of a kind (LOG, WARNING, ERROR)."""
    found = []
    for line in err.splitlines():
        m = LINE.match(line)
        if m and m.group(1) == kind:
            found.append(m.group(2))
    return found


def write_ark(path: Path, items: dict, holder: str = "matrix") -> str:
    with TableWriter(f"ark:{path}", holder) as w:
        for k, v in items.items():
            w.write(k, v)
    return f"ark:{path}"


def read_ark(path: Path, holder: str = "matrix") -> dict:
    with SequentialTableReader(f"ark:{path}", holder) as r:
        return {k: v for k, v in r}


def mat(rows: int, cols: int, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    return RNG.uniform(lo, hi, (rows, cols)).astype(np.float32)


def parse_binary_matrix(data: bytes) -> np.ndarray:
    """Kaldi's binary single-file float matrix, decoded by hand: \\0B FM <int32 rows> <int32 cols> data."""
    assert data[:6] == b"\0BFM \x04"
    rows = struct.unpack("<i", data[6:10])[0]
    assert data[10:11] == b"\x04"
    cols = struct.unpack("<i", data[11:15])[0]
    return np.frombuffer(data[15:], dtype="<f4").reshape(rows, cols)


def parse_binary_vector(data: bytes) -> np.ndarray:
    assert data[:6] == b"\0BFV \x04"
    dim = struct.unpack("<i", data[6:10])[0]
    return np.frombuffer(data[10:], dtype="<f4", count=dim)


def write_htk(path: Path, m: np.ndarray, period: int = 100000, kind: int = 9) -> None:
    """An HTK feature file: nSamples, sampPeriod (int32), sampSize, parmKind (int16), big-endian floats."""
    head = struct.pack(">iihh", m.shape[0], period, 4 * m.shape[1], kind)
    path.write_bytes(head + m.astype(">f4").tobytes())


# -- copy-feats ---------------------------------------------------------------------------

def test_copy_feats_single_file_binary_and_text(tmp_path: Path, capfd) -> None:
    m = mat(3, 4)
    src = tmp_path / "in.mat"
    write_object(str(src), m, "matrix", binary=False)
    dst = tmp_path / "out.mat"
    status, _, err = run(capfd, "copy-feats", str(src), str(dst))
    assert status == 0
    assert messages(err, "LOG") == [f"Copied features from {src} to {dst}"]
    # Text input holds 7 significant digits.
    np.testing.assert_allclose(parse_binary_matrix(dst.read_bytes()), m, rtol=1e-6, atol=1e-7)
    txt = tmp_path / "out.txt"
    assert run(capfd, "copy-feats", "--binary=false", str(dst), str(txt))[0] == 0
    body = txt.read_text()
    assert body.startswith(" [\n") and body.rstrip().endswith("]")
    np.testing.assert_allclose(read_object(str(txt)), m, rtol=1e-6, atol=1e-7)


def test_copy_feats_single_file_to_stdout_names_standard_output(tmp_path: Path, capfdbinary) -> None:
    m = mat(2, 2)
    src = tmp_path / "in.mat"
    write_object(str(src), m, "matrix")
    assert main(["copy-feats", str(src), "-"]) == 0
    out, err = capfdbinary.readouterr()
    np.testing.assert_array_equal(parse_binary_matrix(out), m)
    assert f"Copied features from {src} to standard output" in err.decode()


def test_copy_feats_htk_in_table_and_single_file(tmp_path: Path, capfd) -> None:
    a, b = mat(5, 3), mat(2, 3)
    write_htk(tmp_path / "a.htk", a)
    write_htk(tmp_path / "b.htk", b, kind=0o20007)
    scp = tmp_path / "htk.scp"
    scp.write_text(f"a {tmp_path / 'a.htk'}\nb {tmp_path / 'b.htk'}\n")
    out = tmp_path / "out.ark"
    nf = tmp_path / "nf.txt"
    status, _, err = run(capfd, "copy-feats", "--htk-in", f"--write-num-frames=ark,t:{nf}", f"scp:{scp}", f"ark:{out}")
    assert status == 0
    assert messages(err, "LOG") == ["Copied 2 feature matrices."]
    got = read_ark(out)
    assert list(got) == ["a", "b"]
    np.testing.assert_array_equal(got["a"], a)
    np.testing.assert_array_equal(got["b"], b)
    assert nf.read_text() == "a 5 \nb 2 \n"  # Kaldi's text int holder: value, space, newline
    single = tmp_path / "a.mat"
    assert run(capfd, "copy-feats", "--htk-in", str(tmp_path / "a.htk"), str(single))[0] == 0
    np.testing.assert_array_equal(parse_binary_matrix(single.read_bytes()), a)


def test_copy_feats_sphinx_in(tmp_path: Path, capfd) -> None:
    # Sphinx features: big-endian int32 count of floats, then big-endian float32, 13 per frame.
    a, b = mat(4, 13), mat(1, 13)
    for name, m in (("a", a), ("b", b)):
        (tmp_path / f"{name}.mfc").write_bytes(struct.pack(">i", m.size) + m.astype(">f4").tobytes())
    scp = tmp_path / "s.scp"
    scp.write_text(f"a {tmp_path / 'a.mfc'}\nb {tmp_path / 'b.mfc'}\n")
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "copy-feats", "--sphinx-in", f"scp:{scp}", f"ark:{out}")
    assert status == 0 and messages(err, "LOG") == ["Copied 2 feature matrices."]
    got = read_ark(out)
    np.testing.assert_array_equal(got["a"], a)
    np.testing.assert_array_equal(got["b"], b)
    (tmp_path / "bad.mfc").write_bytes(struct.pack(">i", 14) + np.zeros(14, ">f4").tobytes())
    scp.write_text(f"bad {tmp_path / 'bad.mfc'}\n")
    status, _, err = run(capfd, "copy-feats", "--sphinx-in", f"scp:{scp}", f"ark:{tmp_path / 'o2.ark'}")
    assert status == 255
    assert "inconsistent with vector length 13" in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--compress=true"], "Compression"),
        (["--write-num-frames=ark,t:nf"], "--write-num-frames option not supported when writing/reading single files."),
        (["--sphinx-in=true"], "For single files, sphinx input is not yet supported."),
    ],
)
def test_copy_feats_single_file_refusals(tmp_path: Path, capfd, flags, message) -> None:
    src = tmp_path / "in.mat"
    write_object(str(src), mat(2, 2), "matrix")
    status, _, err = run(capfd, "copy-feats", *flags, str(src), str(tmp_path / "o.mat"))
    assert status == 255
    assert any(message in e for e in messages(err, "ERROR"))
    assert not (tmp_path / "o.mat").exists()


def test_copy_feats_empty_and_unreadable_input(tmp_path: Path, capfd) -> None:
    empty = tmp_path / "empty.ark"
    empty.write_bytes(b"")
    status, _, err = run(capfd, "copy-feats", f"ark:{empty}", f"ark:{tmp_path / 'o.ark'}")
    assert status == 1
    assert messages(err, "LOG") == ["Copied 0 feature matrices."]
    status, _, err = run(capfd, "copy-feats", f"ark:{tmp_path / 'missing.ark'}", f"ark:{tmp_path / 'o2.ark'}")
    assert status == 255
    assert messages(err, "ERROR")
    garbage = tmp_path / "garbage.ark"
    garbage.write_bytes(b"utt1 \0BFM \x04\x05\x00")  # header cut short
    status, _, err = run(capfd, "copy-feats", f"ark:{garbage}", f"ark:{tmp_path / 'o3.ark'}")
    assert status == 255
    assert messages(err, "ERROR")


def test_copy_feats_compression_method_checked_only_when_compressing(tmp_path: Path, capfd) -> None:
    m = mat(3, 2)
    src = write_ark(tmp_path / "f.ark", {"u": m})
    out = tmp_path / "o.ark"
    assert run(capfd, "copy-feats", "--compression-method=9", src, f"ark:{out}")[0] == 0
    np.testing.assert_array_equal(read_ark(out)["u"], m)
    status, _, err = run(capfd, "copy-feats", "--compress=true", "--compression-method=9", src, f"ark:{out}")
    assert status == 255
    assert messages(err, "ERROR") == ["Unknown compression method = 9"]


# -- copy-matrix --------------------------------------------------------------------------

def _copy_matrix(tmp_path: Path, capfd, m: np.ndarray, *flags: str) -> tuple[int, np.ndarray | None, str]:
    src = write_ark(tmp_path / "in.ark", {"u": m})
    out = tmp_path / "out.ark"
    status, _, err = run(capfd, "copy-matrix", *flags, src, f"ark:{out}")
    return status, (read_ark(out)["u"] if status == 0 else None), err


def test_copy_matrix_scale_then_log_floors_at_1e_minus_20(tmp_path: Path, capfd) -> None:
    m = np.array([[1.0, 0.0, -3.0], [2.5, 1e-30, 7.0]], dtype=np.float32)
    status, got, err = _copy_matrix(tmp_path, capfd, m, "--scale=2", "--apply-log")
    assert status == 0
    assert messages(err, "LOG") == ["Copied 1 matrices."]
    expect = np.log(np.maximum(m.astype(np.float64) * 2.0, float(np.float32(1e-20))))
    np.testing.assert_allclose(got, expect, rtol=1e-6)


def test_copy_matrix_exp_softmax_power(tmp_path: Path, capfd) -> None:
    m = mat(4, 5)
    m64 = m.astype(np.float64)
    _, got, _ = _copy_matrix(tmp_path, capfd, m, "--apply-exp")
    np.testing.assert_allclose(got, np.exp(m64), rtol=1e-6)
    _, got, _ = _copy_matrix(tmp_path, capfd, m, "--apply-softmax-per-row")
    e = np.exp(m64 - m64.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)
    # softmax comes before the power, as in Kaldi
    _, got, _ = _copy_matrix(tmp_path, capfd, m, "--apply-softmax-per-row", "--apply-power=2")
    np.testing.assert_allclose(got, (e / e.sum(axis=1, keepdims=True)) ** 2, rtol=1e-5)
    _, got, _ = _copy_matrix(tmp_path, capfd, m, "--apply-power=3")
    np.testing.assert_allclose(got, m64**3, rtol=1e-6)


def test_copy_matrix_power_of_negative_is_nan_not_an_error(tmp_path: Path, capfd) -> None:
    # Kaldi's MatrixBase::Pow is a plain pow() per element: no check, NaN comes out.
    m = np.array([[4.0, -4.0, 0.0]], dtype=np.float32)
    status, got, _ = _copy_matrix(tmp_path, capfd, m, "--apply-power=0.5")
    assert status == 0
    assert got[0, 0] == 2.0 and np.isnan(got[0, 1]) and got[0, 2] == 0.0
    status, got, _ = _copy_matrix(tmp_path, capfd, m, "--apply-power=-1")
    assert status == 0
    np.testing.assert_array_equal(got, [[0.25, -0.25, np.inf]])


def test_copy_matrix_single_file_transform_and_refusals(tmp_path: Path, capfd) -> None:
    m = mat(2, 3, 0.5, 2.0)
    src = tmp_path / "m.mat"
    write_object(str(src), m, "matrix")
    dst = tmp_path / "o.mat"
    status, _, err = run(capfd, "copy-matrix", "--scale=0.5", "--apply-power=2", str(src), str(dst))
    assert status == 0
    assert messages(err, "LOG") == [f"Copied matrix to {dst}"]
    np.testing.assert_allclose(parse_binary_matrix(dst.read_bytes()), (m.astype(np.float64) * 0.5) ** 2, rtol=1e-6)
    status, _, err = run(capfd, "copy-matrix", "--apply-log", "--apply-exp", str(src), str(dst))
    assert status == 255
    assert messages(err, "ERROR") == ["Only one of apply-log, apply-exp and apply-softmax-per-row can be given"]
    status, _, err = run(capfd, "copy-matrix", str(src), f"ark:{tmp_path / 'x.ark'}")
    assert status == 255
    assert messages(err, "ERROR") == ["Cannot mix archives with regular files (copying matrices)"]


# -- copy-vector / copy-int-vector ----------------------------------------------------

def test_copy_vector_change_dim_and_scale(tmp_path: Path, capfd) -> None:
    a = np.array([1, 2, 3, 4], dtype=np.float32)
    b = np.array([5, 6], dtype=np.float32)
    src = write_ark(tmp_path / "v.ark", {"a": a, "b": b}, "vector")
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "copy-vector", "--change_dim=3", "--scale=0.5", src, f"ark:{out}")
    assert status == 0
    assert messages(err, "LOG") == ["Copied 2 vectors, setting dim to 3 scaled by 0.5"]
    got = read_ark(out, "vector")
    np.testing.assert_array_equal(got["a"], [0.5, 1.0, 1.5])
    np.testing.assert_array_equal(got["b"], [2.5, 3.0, 0.0])
    status, _, err = run(capfd, "copy-vector", src, f"ark:{out}")
    assert status == 0 and messages(err, "LOG") == ["Copied 2 vectors."]
    np.testing.assert_array_equal(read_ark(out, "vector")["a"], a)


def test_copy_vector_single_file_ignores_scale(tmp_path: Path, capfd) -> None:
    # Kaldi's single-file branch resizes but never applies --scale.
    src = tmp_path / "v.vec"
    write_object(str(src), np.array([1, 2, 3], dtype=np.float32), "vector")
    dst = tmp_path / "o.vec"
    status, _, err = run(capfd, "copy-vector", "--scale=10", "--change_dim=5", str(src), str(dst))
    assert status == 0
    assert messages(err, "LOG") == [f"Copied vector to {dst}"]
    np.testing.assert_array_equal(parse_binary_vector(dst.read_bytes()), [1, 2, 3, 0, 0])
    status, _, err = run(capfd, "copy-vector", f"ark:{tmp_path / 'x.ark'}", str(dst))
    assert status == 255
    assert messages(err, "ERROR") == ["Cannot mix archives with regular files (copying vectors)"]


def test_copy_int_vector_single_file_text(tmp_path: Path, capfd) -> None:
    # Single files are ReadIntegerVector/WriteIntegerVector, not the table format:
    # text "[ 3 1 4 ]", binary \0B, size byte 4, int32 count, raw int32 values.
    src = tmp_path / "ali.txt"
    src.write_text(" [ 3 1 4 1 -5 ]\n")
    dst = tmp_path / "ali.bin"
    status, _, err = run(capfd, "copy-int-vector", str(src), str(dst))
    assert status == 0 and messages(err, "LOG") == [f"Copied vector to {dst}"]
    data = dst.read_bytes()
    assert data[:3] == b"\0B\x04" and struct.unpack("<i", data[3:7])[0] == 5
    assert np.frombuffer(data[7:], dtype="<i4").tolist() == [3, 1, 4, 1, -5]
    back = tmp_path / "ali2.txt"
    assert run(capfd, "copy-int-vector", "--binary=false", str(dst), str(back))[0] == 0
    assert back.read_text() == "[ 3 1 4 1 -5 ]\n"
    src.write_text("3 1 4\n")  # the table text form is not a single-file vector
    status, _, err = run(capfd, "copy-int-vector", str(src), str(dst))
    assert status == 255 and messages(err, "ERROR")
    empty = tmp_path / "e.ark"
    empty.write_bytes(b"")
    status, _, err = run(capfd, "copy-int-vector", f"ark:{empty}", f"ark:{tmp_path / 'o.ark'}")
    assert status == 1 and messages(err, "LOG") == ["Copied 0 vectors of int32."]


# -- feat-to-len / feat-to-dim --------------------------------------------------------

def test_feat_to_len_and_dim(tmp_path: Path, capfd) -> None:
    src = write_ark(tmp_path / "f.ark", {"a": mat(3, 4), "b": mat(7, 4), "c": mat(0, 0)})
    status, out, _ = run(capfd, "feat-to-len", src)
    assert status == 0 and out == "10\n"
    lens = tmp_path / "len.txt"
    assert run(capfd, "feat-to-len", src, f"ark,t:{lens}")[0] == 0
    assert lens.read_text() == "a 3 \nb 7 \nc 0 \n"
    dim = tmp_path / "dim"
    assert run(capfd, "feat-to-dim", src, str(dim))[0] == 0
    assert dim.read_text() == "4\n"
    empty = tmp_path / "e.ark"
    empty.write_bytes(b"")
    status, _, err = run(capfd, "feat-to-dim", f"ark:{empty}", str(dim))
    assert status == 255
    assert messages(err, "ERROR") == ["Could not read any features (empty archive?)"]


# -- select-feats -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "selection, columns",
    [
        ("4-1", [4, 3, 2, 1]),  # descending ranges are expanded one column at a time
        ("0,5-3,1-2", [0, 5, 4, 3, 1, 2]),
        ("2,", [2]),  # getline() yields no empty token after a trailing comma
        ("1,,3", [1, 0, 3]),  # an empty token reads as 0
        # Kaldi reads a range start from the first len(token)-p-1 characters:
        ("3-5", [3, 4, 5]),  # "3-" -> 3
        ("12-3", [1, 2, 3]),  # "1" -> 1 (more digits in the start than in the end)
        ("-3", [0, 1, 2, 3]),  # "-" fails to read -> 0
        ("5-", [0]),  # "" and "" -> 0-0
        (" 2", [2]),  # leading blanks skipped by operator>>
        ("2x", [2]),  # trailing garbage ignored
    ],
)
def test_select_feats_ranges(tmp_path: Path, capfd, selection, columns) -> None:
    a, b = mat(3, 6), mat(2, 6)
    src = write_ark(tmp_path / "f.ark", {"a": a, "b": b})
    out = tmp_path / "o.ark"
    status, _, _ = run(capfd, "select-feats", selection, src, f"ark:{out}")
    assert status == 0
    got = read_ark(out)
    np.testing.assert_array_equal(got["a"], a[:, columns])
    np.testing.assert_array_equal(got["b"], b[:, columns])


@pytest.mark.parametrize(
    "selection, error",
    [
        ("6", "Invalid selection index: 6"),
        ("2-9", "Invalid range end: 9"),
        ("9-9", "Invalid range start: 9"),
        ("", "No ranges or indices in selection string!"),
        ("99999999999", "Invalid selection index: 2147483647"),  # operator>> saturates
    ],
)
def test_select_feats_bad_selection(tmp_path: Path, capfd, selection, error) -> None:
    src = write_ark(tmp_path / "f.ark", {"a": mat(3, 6)})
    status, _, err = run(capfd, "select-feats", selection, src, f"ark:{tmp_path / 'o.ark'}")
    assert status == 255
    assert messages(err, "ERROR") == [error]


def test_select_feats_empty_archive_and_narrower_later_matrix(tmp_path: Path, capfd) -> None:
    empty = tmp_path / "e.ark"
    empty.write_bytes(b"")
    status, _, err = run(capfd, "select-feats", "0", f"ark:{empty}", f"ark:{tmp_path / 'o.ark'}")
    assert status == 0 and messages(err, "WARNING") == ["Empty archive provided."]
    src = write_ark(tmp_path / "f.ark", {"a": mat(3, 6), "b": mat(3, 4)})
    out = tmp_path / "o2.ark"
    status, _, err = run(capfd, "select-feats", "1,5", src, f"ark:{out}")
    assert status == 255 and messages(err, "ERROR")
    assert list(read_ark(out)) == ["a"]  # what was written before the failure is kept


# -- subset-feats -------------------------------------------------------------------------

def _four(tmp_path: Path) -> tuple[str, dict]:
    items = {k: mat(2, 3) for k in ("u1", "u2", "u3", "u4")}
    return write_ark(tmp_path / "f.ark", items), items


def test_subset_feats_n(tmp_path: Path, capfd) -> None:
    src, items = _four(tmp_path)
    out = tmp_path / "o.ark"
    assert run(capfd, "subset-feats", "--n=2", src, f"ark:{out}")[0] == 0
    got = read_ark(out)
    assert list(got) == ["u1", "u2"]
    np.testing.assert_array_equal(got["u2"], items["u2"])
    assert run(capfd, "subset-feats", src, f"ark:{out}")[0] == 0  # default n=10: all four
    assert list(read_ark(out)) == ["u1", "u2", "u3", "u4"]
    status, _, err = run(capfd, "subset-feats", "--n=0", src, f"ark:{out}")
    assert status == 255 and messages(err, "ERROR") == ["Invalid option --n=0. Should be at least 1"]
    status, _, _ = run(capfd, "subset-feats", "--n=-1", src, f"ark:{out}")
    assert status == 255


def test_subset_feats_include_exclude(tmp_path: Path, capfd) -> None:
    src, items = _four(tmp_path)
    lst = tmp_path / "list"
    lst.write_text("u3\textra fields\nu1 x\r\nzz\n")
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "subset-feats", f"--include={lst}", src, f"ark:{out}")
    assert status == 0
    assert messages(err, "LOG") == [" Wrote 2 out of 4 utterances."]
    assert list(read_ark(out)) == ["u1", "u3"]
    status, _, err = run(capfd, "subset-feats", f"--exclude={lst}", src, f"ark:{out}")
    assert status == 0
    assert messages(err, "LOG") == [" Wrote 2 out of 4 utterances."]
    got = read_ark(out)
    assert list(got) == ["u2", "u4"]
    np.testing.assert_array_equal(got["u4"], items["u4"])
    none = tmp_path / "none"
    none.write_text("nobody\n")
    status, _, err = run(capfd, "subset-feats", f"--include={none}", src, f"ark:{out}")
    assert status == 1 and messages(err, "LOG") == [" Wrote 0 out of 4 utterances."]


@pytest.mark.parametrize(
    "flags, error",
    [
        (["--include=L", "--n=3"], "Should not have both --include and --n option!"),
        (["--exclude=L", "--n=3"], "Should not have both --exclude and --n option!"),
        (["--include=L", "--exclude=L"], "should not have both --exclude and --include option!"),
    ],
)
def test_subset_feats_conflicting_options(tmp_path: Path, capfd, flags, error) -> None:
    src, _ = _four(tmp_path)
    lst = tmp_path / "list"
    lst.write_text("u1\n")
    flags = [f.replace("=L", f"={lst}") for f in flags]
    status, _, err = run(capfd, "subset-feats", *flags, src, f"ark:{tmp_path / 'o.ark'}")
    assert status == 255 and messages(err, "ERROR") == [error]


def test_subset_feats_empty_line_in_list_is_fatal(tmp_path: Path, capfd) -> None:
    src, _ = _four(tmp_path)
    lst = tmp_path / "list"
    lst.write_text("u1\n \nu2\n")
    status, _, err = run(capfd, "subset-feats", f"--include={lst}", src, f"ark:{tmp_path / 'o.ark'}")
    assert status == 255 and messages(err, "ERROR")


# -- concat-feats / paste-feats -----------------------------------------------------------

def test_concat_feats_three_files_and_dim_mismatch(tmp_path: Path, capfd) -> None:
    parts = [mat(2, 3), mat(1, 3), mat(4, 3)]
    names = []
    for i, p in enumerate(parts):
        names.append(str(tmp_path / f"{i}.mat"))
        write_object(names[-1], p, "matrix")
    out = tmp_path / "cat.mat"
    assert run(capfd, "concat-feats", *names, str(out))[0] == 0
    np.testing.assert_array_equal(parse_binary_matrix(out.read_bytes()), np.vstack(parts))
    write_object(str(tmp_path / "w.mat"), mat(2, 4), "matrix")
    status, _, err = run(capfd, "concat-feats", names[0], str(tmp_path / "w.mat"), str(tmp_path / "x.mat"))
    assert status == 255 and messages(err, "ERROR")
    assert not (tmp_path / "x.mat").exists()


def test_paste_feats_single_files(tmp_path: Path, capfd) -> None:
    a, b = mat(5, 2), mat(4, 3)
    fa, fb = str(tmp_path / "a.mat"), str(tmp_path / "b.mat")
    write_object(fa, a, "matrix")
    write_object(fb, b, "matrix")
    out = tmp_path / "p.mat"
    status, _, err = run(capfd, "paste-feats", "--length-tolerance=1", "--binary=false", fa, fb, str(out))
    assert status == 0 and messages(err, "LOG") == [f"Wrote appended features to {out}"]
    np.testing.assert_allclose(read_object(str(out)), np.hstack([a[:4], b]), rtol=1e-6, atol=1e-7)
    assert out.read_bytes().startswith(b" [")
    status, _, err = run(capfd, "paste-feats", fa, fb, str(tmp_path / "q.mat"))
    assert status == 1
    assert messages(err, "WARNING") == ["Length mismatch 5 vs. 4 exceeds tolerance 0"]
    assert not (tmp_path / "q.mat").exists()


def test_paste_feats_tables_missing_keys(tmp_path: Path, capfd) -> None:
    a = {"u1": mat(3, 2), "u2": mat(3, 2), "u3": mat(3, 2)}
    b = {"u1": mat(3, 1), "u3": mat(2, 1)}
    sa, sb = write_ark(tmp_path / "a.ark", a), write_ark(tmp_path / "b.ark", b)
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "paste-feats", sa, sb, f"ark:{out}")
    assert status == 0
    assert messages(err, "WARNING") == [
        f"Missing utt u2 from input {sb}",
        "Length mismatch 3 vs. 2 for utt u3 exceeds tolerance 0",
    ]
    assert messages(err, "LOG") == ["Done 1 utts, errors on 2"]
    got = read_ark(out)
    assert list(got) == ["u1"]
    np.testing.assert_array_equal(got["u1"], np.hstack([a["u1"], b["u1"]]))
    # Nothing pasted: Kaldi returns -1.
    sc = write_ark(tmp_path / "c.ark", {"zz": mat(3, 1)})
    status, _, err = run(capfd, "paste-feats", sa, sc, f"ark:{tmp_path / 'o2.ark'}")
    assert status == 255 and messages(err, "LOG") == ["Done 0 utts, errors on 3"]


# -- matrix-sum ---------------------------------------------------------------------------

def test_matrix_sum_tables_average(tmp_path: Path, capfd) -> None:
    ms = [{"u1": mat(2, 3), "u2": mat(4, 1)} for _ in range(3)]
    specs = [write_ark(tmp_path / f"{i}.ark", m) for i, m in enumerate(ms)]
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "matrix-sum", "--average=true", *specs, f"ark:{out}")
    assert status == 0
    assert messages(err, "LOG") == [
        "Processed 2 utterances: with a total of 6 matrices across 3 different systems",
        "Produced output for 2 utterances; 0 total missing matrices",
    ]
    got = read_ark(out)
    scale = np.float32(1.0 / 3)  # Kaldi's BaseFloat scale applied to every input
    for k in ("u1", "u2"):
        expect = sum(scale.astype(np.float64) * m[k].astype(np.float64) for m in ms)
        np.testing.assert_allclose(got[k], expect, rtol=1e-6, atol=1e-7)


def test_matrix_sum_tables_scales_missing_and_mismatch(tmp_path: Path, capfd) -> None:
    a = {"u1": mat(2, 2), "u2": mat(2, 2), "u3": mat(2, 2)}
    b = {"u1": mat(2, 2), "u2": mat(3, 2)}
    c = {"u1": mat(2, 2), "u2": mat(2, 2), "u3": mat(2, 2)}
    sa, sb, sc = (write_ark(tmp_path / f"{n}.ark", d) for n, d in (("a", a), ("b", b), ("c", c)))
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "matrix-sum", "--scale1=2", "--scale2=-1", sa, sb, sc, f"ark:{out}")
    # 1 missing < 3 - 1 successes: status 0
    assert status == 0
    assert messages(err, "WARNING") == [
        f"Dimension mismatch for utterance u2 : 3 by 2 for system 2, rspecifier: {sb} vs 2 by 2 primary matrix, "
        f"rspecifier:{sa}",
        f"No matrix found for utterance u3 for system 2, rspecifier: {sb}",
    ]
    assert messages(err, "LOG") == [
        "Processed 3 utterances: with a total of 8 matrices across 3 different systems",
        "Produced output for 3 utterances; 1 total missing matrices",
    ]
    got = read_ark(out)
    np.testing.assert_allclose(got["u1"], 2 * a["u1"] - b["u1"] + c["u1"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got["u2"], 2 * a["u2"] + c["u2"], rtol=1e-6, atol=1e-6)  # system 2 skipped
    np.testing.assert_allclose(got["u3"], 2 * a["u3"] + c["u3"], rtol=1e-6, atol=1e-6)
    # Two utterances, one missing: 1 < 2 - 1 fails, exit status 1 (output still written).
    sa2 = write_ark(tmp_path / "a2.ark", {"u1": a["u1"], "u3": a["u3"]})
    status, _, _ = run(capfd, "matrix-sum", sa2, sb, f"ark:{out}")
    assert status == 1
    assert list(read_ark(out)) == ["u1", "u3"]


def test_matrix_sum_table_to_single_file(tmp_path: Path, capfd) -> None:
    items = {"u1": mat(2, 3), "e": np.zeros((0, 0), np.float32), "u2": mat(2, 3), "bad": mat(3, 3), "u3": mat(2, 3)}
    src = write_ark(tmp_path / "f.ark", items)
    out = tmp_path / "sum.txt"
    status, _, err = run(capfd, "matrix-sum", "--binary=false", src, str(out))
    assert status == 0
    assert messages(err, "WARNING") == ["Zero matrix input for key e", "Dimension mismatch for key bad: 3 by 3 vs. 2 by 3"]
    assert messages(err, "LOG") == [f"Summed 3 matrices, 2 with errors; wrote sum to {out}"]
    expect = items["u1"].astype(np.float64) + items["u2"] + items["u3"]
    np.testing.assert_allclose(read_object(str(out)), expect, rtol=1e-6, atol=1e-6)
    assert out.read_text().startswith(" [")
    status, _, err = run(capfd, "matrix-sum", "--average=true", src, str(out))
    assert status == 255
    assert messages(err, "ERROR") == ["--average option not compatible with type two usage."]
    status, _, _ = run(capfd, "matrix-sum", "--scale1=2", src, str(out))
    assert status == 255
    # Errors not fewer than successes: status 1; an empty table writes an empty matrix.
    src2 = write_ark(tmp_path / "g.ark", {"u1": mat(2, 3), "bad": mat(1, 1)})
    assert run(capfd, "matrix-sum", src2, str(out))[0] == 1
    empty = tmp_path / "e.ark"
    empty.write_bytes(b"")
    status, _, err = run(capfd, "matrix-sum", f"ark:{empty}", str(out))
    assert status == 1
    assert parse_binary_matrix(out.read_bytes()).shape == (0, 0)


def test_matrix_sum_single_files(tmp_path: Path, capfd) -> None:
    small, big = mat(2, 2), mat(3, 4)
    fs, fb = str(tmp_path / "s.mat"), str(tmp_path / "b.mat")
    write_object(fs, small, "matrix")
    write_object(fb, big, "matrix")
    out = tmp_path / "o.mat"
    status, _, err = run(capfd, "matrix-sum", "--average=true", fs, fb, str(out))
    assert status == 0
    assert messages(err, "LOG") == [f"Summed 2 matrices; wrote sum to {out}"]
    expect = big.astype(np.float64)
    expect[:2, :2] += small
    np.testing.assert_allclose(parse_binary_matrix(out.read_bytes()), expect * 0.5, rtol=1e-6)
    # A later input smaller than the sum so far: Kaldi's AddMat asserts (fatal).
    status, _, err = run(capfd, "matrix-sum", fb, fs, str(out))
    assert status == 255 and messages(err, "ERROR")
    # A table among the inputs of the third usage is fatal.
    status, _, err = run(capfd, "matrix-sum", fs, f"ark:{tmp_path / 'x.ark'}", str(out))
    assert status == 255
    assert messages(err, "ERROR") == [
        "Wrong usage (type 3): if first and last arguments are not tables, "
        "the intermediate arguments must not be tables."
    ]


def test_matrix_sum_bad_usage_prints_usage(tmp_path: Path, capfd) -> None:
    # Three or more arguments, a table first and a file last: no usage matches, status 1
    # (even with --scale1, which Kaldi checks only inside the second and third usages).
    src = write_ark(tmp_path / "f.ark", {"u": mat(1, 1)})
    for flags in ([], ["--scale1=2"]):
        status, _, err = run(capfd, "matrix-sum", *flags, src, src, str(tmp_path / "o.mat"))
        assert status == 1
        assert "Usage:" in err and not messages(err, "ERROR")
    assert not (tmp_path / "o.mat").exists()


# -- vector-sum ---------------------------------------------------------------------------

def test_vector_sum_tables(tmp_path: Path, capfd) -> None:
    a = {"u1": np.array([1, 2, 3], np.float32), "u2": np.array([1, 1], np.float32)}
    b = {"u1": np.array([10, 20, 30], np.float32), "u2": np.array([5], np.float32)}
    sa, sb = write_ark(tmp_path / "a.ark", a, "vector"), write_ark(tmp_path / "b.ark", b, "vector")
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "vector-sum", sa, sb, f"ark:{out}")
    assert status == 0
    assert messages(err, "WARNING") == [
        f"Dimension mismatch for utterance u2 : 1 for system 2, rspecifier: {sb} vs 2 primary vector, rspecifier:{sa}"
    ]
    assert messages(err, "LOG") == [
        "Processed 2 utterances: with a total of 4 vectors across 2 different systems",
        "Produced output for 2 utterances; 0 total missing vectors",
    ]
    got = read_ark(out, "vector")
    np.testing.assert_array_equal(got["u1"], [11, 22, 33])
    np.testing.assert_array_equal(got["u2"], [1, 1])


def test_vector_sum_table_to_single_file_average(tmp_path: Path, capfd) -> None:
    items = {"a": np.array([1, 2], np.float32), "z": np.zeros(0, np.float32), "b": np.array([4, 8], np.float32),
             "c": np.array([1, 1, 1], np.float32), "d": np.array([7, 5], np.float32)}
    src = write_ark(tmp_path / "v.ark", items, "vector")
    out = tmp_path / "avg.vec"
    status, _, err = run(capfd, "vector-sum", "--average=true", "--binary=true", src, str(out))
    assert status == 0
    assert messages(err, "WARNING") == ["Zero vector input for key z", "Dimension mismatch for key c: 3 vs. 2"]
    assert messages(err, "LOG") == [f"Summed 3 vectors, 2 with errors; wrote sum to {out}"]
    np.testing.assert_allclose(parse_binary_vector(out.read_bytes()), [4.0, 5.0], rtol=1e-7)
    # vector-sum's --binary defaults to false in this build: text output
    status, _, _ = run(capfd, "vector-sum", src, str(out))
    assert status == 0
    assert out.read_text() == " [ 12 15 ]\n"
    # as many errors as successes: status 1
    src2 = write_ark(tmp_path / "w.ark", {"a": items["a"], "c": items["c"]}, "vector")
    assert run(capfd, "vector-sum", src2, str(out))[0] == 1


def test_vector_sum_single_files_grow_but_never_shrink(tmp_path: Path, capfd) -> None:
    names = []
    for i, v in enumerate(([1, 2], [10, 20, 30], [100, 200, 300])):
        names.append(str(tmp_path / f"{i}.vec"))
        write_object(names[-1], np.array(v, np.float32), "vector")
    out = tmp_path / "o.vec"
    status, _, err = run(capfd, "vector-sum", "--average=true", *names, str(out))  # no averaging here
    assert status == 0
    assert messages(err, "LOG") == [f"Summed 3 vectors; wrote sum to {out}"]
    assert out.read_text() == " [ 111 222 330 ]\n"
    status, _, err = run(capfd, "vector-sum", names[1], names[0], str(out))
    assert status == 255 and messages(err, "ERROR")


# -- sum-matrices -------------------------------------------------------------------------

def test_sum_matrices(tmp_path: Path, capfd) -> None:
    ms = [mat(2, 3) for _ in range(3)]
    names = []
    for i, m in enumerate(ms):
        names.append(str(tmp_path / f"{i}.mat"))
        write_object(names[-1], m, "matrix", binary=bool(i % 2))
    empty = str(tmp_path / "empty.mat")
    write_object(empty, np.zeros((0, 0), np.float32), "matrix")
    out = tmp_path / "sum.mat"
    status, _, err = run(capfd, "sum-matrices", str(out), empty, names[0], empty, names[1], names[2])
    assert status == 0
    # Kaldi counts every argument, the skipped empty ones included.
    assert messages(err, "LOG") == ["Summed 5 matrices  of dimension 2 by 3"]
    expect = sum(read_object(n).astype(np.float64) for n in names)
    np.testing.assert_allclose(parse_binary_matrix(out.read_bytes()), expect, rtol=1e-6, atol=1e-6)
    other = str(tmp_path / "other.mat")
    write_object(other, mat(3, 3), "matrix")
    status, _, err = run(capfd, "sum-matrices", str(out), names[0], other)
    assert status == 255
    assert any("size mismatch 2, 3 vs. 3, 3" in e for e in messages(err, "ERROR"))
    status, _, _ = run(capfd, "sum-matrices", str(out), str(tmp_path / "missing.mat"))
    assert status == 255


# -- extract-feature-segments ---------------------------------------------------------

def test_extract_feature_segments(tmp_path: Path, capfd) -> None:
    feats = mat(100, 3)
    src = write_ark(tmp_path / "f.ark", {"u1": feats})
    seg = tmp_path / "segments"
    lines = [
        "s1 u1 0.10 0.50",  # frames round(10) .. round(50) - 2 (snip: ceil((25-10)/10))
        "s2 u1 0.80 1.05",  # end 103 > 100 frames: too far without --max-overshoot
        "s3 u1 0.30 0.35",  # 33 <= 30 + 10: too short
        "s4 u2 0 1",
        "s5 u1 abc 1",
        "s6 u1 1 1_0",  # C++ streams do not read digit separators
        "s7 u1 0.5 0.4",
        "s8 u1 0 1 -1",
        "too few",
        "s9 u1 1.5 2.0",
        "s10\tu1 0.2 0.6 1\r",
        "",
    ]
    seg.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.ark"
    status, _, err = run(capfd, "extract-feature-segments", src, str(seg), f"ark:{out}")
    assert status == 0
    assert messages(err, "WARNING") == [
        "End sample too far out of range 103 [length:] 100x3, skipping segment s2",
        "Segment s3 too short, skipping it.",
        "Did not find features for utterance u2, skipping segment s4",
        "Invalid line in segments file [bad start]: s5 u1 abc 1",
        "Invalid line in segments file [bad end]: s6 u1 1 1_0",
        "Invalid line in segments file [empty or invalid segment]: s7 u1 0.5 0.4",
        "Invalid line in segments file [bad channel]: s8 u1 0 1 -1",
        "Invalid line in segments file: too few",
        "Start sample out of range 150 [length:] 100x3, skipping segment s9",
        "Invalid line in segments file: ",
    ]
    assert messages(err, "LOG") == ["Successfully processed 2 lines out of 12 in the segments file. "]
    got = read_ark(out)
    assert list(got) == ["s1", "s10"]
    np.testing.assert_array_equal(got["s1"], feats[10:48])
    np.testing.assert_array_equal(got["s10"], feats[20:58])
    # With overshoot allowed the end is truncated to the features' length.
    seg.write_text("s2 u1 0.80 1.05\n")
    status, _, err = run(capfd, "extract-feature-segments", "--max-overshoot=0.05", src, str(seg), f"ark:{out}")
    assert status == 0
    np.testing.assert_array_equal(read_ark(out)["s2"], feats[80:100])


def test_extract_feature_segments_options_are_floats(tmp_path: Path, capfd) -> None:
    feats = mat(100, 2)
    src = write_ark(tmp_path / "f.ark", {"u": feats})
    seg = tmp_path / "segments"
    seg.write_text("a u 0.00 0.13\n")
    out = tmp_path / "o.ark"
    # 0.105 as a C float is 0.10499999..., so the minimum is round(10.4999...) = 10 frames and
    # the 11-frame segment is kept (in double precision it would be 11 and the segment dropped).
    status, _, err = run(capfd, "extract-feature-segments", "--min-segment-length=0.105", src, str(seg), f"ark:{out}")
    assert status == 0, err
    np.testing.assert_array_equal(read_ark(out)["a"], feats[0:11])
    # Without snipping the end frame is round(end * 1000 / frame-shift).
    seg.write_text("a u 0.20 0.61\n")
    assert run(capfd, "extract-feature-segments", "--snip-edges=false", "--frame-shift=20", src, str(seg),
               f"ark:{out}")[0] == 0
    np.testing.assert_array_equal(read_ark(out)["a"], feats[10:31])  # round(30.5) = 31


def test_extract_feature_segments_nothing_extracted(tmp_path: Path, capfd) -> None:
    src = write_ark(tmp_path / "f.ark", {"u": mat(10, 2)})
    seg = tmp_path / "segments"
    seg.write_text("a u 5 6\nb u nan 1\n")
    status, _, err = run(capfd, "extract-feature-segments", src, str(seg), f"ark:{tmp_path / 'o.ark'}")
    assert status == 255
    assert messages(err, "WARNING") == [
        "Start sample out of range 500 [length:] 10x2, skipping segment a",
        # NaN passes Kaldi's range checks; int32(round(NaN)) is INT32_MIN on x86.
        "Start sample out of range -2147483648 [length:] 10x2, skipping segment b",
    ]
    assert messages(err, "LOG") == ["Successfully processed 0 lines out of 2 in the segments file. "]
    # --frame-shift=0 divides by zero in double precision: no crash, every start is INT32_MIN.
    status, _, err = run(capfd, "extract-feature-segments", "--frame-shift=0", src, str(seg), f"ark:{tmp_path / 'o.ark'}")
    assert status == 255
    assert messages(err, "WARNING")[0] == "Start sample out of range -2147483648 [length:] 10x2, skipping segment a"


# -- compare-feats ------------------------------------------------------------------------

def _similarity(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, float]:
    p1 = sum((a.astype(np.float64) ** 2).sum(axis=0) for a, _ in pairs)
    p2 = sum((b.astype(np.float64) ** 2).sum(axis=0) for _, b in pairs)
    cross = sum((a.astype(np.float64) * b).sum(axis=0) for a, b in pairs)
    sim = 2 * cross / (p1 + p2)
    return sim, float(sim.mean())


def test_compare_feats_identical_and_different(tmp_path: Path, capfd) -> None:
    a = {"u1": mat(4, 3), "u2": mat(2, 3)}
    sa = write_ark(tmp_path / "a.ark", a)
    status, _, err = run(capfd, "compare-feats", sa, sa)
    assert status == 0
    assert "Similarity metric for each dimension  [ 1 1 1 ]\n (1.0 means identical" in err
    assert "Overall similarity for the two feats is:1 (1.0 means identical, the smaller the more different)" in err
    assert "Features are considered similar since 1 >= 0.99" in err
    assert "Processed 2 feature files, 0 had errors." in err
    b = {k: v + np.float32(0.5) * mat(*v.shape) for k, v in a.items()}
    sb = write_ark(tmp_path / "b.ark", b)
    status, _, err = run(capfd, "compare-feats", sa, sb)
    sim, overall = _similarity([(a[k], b[k]) for k in a])
    assert overall < 0.99
    assert status == 1
    p1 = sum((a[k].astype(np.float64) ** 2).sum(axis=0) for k in a)
    # Vectors are logged as `os << Vector` writes them: " [ x y z ]" and a newline, %g numbers.
    m = re.search(r"self-product of 1st features for each column dimension:  \[ ((?:\S+ )*)\]\n\n", err)
    assert m is not None
    np.testing.assert_allclose(np.array(m.group(1).split(), dtype=float), p1, rtol=1e-5)
    assert all(len(t.replace("-", "").replace(".", "").lstrip("0")) <= 6 for t in m.group(1).split())
    m = re.search(r"Similarity metric for each dimension  \[ ((?:\S+ )*)\]\n \(1\.0 means identical", err)
    assert m is not None
    np.testing.assert_allclose(np.array(m.group(1).split(), dtype=float), sim, rtol=1e-5)
    m = re.search(r"Features are considered dissimilar since (\S+) < 0\.99\n", err)
    assert m is not None and float(m.group(1)) == pytest.approx(overall, rel=1e-5)
    status, _, err = run(capfd, "compare-feats", f"--threshold={overall - 0.01}", sa, sb)
    assert status == 0 and "Features are considered similar since" in err

def test_compare_feats_missing_keys_dims_and_frames(tmp_path: Path, capfd) -> None:
    a = {"u1": mat(3, 2), "u2": mat(3, 2), "u3": mat(3, 2)}
    b = {"u1": a["u1"].copy(), "u3": mat(3, 4)}
    sa, sb = write_ark(tmp_path / "a.ark", a), write_ark(tmp_path / "b.ark", b)
    status, _, err = run(capfd, "compare-feats", sa, sb)
    assert status == 0
    assert messages(err, "WARNING") == [
        "Second table has no feature for utterance u2",
        "Feature dimensions differ for utterance u3, 2 vs. 4, skipping  utterance.u3",
    ]
    assert "Processed 1 feature files, 2 had errors." in err
    sc = write_ark(tmp_path / "c.ark", {"u1": mat(2, 2)})
    status, _, err = run(capfd, "compare-feats", sa, sc)
    assert status == 255 and messages(err, "ERROR")


def test_compare_feats_zero_column_and_empty_table(tmp_path: Path, capfd) -> None:
    m = mat(3, 2)
    m[:, 1] = 0
    sa = write_ark(tmp_path / "a.ark", {"u": m})
    status, _, err = run(capfd, "compare-feats", sa, sa)
    # 0/0 in the zero column: Kaldi divides as is and the overall similarity is NaN.
    assert status == 1
    assert re.search(r"Similarity metric for each dimension  \[ 1 -?nan \]", err)
    assert re.search(r"Overall similarity for the two feats is:-?nan ", err)
    assert "Features are considered dissimilar since" in err
    empty = tmp_path / "e.ark"
    empty.write_bytes(b"")
    status, _, err = run(capfd, "compare-feats", f"ark:{empty}", sa)
    assert status == 1
    assert "cross-product for each column dimension:  [ ]\n" in err
    assert "Processed 0 feature files, 0 had errors." in err
    assert "considered" not in err


# -- one real process per family ---------------------------------------------------------

def test_subprocess_copy_matrix_text_to_stdout(tmp_path: Path) -> None:
    m = np.array([[0.0, np.log(3.0)]], dtype=np.float32)
    src = write_ark(tmp_path / "m.ark", {"u": m})
    proc = subprocess.run(
        [sys.executable, "-m", "kaldibridge", "copy-matrix", "--apply-softmax-per-row", src, "ark,t:-"],
        capture_output=True, check=False, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert text.startswith("u  [\n")
    values = np.array(text.split("[")[1].split("]")[0].split(), dtype=np.float64)
    np.testing.assert_allclose(values, [0.25, 0.75], rtol=1e-6)
    assert "Copied 1 matrices." in proc.stderr.decode()


def test_subprocess_feat_to_len_unreadable(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kaldibridge", "feat-to-len", f"scp:{tmp_path / 'nope.scp'}"],
        capture_output=True, check=False, timeout=120,
    )
    assert proc.returncode == 255
    assert proc.stdout == b""
    assert b"ERROR (" in proc.stderr
