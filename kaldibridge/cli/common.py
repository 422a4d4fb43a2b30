"""Helpers shared by the command-line tools: opening tables and single objects.

They wrap :mod:`kaldibridge.kaldi.table` so every tool reports problems the way Kaldi's
binaries do (the table library logs Kaldi's warnings; errors become fatal errors that end
the tool with status 255, after the earlier output has been flushed).
``read_integer_vector``/``write_integer_vector`` are the table library's (re-exported here).
"""

from __future__ import annotations

from typing import Any

from kaldibridge.kaldi.options import escape_arg
from kaldibridge.kaldi.table import (
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    open_rx,
    open_wx,
    read_integer_vector,
    read_object,
    write_integer_vector,
    write_object,
)

__all__ = [
    "printable_rx",
    "printable_wx",
    "map_matrices",
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


def printable_rx(name: str) -> str:
    """Kaldi's ``PrintableRxfilename``: ``-`` is "standard input", other names shell-escaped."""
    return "standard input" if name in ("", "-") else escape_arg(name)


def printable_wx(name: str) -> str:
    """Kaldi's ``PrintableWxfilename``: ``-`` is "standard output", other names shell-escaped."""
    return "standard output" if name in ("", "-") else escape_arg(name)


def map_matrices(
    ctx: Any, rspecifier: str, wspecifier: str, fn: Any, empty_warning: str, *, need_columns: bool = False
) -> int:
    """Write ``fn(matrix)`` for every matrix of a table; skip empty matrices with a warning.

    A matrix is empty when it has no rows (or, with ``need_columns``, no columns either).
    ``empty_warning`` is formatted with ``key``. Returns 0, as the Kaldi tools built on this
    loop (add-deltas, splice-feats, ...) do.
    """
    with open_sequential(rspecifier, "matrix") as reader, open_writer(wspecifier, "matrix") as writer:
        for key, feats in reader:
            if feats.shape[0] == 0 or (need_columns and feats.shape[1] == 0):
                ctx.log.emit("WARNING", empty_warning.format(key=key), depth=1)
                continue
            writer.write(key, fn(feats))
    return 0
