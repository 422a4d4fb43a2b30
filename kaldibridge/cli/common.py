"""Helpers shared by the command-line tools: opening tables and single objects.

They wrap :mod:`kaldibridge.kaldi.table` so every tool reports problems the way Kaldi's
binaries do (the table library logs Kaldi's warnings; errors become fatal errors that end
the tool with status 255, after the earlier output has been flushed).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from kaldibridge.errors import FormatError
from kaldibridge.kaldi.table import (
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    open_rx,
    open_wx,
    read_object,
    write_object,
)

__all__ = [
    "open_sequential",
    "open_random",
    "open_writer",
    "read_single",
    "write_single",
    "read_integer_vector",
    "write_integer_vector",
]


def open_sequential(rspecifier: str, holder: Any = "matrix", **kwargs: Any) -> SequentialTableReader:
    """A :class:`SequentialTableReader` (Kaldi's ``SequentialTableReader<Holder>``)."""
    return SequentialTableReader(rspecifier, holder, **kwargs)


def open_random(rspecifier: str, holder: Any = "matrix", **kwargs: Any) -> RandomAccessTableReader:
    """A :class:`RandomAccessTableReader` (Kaldi's ``RandomAccessTableReader<Holder>``)."""
    return RandomAccessTableReader(rspecifier, holder, **kwargs)


def open_writer(wspecifier: str, holder: Any = "matrix", **kwargs: Any) -> TableWriter:
    """A :class:`TableWriter` (Kaldi's ``TableWriter<Holder>``)."""
    return TableWriter(wspecifier, holder, **kwargs)


def read_single(rxfilename: str, holder: str = "matrix") -> Any:
    """Read one object from an rxfilename (Kaldi's ``ReadKaldiObject``).

    ``holder="text"`` reads the whole input as text (segments files, key lists).
    """
    if holder == "text":
        with open_rx(rxfilename) as stream:
            return stream.read(-1).decode("utf-8", errors="surrogateescape")
    return read_object(rxfilename, holder)


def write_single(wxfilename: str, value: Any, holder: str = "matrix", *, binary: bool = True) -> None:
    """Write one object to a wxfilename (Kaldi's ``WriteKaldiObject``); ``holder="text"``
    writes a string as it is."""
    if holder == "text":
        with open_wx(wxfilename) as stream:
            stream.write(str(value).encode("utf-8", errors="surrogateescape"))
        return
    write_object(wxfilename, value, holder, binary=binary)


_INT_TOKEN = re.compile(r"[+-]?[0-9]+")


def read_integer_vector(rxfilename: str) -> np.ndarray:
    """Read a single int32 vector file (Kaldi's ``ReadIntegerVector``).

    This is not the table format of ``int_vector``: binary is ``\\0B``, a size byte 4, an
    int32 count and the raw int32 values; text is ``[ 1 2 3 ]``.

    Returns:
        ``(dim,)`` int32 array.

    Raises:
        FormatError: the content is not an integer vector.
    """
    with open_rx(rxfilename) as stream:
        data = stream.read(-1)
    if data[:2] == b"\0B":
        if len(data) < 3 or data[2] != 4:
            saw = data[2] if len(data) > 2 else -1
            raise FormatError(f"{rxfilename}: expected an int32 vector (size byte 4), saw {saw} at offset 2")
        if len(data) < 7:
            raise FormatError(f"{rxfilename}: int32 vector cut short in its size at offset 3")
        count = int(np.frombuffer(data, "<i4", 1, 3)[0])
        if count < 0 or len(data) < 7 + 4 * count:
            raise FormatError(f"{rxfilename}: int32 vector of {count} elements cut short or invalid")
        return np.frombuffer(data, "<i4", count, 7).astype(np.int32)
    text = data.decode("latin-1").lstrip()
    end = text.find("]")
    if not text.startswith("[") or end < 0:
        raise FormatError(f"{rxfilename}: expected an integer vector in brackets, [ 1 2 3 ]")
    tokens = text[1:end].split()
    bad = next((t for t in tokens if not _INT_TOKEN.fullmatch(t) or not -(2**31) <= int(t) < 2**31), None)
    if bad is not None:
        raise FormatError(f"{rxfilename}: {bad!r} is not an int32 in an integer vector")
    return np.array([int(t) for t in tokens], dtype=np.int32)


def write_integer_vector(wxfilename: str, vec: Any, *, binary: bool = True) -> None:
    """Write a single int32 vector file (Kaldi's ``WriteIntegerVector``; see
    :func:`read_integer_vector` for the format)."""
    v = np.ascontiguousarray(vec, dtype="<i4").reshape(-1)
    if binary:
        data = b"\0B\x04" + np.int32(v.size).astype("<i4").tobytes() + v.tobytes()
    else:
        data = ("[ " + "".join(f"{x} " for x in v.tolist()) + "]\n").encode("ascii")
    with open_wx(wxfilename) as stream:
        stream.write(data)
