"""Table readers: sequential iteration and random (dict-like) access over ark/scp tables.

Kaldi: ``SequentialTableReader``, ``RandomAccessTableReader`` (``src/util/kaldi-table-inl.h``).
"""

from __future__ import annotations

import logging
import re
import struct
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from kaldibridge.errors import (
    FormatError,
    KaldiBridgeError,
    KaldiIOError,
    PipeError,
    TableKeyError,
)
from kaldibridge.kaldi.table.holders import Holder, get_holder
from kaldibridge.kaldi.table.specifiers import (
    Rspecifier,
    classify_rxfilename,
    parse_rspecifier,
    split_offset,
    split_range,
)
from kaldibridge.kaldi.table.xfilename import InputStream, open_rx

__all__ = [
    "SequentialTableReader",
    "RandomAccessTableReader",
    "read_script_file",
    "read_object",
]

_log = logging.getLogger(__name__)

# Builtin errors a parser may raise on garbage; re-raised as FormatError with context.
_PARSE_ERRORS = (ValueError, struct.error, OverflowError, IndexError, UnicodeDecodeError)


def _rewrap(e: BaseException, context: str) -> KaldiBridgeError:
    """Same error class (or FormatError for builtin parse errors), message prefixed."""
    msg = f"{context}: {e}"
    if isinstance(e, KaldiBridgeError):
        try:
            new = type(e)(msg)
        except TypeError:  # pragma: no cover - all our classes take one message
            new = FormatError(msg)
        return new
    return FormatError(msg)


def _read_key(s: InputStream, archive: str) -> str | None:
    """Reads ``key`` + separator of the next archive entry; None at the end."""
    pos = s.pos
    raw = s.read_word("key", limit=65536)
    if not raw:
        return None
    try:
        key = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(
            f"archive {archive!r} at offset {pos}: key {raw[:40]!r} is not valid UTF-8"
        ) from None
    nxt = s.peek(1)
    if nxt in (b" ", b"\t"):
        s.read(1)
    elif nxt != b"\n":
        shown = "end of data" if not nxt else repr(nxt)
        raise FormatError(
            f"archive {archive!r} at offset {pos}: expected space after key {key!r}, got {shown}"
        )
    return key


def read_script_file(rxfilename: str, *, allow_pipes: bool | None = None) -> list[tuple[str, str]]:
    """Reads a whole ``.scp`` file into ``[(key, rxfilename), ...]``.

    Raises:
        FormatError: an empty line or a line without a value (the message gives the line).

    Kaldi: ``ReadScriptFile``.
    """
    with open_rx(rxfilename, allow_pipes=allow_pipes) as s:
        if s.peek(1) == b"\0":
            raise FormatError(f"script file {s.name!r} appears to be binary")
        return _parse_script(s.read(), s.name)


def _parse_script(raw: bytes, name: str) -> list[tuple[str, str]]:
    """Parses a whole script file's bytes (the same rules as :func:`_iter_script`)."""
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = None
    if lines is not None:
        if lines[-1] == "":
            lines.pop()
        pairs = [line.split(None, 1) for line in lines]
        if all(len(p) == 2 for p in pairs) and not any(line[:1].isspace() for line in lines):
            return [(p[0], p[1].strip()) for p in pairs]
    # Something is wrong: find the first bad line for the message.
    for lineno, rawline in enumerate(raw.split(b"\n"), 1):
        _script_entry(rawline, lineno, name)
    raise FormatError(f"script file {name!r}: cannot parse")  # pragma: no cover - unreachable


def _iter_script(rxfilename: str, allow_pipes: bool | None) -> Iterator[tuple[str, str]]:
    with open_rx(rxfilename, allow_pipes=allow_pipes) as s:
        if s.peek(1) == b"\0":
            raise FormatError(f"script file {s.name!r} appears to be binary")
        lineno = 0
        while True:
            raw = s.readline()
            if not raw:
                break
            lineno += 1
            yield _script_entry(raw.rstrip(b"\n"), lineno, s.name)


def _script_entry(line_bytes: bytes, lineno: int, name: str) -> tuple[str, str]:
    """One script-file line (without its newline) as ``(key, rxfilename)``.

    Raises:
        FormatError: the line is not UTF-8, empty, starts with whitespace or has no
            rxfilename after the key.
    """
    try:
        line = line_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"script file {name!r}, line {lineno}: not valid UTF-8") from None
    if not line:
        raise FormatError(f"script file {name!r}: empty line {lineno}")
    parts = line.strip().split(None, 1)
    if len(parts) != 2 or line[0].isspace():
        raise FormatError(f"script file {name!r}: invalid line {lineno}: {line!r}")
    return parts[0], parts[1].strip()


