"""Holders: how one table value is read from and written to a stream, binary or text.

A holder reads one object from an :class:`~kaldibridge.kaldi.table.xfilename.InputStream`
(detecting Kaldi's ``\\0B`` binary marker itself) and serializes one value to ``bytes``
(with the marker in binary mode). See :data:`HOLDERS` for the names and the package
docstring for the value types.

Kaldi: ``KaldiObjectHolder``, ``BasicHolder``, ``BasicVectorHolder``,
``BasicVectorVectorHolder``, ``TokenHolder``, ``TokenVectorHolder``, ``PosteriorHolder``,
``WaveHolder``, ``HtkMatrixHolder``, ``GeneralMatrixHolder`` (``src/util/kaldi-holder-inl.h``,
``src/hmm/posterior.cc``, ``src/feat/wave-reader.h``, ``src/matrix/general-matrix.h``).
"""

from __future__ import annotations

import re
import struct
from typing import Any, ClassVar, NamedTuple

import numpy as np

from kaldibridge.errors import FormatError, KaldiBridgeError
from kaldibridge.kaldi.table.compressed import (
    CompressedMatrix,
    _payload_size as _cm_payload_size,
    compress,
    decompress,
    iter_cm_batch,
    parse_compressed,
)
from kaldibridge.kaldi.table.specifiers import parse_matrix_range
from kaldibridge.kaldi.table.xfilename import _UNKNOWN_SIZE_LIMIT, InputStream

__all__ = [
    "Holder",
    "HOLDERS",
    "get_holder",
    "HtkHeader",
    "MatrixHolder",
    "VectorHolder",
    "CompressedMatrixHolder",
    "GeneralMatrixHolder",
    "IntVectorHolder",
    "IntVectorVectorHolder",
    "PosteriorHolder",
    "TokenHolder",
    "TokenVectorHolder",
    "ScalarHolder",
    "WaveHolder",
    "HtkMatrixHolder",
    "SphinxMatrixHolder",
    "format_float",
    "is_token",
]

_BIN = b"\0B"
_F4 = np.dtype("<f4")
_F8 = np.dtype("<f8")


def format_float(x: float) -> str:
    """A float as C++ ``ostream << x`` prints it with precision 7 (``%.7g``)."""
    return "%.7g" % x


_SPACE = re.compile(r"\s")


def is_token(s: str) -> bool:
    """Kaldi ``IsToken``: non-empty, printable, no whitespace."""
    return bool(s) and s.isprintable() and _SPACE.search(s) is None


def _where(s: InputStream, pos: int | None = None) -> str:
    return f"{s.name!r} at offset {s.pos if pos is None else pos}"


def init_input(s: InputStream) -> bool:
    """Consumes the ``\\0B`` binary marker if present; True for binary (Kaldi
    ``InitKaldiInputStream``)."""
    head = s.peek(2)
    if head[:1] == b"\0":
        if head != _BIN:
            raise FormatError(f"{_where(s)}: bad binary marker {head!r} (expected '\\0B')")
        s.read(2)
        return True
    return False


def read_token(s: InputStream) -> bytes:
    """Kaldi ``ReadToken`` (binary and text): a word, then one whitespace char consumed."""
    pos = s.pos
    tok = s.read_word("token", limit=4096)
    if not tok:
        raise FormatError(f"{_where(s, pos)}: expected a token, got end of data")
    nxt = s.peek(1)
    if nxt and nxt in b" \t\n\r\v\f":
        s.read(1)
    elif nxt:
        raise FormatError(f"{_where(s)}: expected space after token {tok[:20]!r}")
    return tok


def read_int32(s: InputStream, what: str) -> int:
    """Kaldi binary ``ReadBasicType<int32>``: size byte 4 then a little-endian int32."""
    pos = s.pos
    b = s.read_exact(5, what)
    if b[0] != 4:
        raise FormatError(
            f"{_where(s, pos)}: expected a 4-byte integer for {what}, got size byte {b[0]}"
        )
    return int.from_bytes(b[1:], "little", signed=True)


def read_float_bin(s: InputStream, what: str) -> float:
    pos = s.pos
    c = s.read_exact(1, what)[0]
    if c == 4:
        return float(struct.unpack("<f", s.read_exact(4, what))[0])
    if c == 8:
        return float(struct.unpack("<d", s.read_exact(8, what))[0])
    raise FormatError(f"{_where(s, pos)}: expected float for {what}, got size byte {c}")


def _check_size(s: InputStream, n: int, per_item: int, what: str, pos: int) -> None:
    if n < 0:
        raise FormatError(f"{_where(s, pos)}: negative size {n} for {what}")
    rem = s.remaining()
    if rem is not None and n * per_item > rem:
        raise FormatError(
            f"{_where(s, pos)}: {what} claims {n} items ({n * per_item} bytes) but only "
            f"{rem} bytes are left"
        )


def _read_text_until(s: InputStream, delim: bytes, what: str, limit: int = 1 << 31) -> bytes:
    """Reads up to and including ``delim`` (text objects)."""
    pos = s.pos
    parts = []
    total = 0
    while True:
        line = s.readline()
        if not line:
            raise FormatError(f"{_where(s, pos)}: end of data while reading {what}")
        j = line.find(delim)
        if j >= 0:
            parts.append(line[: j + 1])
            rest = line[j + 1 :]
            s.unread(len(rest))  # give back what follows the delimiter on this line
            return b"".join(parts)
        parts.append(line)
        total += len(line)
        if total > limit:
            raise FormatError(f"{_where(s, pos)}: {what} too long")


def _eat_newline(s: InputStream) -> None:
    nxt = s.peek(2)
    if nxt[:1] == b"\n":
        s.read(1)
    elif nxt == b"\r\n":
        s.read(2)


def _decode(b: bytes, s: InputStream, what: str) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{_where(s)}: non-UTF-8 text in {what}") from e


