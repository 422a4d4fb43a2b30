"""rspecifier/wspecifier/rxfilename/wxfilename grammar (Kaldi's parsers)."""

from __future__ import annotations

import pytest

from kaldibridge.errors import FormatError
from kaldibridge.kaldi.table.specifiers import (
    classify_rxfilename,
    classify_wxfilename,
    parse_matrix_range,
    parse_rspecifier,
    parse_wspecifier,
    split_offset,
    split_range,
)


@pytest.mark.parametrize(
    ("spec", "kind", "rx", "flags"),
    [
        ("ark:foo.ark", "ark", "foo.ark", {}),
        ("scp:foo.scp", "scp", "foo.scp", {}),
        ("ark,s,cs:foo", "ark", "foo", {"sorted": True, "called_sorted": True}),
        ("o,p,ark:-", "ark", "-", {"once": True, "permissive": True}),
        ("ark,o,no:x", "ark", "x", {"once": False}),
        ("scp,p,np:x", "scp", "x", {"permissive": False}),
        ("ark,bg:x", "ark", "x", {"background": True}),
        ("b,t,ark:x", "ark", "x", {}),
        ("ark,s,ns,cs,ncs:x", "ark", "x", {"sorted": False, "called_sorted": False}),
        ("ark:gunzip -c a.gz |", "ark", "gunzip -c a.gz |", {}),
        ("ark:", "ark", "", {}),
        ("ark:a:b", "ark", "a:b", {}),
    ],
)
def test_rspecifier_ok(spec: str, kind: str, rx: str, flags: dict) -> None:
    r = parse_rspecifier(spec)
    assert r.kind == kind and r.rxfilename == rx
    for name, value in flags.items():
        assert getattr(r, name) is value


@pytest.mark.parametrize(
    "spec",
    [
        "foo.ark",  # no colon
        "ark:foo ",  # trailing space
        "ark,scp:a",  # both
        "ark,ark:a",
        "b, ark:a",  # Kaldi's parser: empty option between ',' and ' '
        "ark,,s:a",
        "ark,f:a",  # f is a wspecifier option only
        "ark,x:a",
        "s,cs:a",  # neither ark nor scp
    ],
)
def test_rspecifier_bad(spec: str) -> None:
    with pytest.raises(FormatError):
        parse_rspecifier(spec)


def test_unknown_modifier_message_names_it() -> None:
    with pytest.raises(FormatError, match="'zz'"):
        parse_rspecifier("ark,zz:a")


@pytest.mark.parametrize(
    ("spec", "kind", "ark", "scp", "binary", "flush", "permissive"),
    [
        ("ark:a.ark", "ark", "a.ark", None, True, False, False),
        ("ark,t:-", "ark", "-", None, False, False, False),
        ("ark,t,b:x", "ark", "x", None, True, False, False),
        ("ark,scp:a.ark,a.scp", "ark,scp", "a.ark", "a.scp", True, False, False),
        ("ark,scp,t,nf:foo.ark,|gzip -c > foo.scp.gz", "ark,scp", "foo.ark", "|gzip -c > foo.scp.gz", False, False, False),
        ("ark,f:x", "ark", "x", None, True, True, False),
        ("ark,f,nf:x", "ark", "x", None, True, False, False),
        ("scp,p:list.scp", "scp", None, "list.scp", True, False, True),
        ("ark:| gzip -c > f.gz", "ark", "| gzip -c > f.gz", None, True, False, False),
    ],
)
def test_wspecifier_ok(spec, kind, ark, scp, binary, flush, permissive) -> None:
    w = parse_wspecifier(spec)
    assert (w.kind, w.ark_wxfilename, w.scp_wxfilename) == (kind, ark, scp)
    assert (w.binary, w.flush, w.permissive) == (binary, flush, permissive)


@pytest.mark.parametrize(
    "spec", ["a.ark", "scp,ark:a,b", "ark,scp:onlyone", "ark,ark:x", "scp,scp:x", "ark,s:x", "ark,o:x", "ark:x\n"]
)
def test_wspecifier_bad(spec: str) -> None:
    with pytest.raises(FormatError):
        parse_wspecifier(spec)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("", "stdin"),
        ("-", "stdin"),
        ("gunzip -c x.gz |", "pipe"),
        ("foo.ark:123", "offset"),
        ("foo.ark", "file"),
        ("a:b", "file"),
        ("/tmp/x:y:12", "offset"),
        ("12", "file"),
    ],
)
def test_classify_rx(name: str, kind: str) -> None:
    assert classify_rxfilename(name) == kind


@pytest.mark.parametrize("name", ["| cmd", " foo", "foo ", "a|b", "ark:foo", "scp:x.scp"])
def test_classify_rx_bad(name: str) -> None:
    with pytest.raises(FormatError):
        classify_rxfilename(name)


@pytest.mark.parametrize(("name", "kind"), [("", "stdout"), ("-", "stdout"), ("| gzip > x", "pipe"), ("x.ark", "file")])
def test_classify_wx(name: str, kind: str) -> None:
    assert classify_wxfilename(name) == kind


@pytest.mark.parametrize("name", ["cmd |", "foo.ark:12", " x", "a|b", "ark:x"])
def test_classify_wx_bad(name: str) -> None:
    with pytest.raises(FormatError):
        classify_wxfilename(name)


def test_split_offset_and_range() -> None:
    assert split_offset("a/b.ark:1234") == ("a/b.ark", 1234)
    assert split_range("a.ark:9[0:9]") == ("a.ark:9", "0:9")
    assert split_range("a.ark:9") == ("a.ark:9", None)
    with pytest.raises(FormatError):
        split_range("a[b[0:1]")


@pytest.mark.parametrize(
    ("spec", "rows", "cols", "expected"),
    [
        ("10:19", 100, 5, (10, 20, 0, 5)),  # inclusive: 10 rows
        ("0:0", 3, 2, (0, 1, 0, 2)),
        ("10:19,1:2", 100, 5, (10, 20, 1, 3)),
        (":,0:1", 100, 5, (0, 100, 0, 2)),
        (",3:4", 100, 5, (0, 100, 3, 5)),
        ("5:9,:", 100, 5, (5, 10, 0, 5)),
        ("95:101", 100, 5, (95, 100, 0, 5)),  # tolerance: clipped at the end
    ],
)
def test_matrix_range(spec, rows, cols, expected) -> None:
    assert parse_matrix_range(spec, rows, cols) == expected


@pytest.mark.parametrize("spec", ["", "5:3", "0:103", "0:1,0:5", "-1:3", "a:b", "1:2:3", "0:1,", "1"])
def test_matrix_range_bad(spec: str) -> None:
    with pytest.raises(FormatError):
        parse_matrix_range(spec, 100, 5)


def test_vector_range() -> None:
    assert parse_matrix_range("2:4", 10, None) == (2, 5, 0, 0)
    with pytest.raises(FormatError):
        parse_matrix_range("2:4,0:1", 10, None)