# "path:offset" where the path has no pipe symbol and no leading whitespace: an offset
# rxfilename by Kaldi's rules (names starting with 'a' or 's' may be specifiers and take
# the general path).
_PLAIN_OFFSET = re.compile(r"([^|\s][^|]*):([0-9]+)", re.S)


class _StreamCache:
    """Keeps a few seekable inputs open, so scp entries into one archive reuse one handle."""

    def __init__(self, allow_pipes: bool | None, size: int = 8) -> None:
        self._allow_pipes = allow_pipes
        self._size = size
        self._open: OrderedDict[str, InputStream] = OrderedDict()

    def read(self, rx: str, holder: Holder) -> Any:
        """Reads one object from an rxfilename (``file``, ``file:offset``, pipe, stdin)."""
        m = _PLAIN_OFFSET.fullmatch(rx)
        if m is not None and rx[0] not in "as":  # the common "path:offset" of ark,scp output
            kind, path, offset = "offset", m.group(1), int(m.group(2))
        else:
            kind = classify_rxfilename(rx)
            path, offset = (rx, 0) if kind == "file" else ("", 0)
            if kind == "offset":
                path, offset = split_offset(rx)
        if kind in ("pipe", "stdin"):
            with open_rx(rx, allow_pipes=self._allow_pipes) as s:
                try:
                    value = holder.read(s)
                except (KaldiBridgeError, *_PARSE_ERRORS) as e:
                    s.raise_if_pipe_failed(str(e))
                    raise
            return value
        s = self._open.get(path)
        if s is None:
            s = open_rx(path, allow_pipes=self._allow_pipes)
            if not s.seekable():
                with s:
                    return holder.read(s)
            self._open[path] = s
            while len(self._open) > self._size:
                _, old = self._open.popitem(last=False)
                old.close()
        else:
            self._open.move_to_end(path)
        if s.size is not None and offset > s.size:
            raise KaldiIOError(f"offset {offset} is beyond the end of {path!r} ({s.size} bytes)")
        read_at = getattr(holder, "read_at", None)
        if read_at is not None and s.can_pread():
            value = read_at(s, offset)
            if value is not None:
                return value
        s.seek(offset)
        return holder.read(s)

    def close(self) -> None:
        while self._open:
            _, s = self._open.popitem()
            s.close()


