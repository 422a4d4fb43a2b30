"""Byte-exact text primitives behind the data-directory scripts.

Kaldi's data-directory scripts are glue of ``awk``, ``perl``, ``sort`` and ``cmp`` running
under ``LC_ALL=C``. Their results depend on small details of each tool (which characters
separate fields, what a sort key is, how awk prints a number), so this module
reproduces exactly those details on ``bytes`` lines:

* a file is a list of lines without their ``\\n`` (a missing final newline is tolerated);
* :func:`awk_fields` splits as awk's default ``FS`` (space, tab, newline: a CR stays in
  the field), :func:`perl_fields` as Perl's ``split(" ")`` (any ASCII whitespace);
* :func:`sort_key1_unique`, :func:`sort_lines`, :func:`sort_k2`, :func:`sort_numeric_k2`
  are GNU ``sort`` in the C locale with the options the scripts use;
* :func:`awk_num` prints a number as awk's ``print`` does (``%.6g``, integers as integers).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from kaldibridge.errors import FormatError, KaldiIOError

__all__ = [
    "read_lines",
    "write_lines",
    "awk_fields",
    "perl_fields",
    "first_token",
    "awk_first",
    "sort_key1_unique",
    "sort_lines",
    "sort_k2",
    "is_sorted_k2",
    "sort_numeric_k2",
    "uniq",
    "awk_num",
    "awk_to_number",
    "awk_looks_numeric",
    "awk_gt",
    "cmp_first_difference",
]

_AWK_SPLIT = re.compile(rb"[ \t\n]+")
_SORT_FIELD = re.compile(rb"[ \t]*[^ \t]*")
_NUM_RE = re.compile(rb"^[ \t\n\r\f\v]*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)[ \t\n\r\f\v]*$")
_NUM_PREFIX = re.compile(rb"^[ \t\n\r\f\v]*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)")
_SORT_N_PREFIX = re.compile(rb"^[ \t]*(-?)(\d*)(\.\d*)?")


def read_lines(path: str | os.PathLike[str]) -> list[bytes]:
    """Reads a text file as a list of byte lines without their newline.

    Args:
        path: the file.

    Returns:
        The lines; an empty file gives ``[]``; a last line without newline is kept.

    Raises:
        KaldiIOError: the file cannot be read.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise KaldiIOError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from e
    return split_lines(data)


def split_lines(data: bytes) -> list[bytes]:
    """Splits bytes into lines (without ``\\n``), as line-oriented tools read them."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def join_lines(lines: Iterable[bytes]) -> bytes:
    """The file content for ``lines``, each terminated by ``\\n``."""
    lines = list(lines)
    return b"\n".join(lines) + b"\n" if lines else b""


def write_lines(path: str | os.PathLike[str], lines: Iterable[bytes]) -> None:
    """Writes lines, each followed by ``\\n``.

    Raises:
        KaldiIOError: the file cannot be written.
    """
    try:
        Path(path).write_bytes(join_lines(lines))
    except OSError as e:
        raise KaldiIOError(f"cannot write {os.fspath(path)}: {e.strerror or e}") from e


def awk_fields(line: bytes) -> list[bytes]:
    """Fields as awk's default field separator makes them (space, tab, newline)."""
    if b"\r" not in line and b"\x0b" not in line and b"\x0c" not in line:
        return line.split()  # the same split when no CR/VT/FF is present
    return [f for f in _AWK_SPLIT.split(line) if f]


def awk_first(line: bytes) -> bytes:
    """awk's ``$1`` (empty for a blank line)."""
    f = awk_fields(line)
    return f[0] if f else b""


def perl_fields(line: bytes) -> list[bytes]:
    """Fields as Perl's ``split(" ", $_)`` makes them (any ASCII whitespace, CR included)."""
    return line.split()