def _parse_floats(tokens: list[str], dtype: Any, s: InputStream, what: str, pos: int) -> np.ndarray:
    if not tokens:
        return np.zeros(0, dtype=dtype)
    try:
        arr = np.array(tokens, dtype=np.float64)
    except (ValueError, OverflowError):
        arr = None
    if arr is None or any("_" in t for t in tokens):
        bad = next((t for t in tokens if not _is_number(t)), tokens[0])
        raise FormatError(f"{_where(s, pos)}: expected numeric data in {what}, got {bad[:20]!r}")
    with np.errstate(over="ignore"):
        return arr.astype(dtype)


def _is_number(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return False
    return "_" not in t


def _narrow(a: np.ndarray, dtype: Any) -> np.ndarray:
    """Converts double data to float like Kaldi's copy (huge values become inf, silently)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return a.astype(dtype)


class Holder:
    """Base class: reads and writes one table value.

    Subclasses set ``name`` and implement :meth:`read` and :meth:`write`.
    """

    name: ClassVar[str] = ""
    #: True if the value supports range specifiers (``[r1:r2,c1:c2]``).
    supports_range: ClassVar[bool] = False

    def read(self, s: InputStream) -> Any:
        """Reads one object at the current position of ``s``."""
        raise NotImplementedError

    def write(self, value: Any, binary: bool = True) -> bytes:
        """Serializes one value (with the ``\\0B`` marker in binary mode)."""
        raise NotImplementedError

    def write_parts(self, value: Any, binary: bool = True) -> list[Any]:
        """Like :meth:`write` but may return several buffers (avoids copying big arrays)."""
        return [self.write(value, binary)]

    def extract_range(self, value: Any, spec: str) -> Any:
        raise FormatError(f"range specifiers are not supported for '{self.name}' tables")

    def to_output(self, value: Any, as_torch: bool) -> Any:
        """Converts a freshly read value to what callers get (numpy or torch)."""
        if as_torch and isinstance(value, np.ndarray):
            import torch

            return torch.from_numpy(value)
        return value


def _as_numpy(value: Any, dtype: Any, ndim: int, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise FormatError(f"'{name}' holder needs a {ndim}-D value, got shape {arr.shape}")
    return arr.astype(dtype, copy=False)


# --------------------------------------------------------------------------- matrices
def _read_matrix_binary(s: InputStream, dtype: Any) -> np.ndarray:
    pos = s.pos
    head = s.peek(3)
    if head[:1] == b"C":
        return decompress(_read_compressed_binary(s), dtype)
    if head not in (b"FM ", b"DM "):
        tok = read_token(s)
        raise FormatError(f"{_where(s, pos)}: expected token FM or DM (a matrix), got {tok[:20]!r}")
    b = s.read_exact(13, "matrix header")
    if b[3] != 4 or b[8] != 4:
        raise FormatError(f"{_where(s, pos)}: bad matrix header (size bytes {b[3]}, {b[8]})")
    rows = int.from_bytes(b[4:8], "little", signed=True)
    cols = int.from_bytes(b[9:13], "little", signed=True)
    src = np.dtype("<f4") if head[0] == ord("F") else np.dtype("<f8")
    if rows < 0 or cols < 0:
        raise FormatError(f"{_where(s, pos)}: matrix with negative size {rows}x{cols}")
    n = rows * cols
    _check_size(s, n, src.itemsize, "matrix", pos)
    data = s.read_array(n, src, f"matrix data ({rows}x{cols})")
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols), dtype=dtype)
    data = data.reshape(rows, cols)
    if data.dtype != dtype:
        data = _narrow(data, dtype)
    return data


def _read_compressed_binary(s: InputStream) -> CompressedMatrix:
    pos = s.pos
    tok = read_token(s)
    fmt = {b"CM": 1, b"CM2": 2, b"CM3": 3}.get(tok)
    if fmt is None:
        raise FormatError(f"{_where(s, pos)}: unexpected token {tok[:20]!r}, expecting CM, CM2 or CM3")
    header = s.read_exact(16, "compressed matrix header")
    where = _where(s, pos)

    def payload(n: int) -> bytes:
        rem = s.remaining()
        if rem is not None and n > rem:
            raise FormatError(f"{where}: compressed matrix needs {n} bytes but only {rem} are left")
        return s.read_array(n, np.uint8, "compressed matrix data").tobytes()

    return parse_compressed(fmt, header, payload, where)


def _read_matrix_text(s: InputStream, dtype: Any) -> np.ndarray:
    pos = s.pos
    word = s.read_word("matrix", limit=4096)
    if word == b"[]":
        _eat_newline(s)
        return np.zeros((0, 0), dtype=dtype)
    if word != b"[":
        raise FormatError(f"{_where(s, pos)}: expected '[' (a text matrix), got {word[:20]!r}")
    body = _decode(_read_text_until(s, b"]", "text matrix"), s, "matrix")[:-1]
    _eat_newline(s)
    rows = [r.split() for r in body.replace(";", "\n").split("\n")]
    rows = [r for r in rows if r]
    if not rows:
        return np.zeros((0, 0), dtype=dtype)
    ncols = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != ncols:
            raise FormatError(
                f"{_where(s, pos)}: text matrix has inconsistent number of columns: "
                f"{ncols} vs. {len(r)} (row {i})"
            )
    flat = _parse_floats(body.replace(";", " ").split(), dtype, s, "matrix", pos)
    return flat.reshape(len(rows), ncols)


def _format_matrix_text(m: np.ndarray) -> bytes:
    rows, cols = m.shape
    if cols == 0:
        return b" [ ]\n"
    fmt = ("\n  " + "%.7g " * cols) * rows
    return (" [" + fmt % tuple(m.reshape(-1).tolist()) + "]\n").encode()


# An archive entry "key FM <rows> <cols>" / "key DM ..." in one match (fast path).
_FAST_MATRIX_ENTRY = re.compile(
    rb"[ \t\n\r\v\f]*([^ \t\n\r\v\f]{1,4096})[ \t]\0B([FD])M \x04(.{4}\x04.{4})", re.S
)
_ROWS_COLS = struct.Struct("<ixi")


# An archive entry "key CM <16-byte global header>" (fast batched path).
_FAST_CM_ENTRY = re.compile(rb"[ \t\n\r\v\f]*([^ \t\n\r\v\f]{1,4096})[ \t]\0BCM (.{16})", re.S)
_CM_HEADER = struct.Struct("<ffii")
_CM_TOKENS = {b"CM ": 1, b"CM2 ": 2, b"CM3 ": 3}
_AT_HEAD = 64  # bytes read for an object's header by MatrixHolder.read_at
_AT_PLAIN = {b"\0BFM \x04": _F4, b"\0BDM \x04": _F8}
_CM_BATCH_ENTRIES = 16  # keeps the lookup table (256 x columns floats) in cache
_CM_BATCH_BYTES = 1 << 20
_CM_LOOKAHEAD = 4200  # a key of up to 4096 bytes and the CM header
_CM_READAHEAD = 1 << 20
_FM_BATCH_ENTRIES = 2  # plain entries returned per call (saves per-call overhead; more
# arrays alive at once costs more in page faults than it saves)


def _entry_key(m: re.Match[bytes]) -> str | None:
    """The key of an archive entry matched by a fast-path pattern, or None when it is not
    UTF-8 (the general path then reports it)."""
    try:
        return m.group(1).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _alloc_plain(m: re.Match[bytes], avail: int) -> np.ndarray | None:
    """The array for a ``key FM/DM`` entry matched by ``_FAST_MATRIX_ENTRY``, or None when
    the key is not UTF-8 or the size is negative or more than the ``avail`` bytes left."""
    if _entry_key(m) is None:
        return None
    rows, cols = _ROWS_COLS.unpack(m.group(3))
    src = _F4 if m.group(2) == b"F" else _F8
    if rows < 0 or cols < 0 or rows * cols * src.itemsize > avail:
        return None
    return np.empty((rows, cols), dtype=src)


class MatrixHolder(Holder):
    """``matrix`` (float32) / ``double_matrix`` (float64): reads FM, DM, CM, CM2, CM3 and text.

    Kaldi: ``KaldiObjectHolder<Matrix<BaseFloat>>`` / ``<Matrix<double>>``.
    """

    supports_range = True

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = np.dtype(dtype)
        self.name = "matrix" if self.dtype == np.float32 else "double_matrix"  # type: ignore[misc]

    def read(self, s: InputStream) -> np.ndarray:
        if init_input(s):
            return _read_matrix_binary(s, self.dtype)
        return _read_matrix_text(s, self.dtype)

    def read_entries_fast(
        self, s: InputStream
    ) -> tuple[list[tuple[str, np.ndarray]], BaseException | None] | None:
        """Reads the next archive entries in one go when they are plain binary ``key FM``
        / ``key DM`` entries (one at a time) or runs of ``key CM`` entries (decoded together).

        Returns None (consuming nothing) when the next entry is anything else, so the
        general path handles it and reports errors in full detail. Otherwise returns the
        entries read and an error met after them (raised by the caller once the entries
        before it have been delivered), or None.
        """
        plain, err = self._read_plain_run(s)
        if plain:
            return plain, err
        one = self.read_entry_fast(s)  # the unusual cases, with full error reports
        if one is not None:
            return [one], None
        batch: list[tuple[str, tuple[float, float, int, int, Any]]] = []
        err: BaseException | None = None
        total = 0
        # Regular files are read in large windows and payloads stay views of the window
        # (decoded into new arrays below); pipes are not read further ahead than needed.
        readahead = _CM_READAHEAD if s.seekable() else 0
        while len(batch) < _CM_BATCH_ENTRIES and total < _CM_BATCH_BYTES:
            buf, i = s.buffered(_CM_LOOKAHEAD, readahead)
            m = _FAST_CM_ENTRY.match(buf, i)
            if m is None:
                break
            key = _entry_key(m)
            if key is None:
                break
            mn, rg, rows, cols = _CM_HEADER.unpack(m.group(2))
            if rows <= 0 or cols <= 0:
                break
            size = cols * (8 + rows)
            start = m.end()
            if start + size <= len(buf):
                payload: Any = memoryview(buf)[start : start + size]
                s.advance_to(start + size)
            else:
                rem = s.remaining()
                if rem is not None and size > rem - (start - i):
                    break  # the general path reports the truncation
                s.consume_match(m)
                try:
                    payload = s.read_array_peek(size, np.uint8, "compressed matrix data")
                except KaldiBridgeError as e:
                    err = type(e)(f"key {key!r}: {e}")
                    break
            batch.append((key, (mn, rg, rows, cols, payload)))
            total += size
        if not batch:
            if err is not None:
                raise err
            return None
        # Decoded one by one as the caller iterates: one output alive at a time keeps
        # the allocator reusing warm memory.
        values = iter_cm_batch([item for _, item in batch], self.dtype)
        return zip([k for k, _ in batch], values), err  # type: ignore[return-value]

    def _read_plain_run(self, s: InputStream) -> tuple[list[tuple[str, np.ndarray]], BaseException | None]:
        """Reads consecutive well-formed binary ``key FM/DM`` entries (at most
        ``_FM_BATCH_ENTRIES``), each straight into its new array; stops, consuming nothing
        more, at anything else (including a size the file cannot hold)."""
        out: list[tuple[str, np.ndarray]] = []
        dtype = self.dtype
        recs, err, bad = s.read_records(_FAST_MATRIX_ENTRY, _alloc_plain, _FM_BATCH_ENTRIES, "matrix data")
        if recs or err is not None:  # a regular file: read with one readv per entry
            for m, data in recs:
                key = m.group(1).decode("utf-8")
                if data.dtype != dtype:
                    data = _narrow(data, dtype)
                out.append((key, data))
            if err is not None and bad is not None:
                rows, cols = _ROWS_COLS.unpack(bad.group(3))
                err = type(err)(f"key {bad.group(1).decode('utf-8')!r} ({rows}x{cols} matrix): {err}")
                if not out:
                    raise err
            return out, err
        match = _FAST_MATRIX_ENTRY.match
        while len(out) < _FM_BATCH_ENTRIES:
            buf, i = s.buffered(128)
            m = match(buf, i)
            if m is None:
                break
            key = _entry_key(m)
            if key is None:
                break
            rows, cols = _ROWS_COLS.unpack(m.group(3))
            src = _F4 if m.group(2) == b"F" else _F8
            rem = s.remaining()
            nbytes = rows * cols * src.itemsize
            if rows < 0 or cols < 0 or nbytes > (_UNKNOWN_SIZE_LIMIT if rem is None else rem - (m.end() - i)):
                break  # read_entry_fast reads big pipe payloads as they come, or reports
            s.advance_to(m.end())
            if not rows or not cols:
                out.append((key, np.zeros((rows, cols), dtype=dtype)))
                continue
            data = np.empty((rows, cols), dtype=src)
            try:
                s.readinto_peek(memoryview(data).cast("B"), "matrix data")
            except KaldiBridgeError as e:
                err = type(e)(f"key {key!r} ({rows}x{cols} matrix): {e}")
                if not out:
                    raise err from e
                return out, err
            out.append((key, data if src == dtype else _narrow(data, dtype)))
        return out, None

    def read_entry_fast(self, s: InputStream) -> tuple[str, np.ndarray] | None:
        """Reads a whole binary ``key FM/DM`` archive entry when the next bytes are one.

        Returns None (consuming nothing) for anything else, so the general path runs and
        reports errors with full detail.
        """
        m = s.match_ahead(_FAST_MATRIX_ENTRY, 128)
        if m is None:
            return None
        key = _entry_key(m)
        if key is None:
            return None
        rows, cols = _ROWS_COLS.unpack(m.group(3))
        if rows < 0 or cols < 0:
            return None
        src = _F4 if m.group(2) == b"F" else _F8
        rem = s.remaining()
        pos = m.start(2) + s.pos - s._i  # noqa: SLF001 - offset of the token, for messages
        s.consume_match(m)
        n = rows * cols
        try:
            if rem is not None and n * src.itemsize > rem - (m.end() - m.start()):
                _check_size(s, n, src.itemsize, "matrix", pos)
            data = s.read_array_peek(n, src, "matrix data")
        except KaldiBridgeError as e:
            raise type(e)(f"key {key!r} ({rows}x{cols} matrix): {e}") from e
        if n == 0:
            return key, np.zeros((rows, cols), dtype=self.dtype)
        data = data.reshape(rows, cols)
        return key, data if data.dtype == self.dtype else _narrow(data, self.dtype)

    def read_at(self, s: InputStream, offset: int) -> np.ndarray | None:
        """Reads a binary matrix object at ``offset`` of a regular file with positioned
        reads (random access through an scp): a small read for the header, then the data
        straight into the new array.

        Returns None (having read nothing that matters) when the object is not a binary
        ``FM``/``DM``/``CM``/``CM2``/``CM3`` matrix that fits in the file, so that the
        general path reads it and reports any error in full detail.
        """
        head = s.pread(_AT_HEAD, offset)
        src = _AT_PLAIN.get(head[:6])
        if src is not None and len(head) >= 15 and head[10] == 4:
            rows, cols = _ROWS_COLS.unpack_from(head, 6)
            if rows < 0 or cols < 0 or offset + 15 + rows * cols * src.itemsize > (s.size or 0):
                return None
            if not rows or not cols:
                return np.zeros((rows, cols), dtype=self.dtype)
            data = np.empty((rows, cols), dtype=src)
            s.pread_into(memoryview(data).cast("B"), offset + 15, "matrix data")
            return data if src == self.dtype else _narrow(data, self.dtype)
        if head[:2] != _BIN or len(head) < 15:
            return None
        size = s.size or 0
        fmt = _CM_TOKENS.get(head[2:6]) or _CM_TOKENS.get(head[2:5])
        if fmt is None:
            return None
        start = 2 + (3 if fmt == 1 else 4)
        if len(head) < start + 16:
            return None
        mn, rg, rows, cols = _CM_HEADER.unpack_from(head, start)
        if rows <= 0 or cols <= 0:
            return None
        nbytes = _cm_payload_size(fmt, rows, cols)
        if offset + start + 16 + nbytes > size:
            return None
        payload = s.pread(nbytes, offset + start + 16)
        if len(payload) != nbytes:  # the file shrank since it was opened
            return None
        return decompress(CompressedMatrix(fmt, mn, rg, rows, cols, payload), self.dtype)

    def write(self, value: Any, binary: bool = True) -> bytes:
        return b"".join(self.write_parts(value, binary))

    def write_parts(self, value: Any, binary: bool = True) -> list[Any]:
        if isinstance(value, CompressedMatrix):
            value = decompress(value, self.dtype)
        m = _as_numpy(value, self.dtype, 2, self.name)
        if not binary:
            return [_format_matrix_text(m)]
        rows, cols = m.shape
        token = b"FM " if self.dtype == np.float32 else b"DM "
        head = _BIN + token + b"\x04" + struct.pack("<i", rows) + b"\x04" + struct.pack("<i", cols)
        body = np.ascontiguousarray(m, dtype=self.dtype.newbyteorder("<"))
        return [head, memoryview(body.reshape(-1)).cast("B")]

    def extract_range(self, value: np.ndarray, spec: str) -> np.ndarray:
        r0, r1, c0, c1 = parse_matrix_range(spec, value.shape[0], value.shape[1])
        return np.ascontiguousarray(value[r0:r1, c0:c1])


class CompressedMatrixHolder(Holder):
    """``compressed_matrix``: values are :class:`CompressedMatrix` objects.

    Reading keeps ``CM*`` data compressed (an uncompressed FM/DM entry is compressed with
    ``method``, as Kaldi does); writing accepts a :class:`CompressedMatrix` (written as is)
    or an array, compressed with ``method`` (1..7, Kaldi's ``--compression-method``). Text
    mode writes the decompressed values as a text matrix.

    Kaldi: ``KaldiObjectHolder<CompressedMatrix>``.
    """

    name = "compressed_matrix"
    supports_range = True

    def __init__(self, method: int = 1) -> None:
        if method not in range(1, 8):
            raise FormatError(f"invalid compression method {method} (expected 1..7)")
        self.method = method

    def read(self, s: InputStream) -> CompressedMatrix:
        if init_input(s):
            if s.peek(1) == b"C":
                return _read_compressed_binary(s)
            return compress(_read_matrix_binary(s, np.float32), self.method)
        return compress(_read_matrix_text(s, np.float32), self.method)

    def write(self, value: Any, binary: bool = True) -> bytes:
        if not isinstance(value, CompressedMatrix):
            value = compress(_as_numpy(value, np.float32, 2, self.name), self.method)
        if not binary:
            return _format_matrix_text(decompress(value))
        return _BIN + value.to_bytes()

    def extract_range(self, value: CompressedMatrix, spec: str) -> np.ndarray:
        m = decompress(value)
        r0, r1, c0, c1 = parse_matrix_range(spec, m.shape[0], m.shape[1])
        return np.ascontiguousarray(m[r0:r1, c0:c1])

    def to_output(self, value: Any, as_torch: bool) -> Any:
        return value


class GeneralMatrixHolder(Holder):
    """``general_matrix``: float matrices that stay in the form they were read in.

    Binary ``CM``/``CM2``/``CM3`` data is read as a :class:`CompressedMatrix` and written
    back byte for byte (text output decompresses it); ``FM``/``DM`` and text matrices are
    read as float32 ``(rows, cols)`` arrays and written as ``FM``. An empty compressed
    matrix is written as an empty ``FM``, as Kaldi does. A row/column range of a
    compressed matrix gives a plain matrix.

    Kaldi: ``GeneralMatrixHolder`` (``SequentialGeneralMatrixReader``/``GeneralMatrixWriter``).
    Differences: sparse matrices (``SM``) are not supported.
    """

    name = "general_matrix"
    supports_range = True

    def __init__(self) -> None:
        self._full = MatrixHolder(np.float32)
        self._compressed = CompressedMatrixHolder()

    def read(self, s: InputStream) -> np.ndarray | CompressedMatrix:
        if s.peek(3) == b"\0BC":
            return self._compressed.read(s)
        return self._full.read(s)

    def read_entries_fast(
        self, s: InputStream
    ) -> tuple[list[tuple[str, np.ndarray]], BaseException | None] | None:
        """Reads one binary ``key FM/DM`` entry (see :meth:`MatrixHolder.read_entry_fast`);
        compressed entries go through :meth:`read` and stay compressed."""
        one = self._full.read_entry_fast(s)
        return None if one is None else ([one], None)

    def write_parts(self, value: Any, binary: bool = True) -> list[Any]:
        if isinstance(value, CompressedMatrix):
            if value.num_rows == 0 or value.num_cols == 0:
                value = np.zeros((0, 0), dtype=np.float32)
            else:
                return [self._compressed.write(value, binary)]
        return self._full.write_parts(value, binary)

    def write(self, value: Any, binary: bool = True) -> bytes:
        return b"".join(self.write_parts(value, binary))

    def extract_range(self, value: np.ndarray | CompressedMatrix, spec: str) -> np.ndarray:
        holder = self._compressed if isinstance(value, CompressedMatrix) else self._full
        return holder.extract_range(value, spec)  # type: ignore[arg-type]

    def to_output(self, value: Any, as_torch: bool) -> Any:
        return value


# --------------------------------------------------------------------------- vectors
class VectorHolder(Holder):
    """``vector`` (float32) / ``double_vector`` (float64): FV/DV binary, ``[ v v ]`` text.

    Kaldi: ``KaldiObjectHolder<Vector<BaseFloat>>`` / ``<Vector<double>>``.
    """

    supports_range = True

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = np.dtype(dtype)
        self.name = "vector" if self.dtype == np.float32 else "double_vector"  # type: ignore[misc]

    def read(self, s: InputStream) -> np.ndarray:
        pos = s.pos
        if init_input(s):
            head = s.peek(3)
            if head not in (b"FV ", b"DV "):
                tok = read_token(s)
                raise FormatError(f"{_where(s, pos)}: expected token FV or DV (a vector), got {tok[:20]!r}")
            b = s.read_exact(8, "vector header")
            if b[3] != 4:
                raise FormatError(f"{_where(s, pos)}: bad vector header (size byte {b[3]})")
            dim = int.from_bytes(b[4:8], "little", signed=True)
            src = np.dtype("<f4") if head[0] == ord("F") else np.dtype("<f8")
            _check_size(s, dim, src.itemsize, "vector", pos)
            v = s.read_array(dim, src, f"vector data (dim {dim})")
            return v if v.dtype == self.dtype else _narrow(v, self.dtype)
        word = s.read_word("vector", limit=4096)
        if word == b"[]":
            _eat_newline(s)
            return np.zeros(0, dtype=self.dtype)
        if word != b"[":
            raise FormatError(f"{_where(s, pos)}: expected '[' (a text vector), got {word[:20]!r}")
        body = _decode(_read_text_until(s, b"]", "text vector"), s, "vector")[:-1]
        _eat_newline(s)
        return _parse_floats(body.split(), self.dtype, s, "vector", pos)

    def write(self, value: Any, binary: bool = True) -> bytes:
        v = _as_numpy(value, self.dtype, 1, self.name)
        if not binary:
            return (" [ " + ("%.7g " * v.shape[0]) % tuple(v.tolist()) + "]\n").encode()
        token = b"FV " if self.dtype == np.float32 else b"DV "
        return (
            _BIN + token + b"\x04" + struct.pack("<i", v.shape[0])
            + np.ascontiguousarray(v, dtype=self.dtype.newbyteorder("<")).tobytes()
        )

    def extract_range(self, value: np.ndarray, spec: str) -> np.ndarray:
        r0, r1, _, _ = parse_matrix_range(spec, value.shape[0], None)
        return value[r0:r1].copy()


def _read_int_elems(s: InputStream, n: int, what: str, pos: int) -> np.ndarray:
    """``n`` binary int32 values each preceded by the size byte 4 (5 bytes each)."""
    _check_size(s, n, 5, what, pos)
    raw = s.read_array(5 * n, np.uint8, what).reshape(n, 5)
    if n and not np.all(raw[:, 0] == 4):
        bad = int(np.argmax(raw[:, 0] != 4))
        raise FormatError(
            f"{_where(s, pos)}: {what}: element {bad} has size byte {raw[bad, 0]}, expected 4"
        )
    return np.ascontiguousarray(raw[:, 1:]).view("<i4").reshape(n).astype(np.int32)


def _ints_from_text(tokens: list[str], s: InputStream, what: str, pos: int) -> np.ndarray:
    if not tokens:
        return np.zeros(0, dtype=np.int32)
    try:
        arr = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        arr = None
    if arr is None or any("_" in t for t in tokens):
        bad = next((t for t in tokens if not re.fullmatch(r"[+-]?[0-9]+", t)), tokens[0])
        raise FormatError(f"{_where(s, pos)}: expected integers in {what}, got {bad[:20]!r}")
    if arr.min() < -(2**31) or arr.max() >= 2**31:
        raise FormatError(f"{_where(s, pos)}: integer out of int32 range in {what}")
    return arr.astype(np.int32)


def _int_text(v: np.ndarray) -> str:
    return ("%d " * v.shape[0]) % tuple(v.tolist())


class IntVectorHolder(Holder):
    """``int_vector``: int32 vectors (alignments, ``copy-int-vector``).

    Binary: size then ``\\x04`` + int32 per element; text: ``1 2 3 `` on one line.

    Kaldi: ``BasicVectorHolder<int32>``.
    """

    name = "int_vector"

    def read(self, s: InputStream) -> np.ndarray:
        pos = s.pos
        if init_input(s):
            n = read_int32(s, "int vector size")
            return _read_int_elems(s, n, "int vector", pos)
        line = _decode(s.readline(), s, "int vector")
        return _ints_from_text(line.split(), s, "int vector", pos)

    def write(self, value: Any, binary: bool = True) -> bytes:
        v = _as_numpy(value, np.int64, 1, self.name)
        if v.size and (v.min() < -(2**31) or v.max() >= 2**31):
            raise FormatError("int_vector value out of int32 range")
        if not binary:
            return (_int_text(v) + "\n").encode()
        n = v.shape[0]
        rec = np.empty((n, 5), dtype=np.uint8)
        rec[:, 0] = 4
        rec[:, 1:] = v.astype("<i4").view(np.uint8).reshape(n, 4)
        return _BIN + b"\x04" + struct.pack("<i", n) + rec.tobytes()


class IntVectorVectorHolder(Holder):
    """``int_vector_vector``: a list of int32 vectors; text ``1 2 ; 3 ; ``.

    Kaldi: ``BasicVectorVectorHolder<int32>``.
    """

    name = "int_vector_vector"

    def read(self, s: InputStream) -> list[np.ndarray]:
        pos = s.pos
        if init_input(s):
            n = read_int32(s, "vector-of-vectors size")
            _check_size(s, n, 5, "vector of vectors", pos)
            out = []
            for _ in range(n):
                m = read_int32(s, "inner vector size")
                out.append(_read_int_elems(s, m, "inner int vector", pos))
            return out
        line = _decode(s.readline(), s, "int vector of vectors")
        pieces = line.split(";")
        if pieces[-1].strip():
            raise FormatError(f"{_where(s, pos)}: no ';' before the newline in vector of vectors")
        return [_ints_from_text(p.split(), s, "vector of vectors", pos) for p in pieces[:-1]]

    def write(self, value: Any, binary: bool = True) -> bytes:
        vs = [_as_numpy(v, np.int64, 1, self.name) for v in value]
        if not binary:
            return ("".join(_int_text(v) + "; " for v in vs) + "\n").encode()
        parts = [_BIN, b"\x04", struct.pack("<i", len(vs))]
        for v in vs:
            parts.append(IntVectorHolder().write(v, True)[2:])
        return b"".join(parts)

    def to_output(self, value: Any, as_torch: bool) -> Any:
        if as_torch:
            import torch

            return [torch.from_numpy(v) for v in value]
        return value


class PosteriorHolder(Holder):
    """``posterior``: per frame a list of ``(int32 id, float32 weight)`` pairs.

    Values are ``list[list[tuple[int, float]]]``. Text: ``[ 12 0.5 7 0.5 ] [ 3 1 ] ``.

    Kaldi: ``PosteriorHolder`` (``src/hmm/posterior.cc``).
    """

    name = "posterior"

    def read(self, s: InputStream) -> list[list[tuple[int, float]]]:
        pos = s.pos
        if init_input(s):
            n = read_int32(s, "posterior size")
            _check_size(s, n, 5, "posterior", pos)
            out = []
            for _ in range(n):
                m = read_int32(s, "posterior frame size")
                _check_size(s, m, 10, "posterior frame", pos)
                raw = s.read_array(10 * m, np.uint8, "posterior frame").reshape(m, 10)
                if m and not (np.all(raw[:, 0] == 4) and np.all(raw[:, 5] == 4)):
                    raise FormatError(f"{_where(s, pos)}: posterior pair with a bad size byte")
                ids = np.ascontiguousarray(raw[:, 1:5]).view("<i4").reshape(m)
                ws = np.ascontiguousarray(raw[:, 6:10]).view("<f4").reshape(m)
                out.append(list(zip(ids.tolist(), ws.tolist())))
            return out
        line = _decode(s.readline(), s, "posterior")
        toks = line.split()
        out = []
        i = 0
        while i < len(toks):
            if toks[i] != "[":
                raise FormatError(f"{_where(s, pos)}: reading posterior: expected '[', got {toks[i][:20]!r}")
            try:
                j = toks.index("]", i)
            except ValueError:
                raise FormatError(f"{_where(s, pos)}: reading posterior: missing ']'") from None
            inner = toks[i + 1 : j]
            if len(inner) % 2:
                raise FormatError(f"{_where(s, pos)}: reading posterior: odd number of values")
            ids = _ints_from_text(inner[0::2], s, "posterior", pos)
            ws = _parse_floats(inner[1::2], np.float32, s, "posterior", pos)
            out.append(list(zip(ids.tolist(), ws.tolist())))
            i = j + 1
        return out

    def write(self, value: Any, binary: bool = True) -> bytes:
        frames = [list(f) for f in value]
        if not binary:
            parts = []
            for f in frames:
                flat: list[Any] = []
                for i, w in f:
                    flat += [int(i), float(np.float32(w))]
                parts.append("[ " + ("%d %.7g " * len(f)) % tuple(flat) + "] ")
            return ("".join(parts) + "\n").encode()
        out = [_BIN, b"\x04", struct.pack("<i", len(frames))]
        for f in frames:
            m = len(f)
            rec = np.empty((m, 10), dtype=np.uint8)
            rec[:, 0] = 4
            rec[:, 5] = 4
            if m:
                ids = np.array([p[0] for p in f], dtype="<i4")
                ws = np.array([p[1] for p in f], dtype="<f4")
                rec[:, 1:5] = ids.view(np.uint8).reshape(m, 4)
                rec[:, 6:10] = ws.view(np.uint8).reshape(m, 4)
            out += [b"\x04", struct.pack("<i", m), rec.tobytes()]
        return b"".join(out)


# --------------------------------------------------------------------------- scalars, tokens
def _text_line_value(s: InputStream, what: str) -> str:
    pos = s.pos
    line = s.readline()
    if not line.endswith(b"\n"):
        raise FormatError(f"{_where(s, pos)}: expected a newline after the {what}")
    text = _decode(line, s, what).strip(" \t\r\v\f\n")
    if not text:
        raise FormatError(f"{_where(s, pos)}: found newline but expected a {what}")
    if len(text.split()) != 1:
        raise FormatError(f"{_where(s, pos)}: expected one {what} before the newline, got {text[:40]!r}")
    return text


class ScalarHolder(Holder):
    """``int``, ``float``, ``double`` and ``bool`` tables (``utt2dur``, ``feat-to-len``).

    Text form is ``value `` (with Kaldi's trailing space) then a newline: an archive line
    reads ``key value \\n``. Values come back as Python ``int``/``float``/``bool``.

    Kaldi: ``BasicHolder<int32|float|double|bool>``.
    """

    _KINDS: ClassVar[dict[str, str]] = {"int": "i", "float": "f", "double": "d", "bool": "?"}

    def __init__(self, kind: str = "float") -> None:
        if kind not in self._KINDS:
            raise FormatError(f"unknown scalar kind {kind!r}")
        self.name = kind  # type: ignore[misc]

    def read(self, s: InputStream) -> Any:
        pos = s.pos
        if init_input(s):
            if self.name == "bool":
                c = s.read_exact(1, "bool")
                if c not in (b"T", b"F"):
                    raise FormatError(f"{_where(s, pos)}: expected T or F, got {c!r}")
                return c == b"T"
            if self.name == "int":
                return read_int32(s, "int")
            return read_float_bin(s, self.name)
        text = _text_line_value(s, self.name)
        if self.name == "bool":
            if text not in ("T", "F"):
                raise FormatError(f"{_where(s, pos)}: expected T or F, got {text[:20]!r}")
            return text == "T"
        if self.name == "int":
            if not re.fullmatch(r"[+-]?[0-9]+", text) or not -(2**31) <= int(text) < 2**31:
                raise FormatError(f"{_where(s, pos)}: expected an int32, got {text[:20]!r}")
            return int(text)
        if not _is_number(text):
            raise FormatError(f"{_where(s, pos)}: expected a number, got {text[:20]!r}")
        v = float(text)
        return float(np.float32(v)) if self.name == "float" else v

    def write(self, value: Any, binary: bool = True) -> bytes:
        if hasattr(value, "item"):
            value = value.item()
        if self.name == "bool":
            return (_BIN + (b"T" if value else b"F")) if binary else (b"T \n" if value else b"F \n")
        if self.name == "int":
            iv = int(value)
            if not -(2**31) <= iv < 2**31:
                raise FormatError(f"int value {iv} out of int32 range")
            return (_BIN + b"\x04" + struct.pack("<i", iv)) if binary else f"{iv} \n".encode()
        fv = float(value)
        if self.name == "float":
            fv = float(np.float32(fv))
            return (_BIN + b"\x04" + struct.pack("<f", fv)) if binary else f"{format_float(fv)} \n".encode()
        return (_BIN + b"\x08" + struct.pack("<d", fv)) if binary else f"{format_float(fv)} \n".encode()


class TokenHolder(Holder):
    """``token``: one whitespace-free string per key, ``key token\\n`` (always text).

    Kaldi: ``TokenHolder``.
    """

    name = "token"

    def read(self, s: InputStream) -> str:
        return _text_line_value(s, "token")

    def write(self, value: Any, binary: bool = True) -> bytes:
        if not isinstance(value, str) or not is_token(value):
            raise FormatError(f"invalid token {value!r} (must be non-empty, without whitespace)")
        return (value + "\n").encode()


class TokenVectorHolder(Holder):
    """``token_vector``: a list of tokens per key on one line (always text).

    Kaldi: ``TokenVectorHolder``.
    """

    name = "token_vector"

    def read(self, s: InputStream) -> list[str]:
        pos = s.pos
        line = s.readline()
        if not line.endswith(b"\n"):
            raise FormatError(f"{_where(s, pos)}: expected a newline after the token list")
        return _decode(line, s, "token vector").split()

    def write(self, value: Any, binary: bool = True) -> bytes:
        toks = list(value)
        for t in toks:
            if not isinstance(t, str) or not is_token(t):
                raise FormatError(f"invalid token {t!r} in token vector")
        return (" ".join(toks) + ("\n" if not toks else " \n")).encode()


# --------------------------------------------------------------------------- wave, HTK
class WaveHolder(Holder):
    """``wave``: one RIFF/WAVE file per entry (``wav-copy`` archives, binary only).

    Values are ``WaveData`` from :mod:`kaldibridge.kaldi.wave` (samples in int16 scale).

    Kaldi: ``WaveHolder``.
    """

    name = "wave"

    def read(self, s: InputStream) -> Any:
        from kaldibridge.kaldi import wave as _wave  # lazy: developed alongside

        return _wave.read_kaldi_wave_from_stream(s)

    def write(self, value: Any, binary: bool = True) -> bytes:
        if not binary:
            raise FormatError("wave data can only be written in binary mode")
        from kaldibridge.kaldi import wave as _wave

        return _wave.write_kaldi_wave(value)

    def to_output(self, value: Any, as_torch: bool) -> Any:
        return value


class HtkHeader(NamedTuple):
    """An HTK feature file header (big-endian on disk)."""

    num_samples: int
    samp_period: int  # in 100 ns units (100000 = 10 ms)
    samp_size: int  # bytes per frame
    parm_kind: int


class HtkMatrixHolder(Holder):
    """``htk_matrix``: HTK feature files inside an archive (``--output-format=htk``).

    Values read are ``(matrix, HtkHeader)``; values written are a matrix (header made from
    ``samp_period`` and ``parm_kind``) or a ``(matrix, HtkHeader)`` pair. The default
    ``parm_kind`` 0o20007 is Kaldi's fbank choice (FBANK with the _0 qualifier).

    Kaldi: ``HtkMatrixHolder``.
    """

    name = "htk_matrix"

    def __init__(self, samp_period: int = 100000, parm_kind: int = 0o20007) -> None:
        self.samp_period = samp_period
        self.parm_kind = parm_kind

    def read(self, s: InputStream) -> tuple[np.ndarray, HtkHeader]:
        pos = s.pos
        n, period, size, kind = struct.unpack(">iiHH", s.read_exact(12, "HTK header"))
        if n < 0 or size % 4:
            raise FormatError(f"{_where(s, pos)}: bad HTK header (nSamples {n}, sampSize {size})")
        cols = size // 4
        _check_size(s, n * cols, 4, "HTK matrix", pos)
        data = s.read_array(n * cols, ">f4", "HTK data").astype(np.float32).reshape(n, cols)
        return data, HtkHeader(n, period, size, kind)

    def write(self, value: Any, binary: bool = True) -> bytes:
        if isinstance(value, tuple):
            mat, header = value
            m = _as_numpy(mat, np.float32, 2, self.name)
            header = HtkHeader(*header)
        else:
            m = _as_numpy(value, np.float32, 2, self.name)
            header = HtkHeader(m.shape[0], self.samp_period, 4 * m.shape[1], self.parm_kind)
        head = struct.pack(">iiHH", *header)
        return head + np.ascontiguousarray(m, dtype=">f4").tobytes()

    def to_output(self, value: Any, as_torch: bool) -> Any:
        if as_torch:
            import torch

            return torch.from_numpy(value[0]), value[1]
        return value


class SphinxMatrixHolder(Holder):
    """``sphinx_matrix``: CMU Sphinx feature files as table values (``copy-feats --sphinx-in``).

    A file is a big-endian int32 count of floats followed by that many big-endian float32
    values, ``feat_dim`` (13 by default) per frame. Values are float32 ``(frames, feat_dim)``
    arrays. There is no text form.

    Kaldi: ``SphinxMatrixHolder<13>``.
    """

    name = "sphinx_matrix"

    def __init__(self, feat_dim: int = 13) -> None:
        if feat_dim <= 0:
            raise FormatError(f"Sphinx feature dimension must be positive, got {feat_dim}")
        self.feat_dim = feat_dim

    def read(self, s: InputStream) -> np.ndarray:
        pos = s.pos
        (count,) = struct.unpack(">i", s.read_exact(4, "Sphinx feature count"))
        if count < 0 or count % self.feat_dim:
            raise FormatError(
                f"{_where(s, pos)}: Sphinx feature count {count} is inconsistent with "
                f"vector length {self.feat_dim}"
            )
        _check_size(s, count, 4, "Sphinx features", pos)
        data = s.read_array(count, ">f4", "Sphinx features")
        return data.astype(np.float32).reshape(count // self.feat_dim, self.feat_dim)

    def write(self, value: Any, binary: bool = True) -> bytes:
        if not binary:
            raise FormatError("Sphinx features cannot be written in text mode")
        m = _as_numpy(value, np.float32, 2, self.name)
        if m.shape[1] != self.feat_dim:
            raise FormatError(
                f"'{self.name}' holder needs {self.feat_dim} columns, got shape {m.shape}"
            )
        return struct.pack(">i", m.size) + np.ascontiguousarray(m, dtype=">f4").tobytes()


#: Holder names accepted by readers and writers, with the class and its arguments.
HOLDERS: dict[str, tuple[type[Holder], dict[str, Any]]] = {
    "matrix": (MatrixHolder, {"dtype": np.float32}),
    "double_matrix": (MatrixHolder, {"dtype": np.float64}),
    "compressed_matrix": (CompressedMatrixHolder, {}),
    "general_matrix": (GeneralMatrixHolder, {}),
    "vector": (VectorHolder, {"dtype": np.float32}),
    "double_vector": (VectorHolder, {"dtype": np.float64}),
    "int_vector": (IntVectorHolder, {}),
    "int_vector_vector": (IntVectorVectorHolder, {}),
    "posterior": (PosteriorHolder, {}),
    "int": (ScalarHolder, {"kind": "int"}),
    "float": (ScalarHolder, {"kind": "float"}),
    "double": (ScalarHolder, {"kind": "double"}),
    "bool": (ScalarHolder, {"kind": "bool"}),
    "token": (TokenHolder, {}),
    "token_vector": (TokenVectorHolder, {}),
    "wave": (WaveHolder, {}),
    "htk_matrix": (HtkMatrixHolder, {}),
    "sphinx_matrix": (SphinxMatrixHolder, {}),
}


def get_holder(holder: str | Holder, **kwargs: Any) -> Holder:
    """Returns a holder instance from a name in :data:`HOLDERS` (or passes one through).

    Args:
        holder: a holder name or instance.
        **kwargs: extra constructor arguments, e.g. ``method=2`` for ``compressed_matrix``.

    Raises:
        FormatError: unknown holder name.
    """
    if isinstance(holder, Holder):
        return holder
    try:
        cls, args = HOLDERS[holder]
    except KeyError:
        raise FormatError(
            f"unknown holder {holder!r} (known: {', '.join(sorted(HOLDERS))})"
        ) from None
    return cls(**{**args, **kwargs})
