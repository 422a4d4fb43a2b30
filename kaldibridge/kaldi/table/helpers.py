"""Small kaldiio-shaped helpers over the table readers and writers.

``read_mat``/``read_vec``/``write_mat``/``write_vec`` handle single objects;
``load_ark``/``load_scp`` and ``ReadHelper``/``WriteHelper`` handle tables. Names and
call styles follow kaldiio so its users feel at home; the implementations are
kaldibridge's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kaldibridge.kaldi.table.readers import (
    RandomAccessTableReader,
    SequentialTableReader,
    read_object,
)
from kaldibridge.kaldi.table.writers import TableWriter, write_object

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