def first_token(line: bytes) -> bytes | None:
    """The first whitespace-free token (Perl ``m/\\s*(\\S+)\\s*/``), or None on a blank line."""
    f = line.split(None, 1)
    return f[0] if f else None


def _sort_field_start(line: bytes, field: int) -> int:
    """Byte offset where GNU sort's field ``field`` (1-based, blanks leading) starts."""
    pos = 0
    for _ in range(field - 1):
        pos = _SORT_FIELD.match(line, pos).end()  # type: ignore[union-attr]
    return pos


def sort_key1_unique(lines: Sequence[bytes]) -> list[bytes]:
    """``sort -k1,1 -u``: order by the first field, keep the first line of each key."""
    def key(line: bytes) -> bytes:
        return _SORT_FIELD.match(line).group()  # type: ignore[union-attr]

    out: list[bytes] = []
    last: bytes | None = None
    for line in sorted(lines, key=key):  # stable: first in file order wins
        k = key(line)
        if k != last:
            out.append(line)
            last = k
    return out


def sort_lines(lines: Iterable[bytes]) -> list[bytes]:
    """``sort`` (and ``sort -k1``) in the C locale: byte order of whole lines."""
    return sorted(lines)


def _k2(line: bytes) -> tuple[bytes, bytes]:
    return (line[_sort_field_start(line, 2):], line)


def sort_k2(lines: Iterable[bytes]) -> list[bytes]:
    """``sort -k2``: by everything from field 2, ties by the whole line."""
    return sorted(lines, key=_k2)


def is_sorted_k2(lines: Sequence[bytes]) -> bool:
    """``sort -k2 -C``."""
    keys = [_k2(x) for x in lines]
    return all(a <= b for a, b in zip(keys, keys[1:]))


def _sort_n_value(field: bytes) -> float:
    m = _SORT_N_PREFIX.match(field)
    if not m or not (m.group(2) or (m.group(3) and len(m.group(3)) > 1)):
        return 0.0
    txt = (m.group(1) + (m.group(2) or b"0") + (m.group(3) or b"")).rstrip(b".")
    return float(txt)


def sort_numeric_k2(lines: Iterable[bytes]) -> list[bytes]:
    """``sort -n -k2``: numeric value at the start of field 2, ties by the whole line."""
    return sorted(lines, key=lambda s: (_sort_n_value(s[_sort_field_start(s, 2):]), s))


def uniq(lines: Iterable[bytes]) -> list[bytes]:
    """``uniq``: drops adjacent repeats."""
    out: list[bytes] = []
    for line in lines:
        if not out or out[-1] != line:
            out.append(line)
    return out


def awk_looks_numeric(field: bytes) -> bool:
    """Whether awk treats an input field as a number in comparisons (a "strnum")."""
    return bool(_NUM_RE.match(field))


def awk_to_number(field: bytes) -> float:
    """awk's string-to-number conversion (the leading numeric prefix, else 0)."""
    m = _NUM_PREFIX.match(field)
    return float(m.group(1)) if m else 0.0


def awk_gt(field: bytes, const: float) -> bool:
    """``$n > const`` in awk: numeric if the field looks numeric, else a string comparison."""
    if awk_looks_numeric(field):
        return awk_to_number(field) > const
    return field > awk_num(const).encode()


def awk_num(x: float) -> str:
    """A number as awk's ``print`` writes it: integral values as integers, else ``%.6g``."""
    if x == x and abs(x) < 2**31 and x == int(x):
        return str(int(x))
    return "%.6g" % x


def cmp_first_difference(a: bytes, b: bytes) -> tuple[int, int] | None:
    """``cmp``'s report: 1-based (byte, line) of the first difference, None if equal or prefix."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    if i == n:
        return None
    return i + 1, a[:i].count(b"\n") + 1


def check_format(cond: bool, msg: str) -> None:
    """Raises :class:`FormatError` with ``msg`` unless ``cond``."""
    if not cond:
        raise FormatError(msg)