def _prefetch_first(it: Iterator[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Open a script file now (so a missing one fails at construction), yield lazily."""
    try:
        first = next(it)
    except StopIteration:
        first = None

    def chain() -> Iterator[tuple[str, str]]:
        try:
            if first is not None:
                yield first
                yield from it
        finally:
            it.close()  # type: ignore[attr-defined]

    return chain()


class SequentialTableReader:
    """Iterates over ``(key, value)`` pairs of a table.

    Args:
        rspecifier: e.g. ``"ark:feats.ark"``, ``"scp:feats.scp"``, ``"ark:gunzip -c x.gz |"``.
        holder: a holder name (see :data:`~kaldibridge.kaldi.table.holders.HOLDERS`) or
            instance; ``"matrix"`` by default.
        as_torch: return tensors instead of numpy arrays.
        allow_pipes: ``False`` refuses shell pipes (see :mod:`.xfilename`).
        **holder_kwargs: passed to the holder (e.g. ``method=`` for ``compressed_matrix``).

    Values are freshly allocated for every entry; nothing returned is reused or aliased.
    Matrices are writable, C-contiguous (row-major, as in Kaldi) arrays that own their
    memory, whether stored plain or compressed. Plain binary entries of a regular file are
    read straight into their arrays (one ``readv`` per entry, which also fetches the next
    entry's header); runs of ``CM`` entries are parsed from 1 MB read windows and decoded in
    batches of 16 (their lookup tables built together), each matrix only when the iteration
    reaches it.
    With the ``p`` option, scp entries that cannot be read are skipped (logged as warnings)
    and an archive with a broken entry ends there instead of raising.

    Raises (while iterating):
        FormatError: a malformed archive, script or object (message: file, offset, key).
        KaldiIOError: a missing file; PipeError: a failed pipe command.

    Kaldi: ``SequentialTableReader<Holder>``.
    Differences: ``bg`` (background reading) is accepted and has no effect.
    """

    def __init__(
        self,
        rspecifier: str,
        holder: str | Holder = "matrix",
        *,
        as_torch: bool = False,
        allow_pipes: bool | None = None,
        **holder_kwargs: Any,
    ) -> None:
        self.rspecifier = rspecifier
        self.spec: Rspecifier = parse_rspecifier(rspecifier)
        self.holder = get_holder(holder, **holder_kwargs)
        self.as_torch = as_torch
        self.allow_pipes = allow_pipes
        self._iter: Iterator[tuple[str, Any]] | None = None
        self._closers: list[Any] = []
        self._closed = False
        # Open now, so a missing archive/script fails at construction (as in Kaldi).
        try:
            if self.spec.kind == "ark":
                self._stream: InputStream | None = open_rx(self.spec.rxfilename, allow_pipes=allow_pipes)
            else:
                self._stream = None
                self._script = _iter_script(self.spec.rxfilename, allow_pipes)
                self._script = _prefetch_first(self._script)
        except KaldiIOError as e:
            # Kaldi: "Failed to open stream X" then "Error constructing TableReader: ...".
            _log.warning("Failed to open stream %s", self.spec.rxfilename)
            raise type(e)(f"Error constructing TableReader: rspecifier is {rspecifier} ({e})") from e

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        if self._iter is None:
            self._iter = self._iter_ark() if self.spec.kind == "ark" else self._iter_scp()
        return self._iter

    def __next__(self) -> tuple[str, Any]:
        return next(iter(self))

    def _iter_ark(self) -> Iterator[tuple[str, Any]]:
        s = self._stream
        if s is None:
            return
        name = self.spec.rxfilename
        holder, as_torch = self.holder, self.as_torch
        fast = getattr(holder, "read_entries_fast", None)
        while True:
            key: str | None = None
            pos: int | None = s.pos
            try:
                got = fast(s) if fast is not None else None
                if got is not None:
                    entries, pending = got
                    if as_torch:
                        for key, value in entries:
                            yield key, holder.to_output(value, as_torch)
                    else:
                        yield from entries
                    if pending is not None:
                        # The pending error names its key and offset itself.
                        key, pos = None, None
                        raise pending
                    continue
                key = _read_key(s, name)
                if key is None:
                    break
                value = holder.read(s)
            except (KaldiBridgeError, *_PARSE_ERRORS) as e:
                where = f"reading archive {name!r}"
                if key:
                    where += f", key {key!r}"
                elif pos is not None:
                    where += f" at offset {pos}"
                try:
                    s.raise_if_pipe_failed(f"{where}: {e}")
                except KaldiBridgeError as pipe_err:
                    e = pipe_err
                err = _rewrap(e, where) if not isinstance(e, PipeError) else e
                if self.spec.permissive:
                    _log.warning("%s (stopping early: permissive mode)", err)
                    break
                self._close_quietly()
                raise err from e
            yield key, holder.to_output(value, as_torch)
        self._stream = None
        try:
            s.close()
        except KaldiBridgeError as e:
            if not self.spec.permissive:
                raise
            _log.warning("%s (ignored: permissive mode)", e)

    def _iter_scp(self) -> Iterator[tuple[str, Any]]:
        cache = _StreamCache(self.allow_pipes)
        self._closers.append(cache)
        holder, as_torch = self.holder, self.as_torch
        try:
            for key, rx in self._script:
                try:
                    value = _load_entry(cache, rx, holder)
                except (KaldiBridgeError, *_PARSE_ERRORS) as e:
                    # Kaldi's messages: the reason, then which object failed (and with the
                    # 'p' option the entry is skipped; without it the table read fails).
                    if isinstance(e, KaldiIOError) and not isinstance(e, PipeError) and _is_open_failure(e):
                        _log.warning("Failed to open file %s", rx)
                    else:
                        _log.error("%s", e)
                        _log.warning("Failed to load object from %s", rx)
                    if self.spec.permissive:
                        continue
                    msg = (
                        f"Failed to load object from {rx} (to suppress this error, add the permissive "
                        f"(p, ) option to the rspecifier. [key {key!r} in {self.spec.rxfilename!r}: {e}]"
                    )
                    err = type(e)(msg) if isinstance(e, KaldiBridgeError) else FormatError(msg)
                    raise err from e
                yield key, holder.to_output(value, as_torch)
        finally:
            cache.close()

    def _close_quietly(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except KaldiBridgeError:
                pass
            self._stream = None

    def close(self) -> None:
        """Closes open files (a pipe not read to its end is not status-checked)."""
        if self._closed:
            return
        self._closed = True
        self._close_quietly()
        for c in self._closers:
            c.close()
        if self.spec.kind == "scp":
            self._script.close()  # type: ignore[union-attr]

    def __enter__(self) -> SequentialTableReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _is_open_failure(e: BaseException) -> bool:
    """True if ``e`` says a file could not be opened at all (missing, unreadable)."""
    cause = e.__cause__ or e.__context__
    return isinstance(cause, (FileNotFoundError, PermissionError, IsADirectoryError)) or "No such file" in str(e)


def _load_entry(cache: _StreamCache, rx: str, holder: Holder) -> Any:
    base, rng = split_range(rx)
    value = cache.read(base, holder)
    if rng is not None:
        if not holder.supports_range:
            raise FormatError(f"range specifier [{rng}] not supported for '{holder.name}' tables")
        value = holder.extract_range(value, rng)
    return value


class RandomAccessTableReader:
    """Dict-like, lazy access to a table by key.

    For ``scp:`` the script is indexed when opened and each entry is read on demand (open
    archives are cached). For ``ark:`` the archive is scanned only as far as needed: on a
    seekable file only byte offsets are remembered and entries are re-read when asked for;
    on a pipe or stdin, values passed over are kept in memory (dropped once returned with
    ``o``, dropped when behind the asked key with ``cs``). With ``s`` (sorted archive) a
    missing key is known to be absent as soon as a larger key is seen.

    Args:
        rspecifier, holder, as_torch, allow_pipes, holder_kwargs: as for
            :class:`SequentialTableReader`.

    Kaldi: ``RandomAccessTableReader<Holder>``.
    Differences: ``key in reader`` only checks the index for ``scp:`` (Kaldi's ``HasKey``
    also tries to load the object); values returned are always new copies.

    Performance: scp entries pointing into regular files are read with positioned reads
    (a small ``pread`` for the object's header, then the data straight into the new array),
    with one open descriptor per archive (the 8 most recently used stay open).
    """

    def __init__(
        self,
        rspecifier: str,
        holder: str | Holder = "matrix",
        *,
        as_torch: bool = False,
        allow_pipes: bool | None = None,
        **holder_kwargs: Any,
    ) -> None:
        self.rspecifier = rspecifier
        self.spec = parse_rspecifier(rspecifier)
        self.holder = get_holder(holder, **holder_kwargs)
        self.as_torch = as_torch
        self.allow_pipes = allow_pipes
        self._cache = _StreamCache(allow_pipes)
        self._index: dict[str, Any] = {}
        self._order: list[str] = []
        self._done = False
        self._last_key: str | None = None
        self._stream: InputStream | None = None
        self._stream_kept: InputStream | None = None
        self._pending: tuple[str, Any] | None = None
        self._seekable = False
        if self.spec.kind == "scp":
            for key, rx in read_script_file(self.spec.rxfilename, allow_pipes=allow_pipes):
                if key not in self._index:
                    self._order.append(key)
                self._index[key] = rx
            self._done = True
        else:
            self._stream = open_rx(self.spec.rxfilename, allow_pipes=allow_pipes)
            self._seekable = self._stream.seekable()

    # --------------------------------------------------------------- archive scanning
    def _scan_next(self) -> str | None:
        """Reads one more archive entry into the index; returns its key (None at end)."""
        s = self._stream
        if s is None or self._done:
            return None
        pos = s.pos
        key: str | None = None
        try:
            key = _read_key(s, self.spec.rxfilename)
            if key is None:
                self._finish()
                return None
            start = s.pos
            value = self.holder.read(s)
        except (KaldiBridgeError, *_PARSE_ERRORS) as e:
            where = f"reading archive {self.spec.rxfilename!r}" + (
                f", key {key!r}" if key else f" at offset {pos}"
            )
            err = _rewrap(e, where)
            if self.spec.permissive:
                _log.warning("%s (stopping early: permissive mode)", err)
                self._finish(check=False)
                return None
            raise err from e
        if key not in self._index:
            self._order.append(key)
        self._index[key] = ("offset", start) if self._seekable else ("value", value)
        self._pending = (key, value)
        return key

    def _finish(self, check: bool = True) -> None:
        self._done = True
        s, self._stream = self._stream, None
        if s is None:
            return
        if self._seekable:
            self._stream_kept = s  # keep open for re-reading by offset
            return
        if check:
            s.close()
        else:
            try:
                s.close()
            except KaldiBridgeError:
                pass


    def _lookup_ark(self, key: str) -> tuple[bool, Any]:
        self._pending = None
        if key in self._index:
            return True, self._materialize(key)
        while not self._done:
            if self.spec.sorted and self._order and self._order[-1] > key:
                return False, None
            got = self._scan_next()
            if got is None:
                break
            if self.spec.called_sorted and not self._seekable:
                for old in [k for k in self._order[:-1] if k < key]:
                    self._index.pop(old, None)
            if got == key:
                pending = self._pending
                self._pending = None
                value = pending[1] if pending is not None else self._materialize(key)
                if self.spec.once and not self._seekable:
                    self._index.pop(key, None)
                return True, value
        return False, None

    def _materialize(self, key: str) -> Any:
        kind, data = self._index[key]
        if kind == "value":
            if self.spec.once:
                self._index.pop(key, None)
                return data
            return _copy_value(data)
        s = self._stream if self._stream is not None else self._stream_kept
        if s is None:
            raise KaldiIOError(f"table {self.rspecifier!r} is closed")
        resume = s.pos
        s.seek(data)
        try:
            return self.holder.read(s)
        except (KaldiBridgeError, *_PARSE_ERRORS) as e:
            raise _rewrap(e, f"reading archive {self.spec.rxfilename!r}, key {key!r}") from e
        finally:
            s.seek(resume)

    # --------------------------------------------------------------- dict interface
    def _get(self, key: str) -> tuple[bool, Any]:
        if self.spec.kind == "scp":
            rx = self._index.get(key)
            if rx is None:
                return False, None
            try:
                return True, _load_entry(self._cache, rx, self.holder)
            except (KaldiBridgeError, *_PARSE_ERRORS) as e:
                err = _rewrap(e, f"key {key!r} in {self.spec.rxfilename!r} ({rx!r})")
                if self.spec.permissive:
                    _log.warning("%s (treated as missing: permissive mode)", err)
                    return False, None
                raise err from e
        return self._lookup_ark(key)

    def __getitem__(self, key: str) -> Any:
        found, value = self._get(key)
        if not found:
            raise TableKeyError(f"key {key!r} not found in table {self.rspecifier!r}")
        return self.holder.to_output(value, self.as_torch)

    def get(self, key: str, default: Any = None) -> Any:
        found, value = self._get(key)
        return self.holder.to_output(value, self.as_torch) if found else default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self._index:
            return True
        if self.spec.kind == "scp":
            return False
        while not self._done:
            if self.spec.sorted and self._order and self._order[-1] > key:
                return False
            got = self._scan_next()
            if got == key:
                return True
        return key in self._index

    def _scan_all(self) -> None:
        while not self._done:
            self._scan_next()

    def keys(self) -> list[str]:
        """All keys in table order (scans the whole archive for ``ark:``)."""
        self._scan_all()
        return list(self._order)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def items(self) -> Iterator[tuple[str, Any]]:
        for k in self.keys():
            yield k, self[k]

    def values(self) -> Iterator[Any]:
        for k in self.keys():
            yield self[k]

    def close(self) -> None:
        self._cache.close()
        for s in (self._stream, getattr(self, "_stream_kept", None)):
            if s is not None:
                try:
                    s.close()
                except KaldiBridgeError:
                    pass
        self._stream = None
        self._stream_kept = None

    def __enter__(self) -> RandomAccessTableReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _copy_value(v: Any) -> Any:
    import copy

    import numpy as np

    if isinstance(v, np.ndarray):
        return v.copy()
    return copy.deepcopy(v)


def read_object(
    rxfilename: str,
    holder: str | Holder = "matrix",
    *,
    as_torch: bool = False,
    allow_pipes: bool | None = None,
    **holder_kwargs: Any,
) -> Any:
    """Reads a single object from an rxfilename (binary or text, detected by ``\\0B``).

    Accepts ``file``, ``-``, ``"cmd |"``, ``"file:OFFSET"`` and a trailing range
    ``[r1:r2,c1:c2]`` (inclusive, as in Kaldi).

    Kaldi: ``ReadKaldiObject``.
    """
    h = get_holder(holder, **holder_kwargs)
    cache = _StreamCache(allow_pipes)
    try:
        value = _load_entry(cache, rxfilename, h)
    except _PARSE_ERRORS as e:
        raise FormatError(f"reading {rxfilename!r}: {e}") from e
    finally:
        cache.close()
    return h.to_output(value, as_torch)
