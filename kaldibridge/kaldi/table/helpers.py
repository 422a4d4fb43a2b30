"""Small kaldiio-shaped helpers over the table readers and writers.

``read_mat``/``read_vec``/``write_mat``/``write_vec`` handle single objects;
``load_ark``/``load_scp`` and ``ReadHelper``/``WriteHelper`` handle tables.
``read_integer_vector``/``write_integer_vector`` handle Kaldi's single-file int32 vector
format (``ReadIntegerVector``/``WriteIntegerVector``), which differs from the archive holder's. Names and
call styles follow kaldiio so its users feel at home; the implementations are
kaldibridge's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from kaldibridge.errors import FormatError

from kaldibridge.kaldi.table.readers import (
    RandomAccessTableReader,
    SequentialTableReader,
    read_object,
)
from kaldibridge.kaldi.table.writers import TableWriter, write_object
from kaldibridge.kaldi.table.xfilename import open_rx, open_wx

__all__ = [
    "read_mat",
    "read_vec",
    "read_int_vec",
    "write_mat",
    "write_vec",
    "load_ark",
    "load_scp",
    "save_ark",
    "ReadHelper",
    "WriteHelper",
    "read_integer_vector",
    "write_integer_vector",
]


def read_mat(
    rxfilename: str, *, double: bool = False, as_torch: bool = False, allow_pipes: bool | None = None
) -> Any:
    """Reads one matrix (FM/DM/CM*/text) from an rxfilename, e.g. ``"feats.ark:1234[0:9]"``.

    Returns:
        ``(rows, cols)`` float32 (float64 with ``double=True``) array or tensor.
    """
    return read_object(
        rxfilename, "double_matrix" if double else "matrix", as_torch=as_torch, allow_pipes=allow_pipes
    )


def read_vec(
    rxfilename: str, *, double: bool = False, as_torch: bool = False, allow_pipes: bool | None = None
) -> Any:
    """Reads one float vector (FV/DV/text) from an rxfilename. Returns ``(dim,)``."""
    return read_object(
        rxfilename, "double_vector" if double else "vector", as_torch=as_torch, allow_pipes=allow_pipes
    )


def read_int_vec(rxfilename: str, *, as_torch: bool = False, allow_pipes: bool | None = None) -> Any:
    """Reads one int32 vector from an rxfilename. Returns ``(dim,)`` int32."""
    return read_object(rxfilename, "int_vector", as_torch=as_torch, allow_pipes=allow_pipes)


def write_mat(
    wxfilename: str,
    mat: Any,
    *,
    binary: bool = True,
    double: bool = False,
    compression_method: int | None = None,
    allow_pipes: bool | None = None,
) -> None:
    """Writes one matrix to a wxfilename (FM, DM, a CM* with ``compression_method``, or text)."""
    if compression_method is not None:
        write_object(
            wxfilename, mat, "compressed_matrix", binary=binary, allow_pipes=allow_pipes,
            method=compression_method,
        )
        return
    write_object(
        wxfilename, mat, "double_matrix" if double else "matrix", binary=binary, allow_pipes=allow_pipes
    )


def write_vec(
    wxfilename: str, vec: Any, *, binary: bool = True, double: bool = False, allow_pipes: bool | None = None
) -> None:
    """Writes one float vector to a wxfilename."""
    write_object(
        wxfilename, vec, "double_vector" if double else "vector", binary=binary, allow_pipes=allow_pipes
    )


def load_ark(
    rxfilename: str, holder: str = "matrix", *, as_torch: bool = False, allow_pipes: bool | None = None
) -> Iterator[tuple[str, Any]]:
    """Iterates ``(key, value)`` over an archive given by its rxfilename (not rspecifier)."""
    with SequentialTableReader(
        "ark:" + rxfilename, holder, as_torch=as_torch, allow_pipes=allow_pipes
    ) as reader:
        yield from reader


def load_scp(
    rxfilename: str, holder: str = "matrix", *, as_torch: bool = False, allow_pipes: bool | None = None
) -> RandomAccessTableReader:
    """A lazy dict over an scp file: entries are read when accessed."""
    return RandomAccessTableReader(
        "scp:" + rxfilename, holder, as_torch=as_torch, allow_pipes=allow_pipes
    )


def save_ark(
    wxfilename: str,
    data: dict[str, Any],
    *,
    scp: str | None = None,
    text: bool = False,
    holder: str = "matrix",
    compression_method: int | None = None,
    allow_pipes: bool | None = None,
) -> None:
    """Writes a dict of values as an archive (and optionally its scp)."""
    WriteHelper_ = WriteHelper(
        ("ark,scp" if scp else "ark") + (",t" if text else "") + ":" + wxfilename + (("," + scp) if scp else ""),
        holder=holder,
        compression_method=compression_method,
        allow_pipes=allow_pipes,
    )
    with WriteHelper_ as w:
        for k, v in data.items():
            w(k, v)


def ReadHelper(  # noqa: N802 - kaldiio's name
    rspecifier: str, holder: str = "matrix", *, as_torch: bool = False, allow_pipes: bool | None = None
) -> SequentialTableReader:
    """A sequential reader usable as ``with ReadHelper("ark:x.ark") as r: for k, v in r: ...``."""
    return SequentialTableReader(rspecifier, holder, as_torch=as_torch, allow_pipes=allow_pipes)


def WriteHelper(  # noqa: N802 - kaldiio's name
    wspecifier: str,
    holder: str = "matrix",
    *,
    compression_method: int | None = None,
    allow_pipes: bool | None = None,
) -> TableWriter:
    """A table writer usable as ``with WriteHelper("ark,scp:a.ark,a.scp") as w: w(key, mat)``.

    ``compression_method`` (1..7) switches to compressed matrix output.
    """
    if compression_method is not None:
        return TableWriter(
            wspecifier, "compressed_matrix", allow_pipes=allow_pipes, method=compression_method
        )
    return TableWriter(wspecifier, holder, allow_pipes=allow_pipes)


_INT_TOKEN = re.compile(rb"[+-]?[0-9]+")


def read_integer_vector(rxfilename: str, *, allow_pipes: bool | None = None) -> np.ndarray:
    """Reads a single int32 vector file, e.g. the ``--indices`` files some tools take.

    This is not the ``int_vector`` table format (whose binary form has a size byte before
    every element): binary is ``\\0B``, the size byte 4, an int32 count and then the raw
    little-endian int32 values; text is ``[ 1 2 3 ]``.

    Args:
        rxfilename: path, ``-``, ``"cmd |"`` or ``file:OFFSET``.
        allow_pipes: ``False`` refuses shell pipes.

    Returns:
        ``(dim,)`` int32 array (freshly allocated).

    Raises:
        FormatError: the content is not an integer vector (message: file, offset).

    Kaldi: ``ReadIntegerVector`` (``src/base/io-funcs-inl.h``).
    """
    with open_rx(rxfilename, allow_pipes=allow_pipes) as stream:
        data = stream.read(-1)
    if data[:2] == b"\0B":
        if len(data) < 3 or data[2] != 4:
            saw = data[2] if len(data) > 2 else -1
            raise FormatError(
                f"{rxfilename}: expected an int32 vector (size byte 4), saw {saw} at offset 2"
            )
        if len(data) < 7:
            raise FormatError(f"{rxfilename}: int32 vector cut short in its size at offset 3")
        count = int(np.frombuffer(data, "<i4", 1, 3)[0])
        if count < 0 or len(data) < 7 + 4 * count:
            raise FormatError(
                f"{rxfilename}: int32 vector of {count} elements at offset 3 is cut short or invalid "
                f"({len(data)} bytes in all)"
            )
        return np.frombuffer(data, "<i4", count, 7).astype(np.int32)
    body = data.lstrip()
    end = body.find(b"]")
    if not body.startswith(b"[") or end < 0:
        raise FormatError(f"{rxfilename}: expected an integer vector in brackets, [ 1 2 3 ]")
    tokens = body[1:end].split()
    bad = next(
        (t for t in tokens if not _INT_TOKEN.fullmatch(t) or not -(2**31) <= int(t) < 2**31), None
    )
    if bad is not None:
        shown = bad.decode("latin-1")
        raise FormatError(f"{rxfilename}: {shown!r} is not an int32 in an integer vector")
    return np.array([int(t) for t in tokens], dtype=np.int32)


def write_integer_vector(
    wxfilename: str, vec: Any, *, binary: bool = True, allow_pipes: bool | None = None
) -> None:
    """Writes a single int32 vector file (the format of :func:`read_integer_vector`).

    Args:
        wxfilename: path, ``-`` or ``"| cmd"``.
        vec: integer values, any shape (flattened), e.g. a list, numpy array or tensor.
        binary: binary (default) or text ``[ 1 2 3 ]`` form.
        allow_pipes: ``False`` refuses shell pipes.

    Kaldi: ``WriteIntegerVector``.
    """
    if hasattr(vec, "detach") and hasattr(vec, "cpu"):
        vec = vec.detach().cpu().numpy()
    v = np.ascontiguousarray(vec, dtype="<i4").reshape(-1)
    if binary:
        data = b"\0B\x04" + np.int32(v.size).astype("<i4").tobytes() + v.tobytes()
    else:
        data = ("[ " + "".join(f"{x} " for x in v.tolist()) + "]\n").encode("ascii")
    with open_wx(wxfilename, allow_pipes=allow_pipes) as stream:
        stream.write(data)
