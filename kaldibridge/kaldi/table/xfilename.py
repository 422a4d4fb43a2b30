"""Opening Kaldi rxfilenames and wxfilenames as byte streams.

An rxfilename is a file name, ``-`` or ``""`` (standard input), ``"cmd |"`` (the standard
output of a shell command) or ``"file:OFFSET"`` (a file read from a byte offset). A wxfilename
is a file name, ``-`` or ``""`` (standard output) or ``"| cmd"`` (the standard input of a
shell command).

**Pipes run shell commands** (``/bin/sh -c``), exactly as Kaldi's ``popen`` does: this is
what makes ``wav.scp`` lines such as ``sox in.flac -t wav - |`` work, and it also means a
``.scp`` file from an untrusted source can run anything. Refuse pipes with
``allow_pipes=False`` or by setting the environment variable ``KALDIBRIDGE_NO_PIPES=1``
(which wins over ``allow_pipes=True``); a refused pipe raises
:class:`~kaldibridge.errors.PipesRefusedError` before anything runs.

A pipe whose command exits with a non-zero status raises
:class:`~kaldibridge.errors.PipeError` naming the command and the status, once its output
has been read to the end (or when a read comes up short), so a failing command is never
taken for an empty or short archive. A reader that stops early (random access, or a single
object read from a longer stream) closes the pipe; the status of a command killed that way
is not an error, as in Kaldi.

Kaldi: ``Input``, ``Output`` (``src/util/kaldi-io.{h,cc}``).
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from kaldibridge.errors import FormatError, KaldiBridgeError, KaldiIOError, PipeError, PipesRefusedError
from kaldibridge.kaldi.table.specifiers import (
    classify_rxfilename,
    classify_wxfilename,
    split_offset,
)

__all__ = ["InputStream", "OutputStream", "open_rx", "open_wx", "pipes_allowed"]

_log = logging.getLogger(__name__)

# Small reads (keys, headers) go through an internal buffer of this size; large payloads
# are read straight into their destination array, so a small buffer copies less.
_CHUNK = 1 << 13
# Without a known size (pipes, stdin), reads larger than this grow chunk by chunk, so a
# corrupt header cannot make us allocate memory the stream never delivers.
_UNKNOWN_SIZE_LIMIT = 1 << 24
_HAVE_READV = hasattr(os, "readv")
_HAVE_PREADV = hasattr(os, "preadv") and hasattr(os, "pread")
_NOT_WS = re.compile(rb"[^ \t\n\r\v\f]")
_WS_RE = re.compile(rb"[ \t\n\r\v\f]")


def pipes_allowed(allow_pipes: bool | None = None) -> bool:
    """Whether shell pipes may run: ``False`` if ``allow_pipes`` is False or the
    environment variable ``KALDIBRIDGE_NO_PIPES`` is set to anything but ``""``/``0``."""
    env = os.environ.get("KALDIBRIDGE_NO_PIPES", "")
    if env not in ("", "0", "false", "False"):
        return False
    return allow_pipes is not False


def _describe_status(cmd: str, rc: int) -> str:
    if rc < 0:
        return f"command {cmd!r} was killed by signal {-rc}"
    return f"command {cmd!r} exited with status {rc}"


class InputStream:
    """A buffered binary input stream that knows its name and byte position.

    Attributes:
        name: the rxfilename (for messages).
        size: total size in bytes when known (regular files), else ``None``.
    """

    def __init__(
        self,
        f: BinaryIO,
        name: str,
        *,
        pos: int = 0,
        size: int | None = None,
        proc: subprocess.Popen[bytes] | None = None,
        cmd: str | None = None,
        close_file: bool = True,
    ) -> None:
        self._f = f
        self.name = name
        self.size = size
        self._proc = proc
        self._cmd = cmd
        self._close_file = close_file
        self._buf = b""
        self._i = 0
        self._base = pos
        self._eof = False
        self._closed = False
        self._read1 = getattr(f, "read1", None) or f.read
        # Unbuffered regular files can be read with os.readv (see read_array_peek).
        self._scratch: bytearray | None = None
        self._fd = f.fileno() if isinstance(f, io.FileIO) and size is not None and proc is None else None

    # ----------------------------------------------------------------- basics
    @property
    def pos(self) -> int:
        """Byte offset of the next unread byte in the underlying file or stream."""
        return self._base + self._i

    @property
    def is_pipe(self) -> bool:
        return self._proc is not None

    def seekable(self) -> bool:
        return self._proc is None and self.size is not None

    def seek(self, offset: int) -> None:
        """Moves to an absolute byte offset (regular files only)."""
        if not self.seekable():
            raise KaldiIOError(f"cannot seek in {self.name!r} (not a regular file)")
        if self._base <= offset <= self._base + len(self._buf):
            self._i = offset - self._base
            self._eof = False
            return
        try:
            self._f.seek(offset)
        except OSError as e:
            raise KaldiIOError(f"cannot seek to offset {offset} in {self.name!r}: {e}") from e
        self._buf, self._i, self._base, self._eof = b"", 0, offset, False

    def remaining(self) -> int | None:
        """Bytes left to read, when the size is known."""
        return None if self.size is None else max(self.size - self.pos, 0)

    def _raw(self, n: int) -> bytes:
        try:
            return self._read1(n)
        except OSError as e:
            raise KaldiIOError(f"error reading {self.name!r} at offset {self.pos}: {e}") from e

    def _fill(self, n: int, readahead: int = _CHUNK) -> bool:
        """Makes ``n`` bytes available in the buffer; False if the stream ends first."""
        while len(self._buf) - self._i < n:
            if self._eof:
                return False
            chunk = self._raw(max(readahead, n - (len(self._buf) - self._i)))
            if not chunk:
                self._eof = True
                return False
            if self._i:
                self._base += self._i
                self._buf = self._buf[self._i :] + chunk
                self._i = 0
            else:
                self._buf += chunk
        return True

    def at_eof(self) -> bool:
        """True if no byte is left."""
        return not self._fill(1)

    def peek(self, n: int = 1) -> bytes:
        """Up to ``n`` next bytes without consuming them (fewer only at end of stream)."""
        self._fill(n)
        return self._buf[self._i : self._i + n]

    def read(self, n: int = -1) -> bytes:
        """Reads up to ``n`` bytes (all that is left if ``n < 0``); file-like."""
        if n < 0:
            parts = [self._buf[self._i :]]
            self._base += len(self._buf)
            self._buf, self._i = b"", 0
            while not self._eof:
                chunk = self._raw(_CHUNK)
                if not chunk:
                    self._eof = True
                    break
                parts.append(chunk)
                self._base += len(chunk)
            return b"".join(parts)
        if len(self._buf) - self._i >= n:
            out = self._buf[self._i : self._i + n]
            self._i += n
            return out
        if n <= _CHUNK:
            self._fill(n)
            out = self._buf[self._i : self._i + n]
            self._i += len(out)
            return out
        return self.read_array(n, np.uint8, "data", exact=False).tobytes()

    def read_exact(self, n: int, what: str) -> bytes:
        """Reads exactly ``n`` bytes or raises a truncation error naming ``what``."""
        start = self.pos
        data = self.read(n)
        if len(data) != n:
            self.truncated(what, start, n, len(data))
        return data

    def truncated(self, what: str, start: int, wanted: int, got: int) -> None:
        """Raises the error for a short read (a PipeError if a pipe command failed)."""
        msg = (
            f"{self.name!r}: unexpected end of data reading {what} at offset {start} "
            f"(wanted {wanted} bytes, got {got})"
        )
        self.raise_if_pipe_failed(msg)
        raise FormatError(msg)

    def raise_if_pipe_failed(self, msg: str) -> None:
        """For a pipe whose command failed, raises PipeError with the status and ``msg``.

        Called when reading went wrong, so that the failed command (not the short or
        empty data it left) is reported. Does nothing for files or successful commands.
        """
        if self._proc is None:
            return
        try:
            rc = self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return
        if rc != 0:
            raise PipeError(f"{_describe_status(self._cmd or '', rc)}; {msg}")

    def read_array(self, count: int, dtype: Any, what: str, *, exact: bool = True) -> np.ndarray:
        """Reads ``count`` items of ``dtype`` into a new, writable array.

        The allocation is checked against the bytes the stream can still hold (regular
        files) or grows with the data actually received (pipes), so a corrupt header cannot
        trigger a huge allocation.
        """
        dt = np.dtype(dtype)
        nbytes = count * dt.itemsize
        start = self.pos
        rem = self.remaining()
        if rem is not None and nbytes > rem:
            if exact:
                self.truncated(what, start, nbytes, rem)
            nbytes = rem - rem % dt.itemsize
            count = nbytes // dt.itemsize
        if rem is None and nbytes > _UNKNOWN_SIZE_LIMIT:
            return self._read_array_growing(count, dt, what, exact)
        out = np.empty(count, dtype=dt)
        mv = memoryview(out).cast("B")
        got = self._readinto(mv)
        if got != nbytes:
            if exact:
                self.truncated(what, start, nbytes, got)
            return out[: got // dt.itemsize].copy()
        return out

    def read_array_peek(self, count: int, dtype: Any, what: str, peek: int = 1024) -> np.ndarray:
        """:meth:`read_array` (exact) that also buffers up to ``peek`` following bytes.

        For regular files the data goes straight from the file into the new array and the
        next ``peek`` bytes (e.g. the next archive entry's header) into the buffer with one
        ``readv`` call, instead of a buffered read and a second read per entry.
        """
        dt = np.dtype(dtype)
        nbytes = count * dt.itemsize
        rem = self.remaining()
        have = len(self._buf) - self._i
        if self._fd is None or rem is None or nbytes > rem or nbytes <= have or not _HAVE_READV:
            return self.read_array(count, dt, what)
        out = np.empty(count, dtype=dt)
        self.readinto_peek(memoryview(out).cast("B"), what, peek)
        return out

    def readinto_peek(self, mv: memoryview, what: str, peek: int = 1024) -> None:
        """Fills the byte view ``mv`` exactly from the current position; on regular files
        the next ``peek`` bytes are buffered by the same ``readv`` call.

        Raises:
            FormatError: the data ends first (a PipeError if a pipe command failed).
        """
        nbytes = len(mv)
        have = len(self._buf) - self._i
        if nbytes <= have or self._fd is None or not _HAVE_READV:
            got = self._readinto(mv)
            if got != nbytes:
                self.truncated(what, self.pos - got, nbytes, got)
            return
        start = self.pos
        if have:
            mv[:have] = memoryview(self._buf)[self._i :]
        self._base += len(self._buf)
        self._buf, self._i = b"", 0
        got = have
        scratch = self._scratch
        if scratch is None or len(scratch) != peek:
            scratch = self._scratch = bytearray(peek)
        while got < nbytes:
            try:
                k = os.readv(self._fd, [mv[got:], scratch])
            except OSError as e:
                raise KaldiIOError(f"error reading {self.name!r} at offset {self.pos}: {e}") from e
            if not k:
                self._eof = True
                self.truncated(what, start, nbytes, got)
            need = nbytes - got
            if k <= need:
                got += k
                self._base += k
            else:
                got = nbytes
                self._base += need
                self._buf = bytes(memoryview(scratch)[: k - need])

    def read_records(
        self,
        header: re.Pattern[bytes],
        alloc: Callable[[re.Match[bytes], int], np.ndarray | None],
        max_records: int,
        what: str = "record data",
        lookahead: int = 128,
        peek: int = 1024,
    ) -> tuple[list[tuple[re.Match[bytes], np.ndarray]], BaseException | None, re.Match[bytes] | None]:
        """Reads consecutive "header + binary payload" records of a regular file.

        Each record starts with a match of ``header`` at the current position (within
        ``lookahead`` bytes); ``alloc(match, avail)`` returns the new array the payload
        fills (its ``nbytes`` is the payload size) or None to stop before this record
        (``avail`` is the number of bytes after the header). Payloads are read straight
        into their arrays, together with the next ``peek`` bytes, one ``readv`` each.

        Returns:
            The records read, and for a record whose payload could not be read, the error
            and its header match (the records before it are complete). Nothing is read on
            streams that are not regular files (the list is empty).
        """
        out: list[tuple[re.Match[bytes], np.ndarray]] = []
        if self._fd is None or self.size is None or not _HAVE_READV:
            return out, None, None
        size, match = self.size, header.match
        while len(out) < max_records:
            if len(self._buf) - self._i < lookahead:
                self._fill(lookahead)
            buf = self._buf
            m = match(buf, self._i)
            if m is None:
                break
            e = m.end()
            dest = alloc(m, size - self._base - e)
            if dest is None:
                break
            n = dest.nbytes
            have = len(buf) - e
            if n <= have:
                if n:
                    memoryview(dest).cast("B")[:] = memoryview(buf)[e : e + n]
                self._i = e + n
                out.append((m, dest))
                continue
            self._i = e
            try:
                self.readinto_peek(memoryview(dest).cast("B"), what, peek)
            except KaldiBridgeError as err:
                return out, err, m
            out.append((m, dest))
        return out, None, None

    def can_pread(self) -> bool:
        """True for regular files, which :meth:`pread` and :meth:`pread_into` can read."""
        return self._fd is not None and _HAVE_PREADV

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes at absolute ``offset`` (fewer at the end of the file).

        Positioned read of a regular file (see :meth:`can_pread`): the stream's own
        position and buffer are left alone.
        """
        try:
            return os.pread(self._fd, n, offset)  # type: ignore[arg-type]
        except (OSError, TypeError) as e:
            raise KaldiIOError(f"error reading {self.name!r} at offset {offset}: {e}") from e

    def pread_into(self, mv: memoryview, offset: int, what: str) -> None:
        """Fills ``mv`` (a byte view of a new array) from absolute ``offset``.

        Raises:
            FormatError: the file ends first (message: file, offset, ``what``).
        """
        n = len(mv)
        got = 0
        while got < n:
            try:
                k = os.preadv(self._fd, [mv[got:]], offset + got)  # type: ignore[arg-type]
            except (OSError, TypeError) as e:
                raise KaldiIOError(f"error reading {self.name!r} at offset {offset + got}: {e}") from e
            if not k:
                raise FormatError(
                    f"{self.name!r}: unexpected end of data reading {what} at offset {offset} "
                    f"(wanted {n} bytes, got {got})"
                )
            got += k

    def _read_array_growing(self, count: int, dt: np.dtype, what: str, exact: bool) -> np.ndarray:
        nbytes = count * dt.itemsize
        start = self.pos
        parts: list[bytes] = []
        got = 0
        while got < nbytes:
            piece = self.read(min(_UNKNOWN_SIZE_LIMIT, nbytes - got))
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
        if got != nbytes:
            if exact:
                self.truncated(what, start, nbytes, got)
            got -= got % dt.itemsize
        return np.frombuffer(b"".join(parts)[:got], dtype=dt).copy()

    def _readinto(self, mv: memoryview) -> int:
        n = len(mv)
        have = len(self._buf) - self._i
        take = min(have, n)
        if take:
            mv[:take] = memoryview(self._buf)[self._i : self._i + take]
        self._i += take
        got = take
        if got == n:
            return got
        # Buffer is exhausted: read straight into the destination.
        self._base += len(self._buf)
        self._buf, self._i = b"", 0
        readinto = getattr(self._f, "readinto", None)
        while got < n and not self._eof:
            try:
                if readinto is not None:
                    k = readinto(mv[got:])
                else:
                    chunk = self._f.read(n - got)
                    k = len(chunk)
                    mv[got : got + k] = chunk
            except OSError as e:
                raise KaldiIOError(f"error reading {self.name!r} at offset {self.pos}: {e}") from e
            if not k:
                self._eof = True
                break
            got += k
            self._base += k
        return got

    def match_ahead(self, pattern: re.Pattern[bytes], need: int) -> re.Match[bytes] | None:
        """Matches ``pattern`` at the current position with at least ``need`` bytes
        buffered (fewer at the end of the stream); nothing is consumed. Use
        :meth:`consume_match` to step over a match."""
        if len(self._buf) - self._i < need:
            self._fill(need)
        return pattern.match(self._buf, self._i)

    def consume_match(self, m: re.Match[bytes]) -> None:
        """Steps over a match returned by :meth:`match_ahead` (no read in between)."""
        self._i = m.end()

    def buffered(self, need: int, readahead: int = _CHUNK) -> tuple[bytes, int]:
        """The read buffer and the index of the current position in it.

        At least ``need`` bytes follow the index (fewer only at the end of the stream);
        when the buffer must grow, ``readahead`` bytes are asked for at once. The buffer is
        an immutable ``bytes`` object: slices and memoryviews of it stay valid after later
        reads. Step forward with :meth:`advance_to` (no read in between).
        """
        if len(self._buf) - self._i < need:
            self._fill(need, readahead)
        return self._buf, self._i

    def advance_to(self, index: int) -> None:
        """Moves the position to ``index`` of the buffer returned by :meth:`buffered`."""
        if not self._i <= index <= len(self._buf):
            raise KaldiIOError(f"cannot move to buffer index {index} in {self.name!r}")
        self._i = index

    # ----------------------------------------------------------------- tokens
    def skip_whitespace(self) -> bytes:
        """Skips whitespace; returns the next byte (not consumed) or ``b""`` at the end."""
        while True:
            if not self._fill(1):
                return b""
            m = _NOT_WS.search(self._buf, self._i)
            if m is not None:
                self._i = m.start()
                return self._buf[self._i : self._i + 1]
            self._i = len(self._buf)

    def read_word(self, what: str = "token", limit: int = 1 << 20) -> bytes:
        """Skips whitespace and reads a run of non-whitespace bytes (C++ ``is >> str``).

        Returns ``b""`` at the end of the stream.
        """
        if not self.skip_whitespace():
            return b""
        start = self.pos
        while True:
            m = _WS_RE.search(self._buf, self._i)
            if m is not None:
                word = self._buf[self._i : m.start()]
                self._i = m.start()
                return word
            if len(self._buf) - self._i > limit:
                raise FormatError(
                    f"{self.name!r}: {what} at offset {start} is longer than {limit} bytes"
                )
            if not self._fill(len(self._buf) - self._i + 1):
                word = self._buf[self._i :]
                self._i = len(self._buf)
                return word

    def unread(self, n: int) -> None:
        """Steps back over the last ``n`` bytes just returned by :meth:`readline`."""
        if n < 0 or n > self._i:
            raise KaldiIOError(f"cannot step back {n} bytes in {self.name!r}")
        self._i -= n

    def readline(self, limit: int = 1 << 30) -> bytes:
        """Reads up to and including the next ``\\n`` (or to the end of the stream)."""
        while True:
            j = self._buf.find(b"\n", self._i)
            if j >= 0:
                line = self._buf[self._i : j + 1]
                self._i = j + 1
                return line
            have = len(self._buf) - self._i
            if have > limit:
                raise FormatError(f"{self.name!r}: line at offset {self.pos} is too long")
            if not self._fill(have + 1):
                line = self._buf[self._i :]
                self._i = len(self._buf)
                return line

    # ----------------------------------------------------------------- close
    def close(self, *, drain: bool = False) -> None:
        """Closes the stream; for pipes, checks the command's exit status.

        Args:
            drain: read a pipe to its end before closing, so its status is always checked.
                Without it, a pipe closed before its end is not checked (its command may
                legitimately die of SIGPIPE).

        Raises:
            PipeError: the command ended with a non-zero status after its output was read
                to the end.
        """
        if self._closed:
            return
        self._closed = True
        if self._proc is not None:
            if drain and not self._eof:
                try:
                    while self._raw(_CHUNK):
                        pass
                except KaldiIOError:
                    pass
                self._eof = True
            reached_end = self._eof
            try:
                self._f.close()
            except OSError:
                pass
            rc = self._proc.wait()
            if reached_end and rc != 0:
                raise PipeError(_describe_status(self._cmd or "", rc) + f" (reading {self.name!r})")
            return
        if self._close_file:
            try:
                self._f.close()
            except OSError:
                pass

    def __enter__(self) -> InputStream:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close(drain=self.is_pipe)
        else:
            try:
                self.close()
            except PipeError:
                pass

    def __del__(self) -> None:  # best effort: never leave zombie processes
        if not getattr(self, "_closed", True) and getattr(self, "_proc", None) is not None:
            try:
                self._f.close()
                self._proc.wait()
            except Exception:  # noqa: BLE001 - interpreter shutdown, nothing to report
                pass


def open_rx(rxfilename: str, *, allow_pipes: bool | None = None) -> InputStream:
    """Opens an rxfilename for binary reading.

    Args:
        rxfilename: file, ``-``/``""`` (stdin), ``"cmd |"`` or ``"file:OFFSET"``.
        allow_pipes: ``False`` refuses ``"cmd |"``; ``None`` allows it unless the
            environment variable ``KALDIBRIDGE_NO_PIPES`` is set.

    Returns:
        An :class:`InputStream` (a context manager).

    Raises:
        FormatError: the name cannot be classified.
        PipesRefusedError: a pipe while pipes are refused.
        KaldiIOError: the file cannot be opened or the offset is beyond its end.
    """
    kind = classify_rxfilename(rxfilename)
    if kind == "stdin":
        return InputStream(sys.stdin.buffer, "standard input", close_file=False)
    if kind == "pipe":
        if not pipes_allowed(allow_pipes):
            raise PipesRefusedError(
                f"refusing to run the shell pipe {rxfilename!r} (pipes are disabled by "
                "allow_pipes=False or KALDIBRIDGE_NO_PIPES)"
            )
        cmd = rxfilename[:-1].strip()
        try:
            proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE)
        except OSError as e:
            raise PipeError(f"failed to start command {cmd!r}: {e}") from e
        return InputStream(proc.stdout, rxfilename, proc=proc, cmd=cmd)  # type: ignore[arg-type]
    path, offset = (rxfilename, 0) if kind == "file" else split_offset(rxfilename)
    try:
        f = open(path, "rb", buffering=0)  # noqa: SIM115 - owned by the InputStream
    except OSError as e:
        raise KaldiIOError(f"failed to open {path!r} for reading: {e.strerror or e}") from e
    try:
        size = os.fstat(f.fileno()).st_size
        if not os.path.isfile(path):
            size = None  # a FIFO or device: size unknown
        if offset:
            if size is not None and offset > size:
                raise KaldiIOError(
                    f"offset {offset} is beyond the end of {path!r} ({size} bytes)"
                )
            f.seek(offset)
    except BaseException:
        f.close()
        raise
    raw: BinaryIO = f if size is not None else io.BufferedReader(f)  # type: ignore[assignment]
    return InputStream(raw, path, pos=offset, size=size)


class OutputStream:
    """A binary output stream that counts the bytes written (for ``ark,scp`` offsets).

    Attributes:
        name: the wxfilename.
        kind: ``"file"``, ``"stdout"`` or ``"pipe"``.
    """

    def __init__(
        self,
        f: BinaryIO,
        name: str,
        kind: str,
        *,
        proc: subprocess.Popen[bytes] | None = None,
        cmd: str | None = None,
    ) -> None:
        self._f = f
        self.name = name
        self.kind = kind
        self._proc = proc
        self._cmd = cmd
        self._pos = 0
        self._closed = False

    def tell(self) -> int:
        """Bytes written so far."""
        return self._pos

    def _fail(self, e: OSError) -> None:
        if self._proc is not None:
            rc = self._proc.poll()
            status = f"; {_describe_status(self._cmd or '', rc)}" if rc is not None else ""
            raise PipeError(f"error writing to pipe {self.name!r}: {e}{status}") from e
        raise KaldiIOError(f"error writing {self.name!r}: {e}") from e

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Writes all of ``data``."""
        try:
            self._f.write(data)
        except OSError as e:
            self._fail(e)
        n = len(data) if not isinstance(data, memoryview) else data.nbytes
        self._pos += n
        return n

    def flush(self) -> None:
        try:
            self._f.flush()
        except OSError as e:
            self._fail(e)

    def close(self) -> None:
        """Flushes and closes; for pipes, waits for the command and checks its status.

        Raises:
            PipeError: the command exited with a non-zero status or the pipe broke.
            KaldiIOError: the final flush failed (e.g. disk full).
        """
        if self._closed:
            return
        self._closed = True
        if self.kind == "stdout":
            self.flush()
            return
        err: OSError | None = None
        try:
            self._f.close()
        except OSError as e:
            err = e
        if self._proc is not None:
            rc = self._proc.wait()
            if rc != 0:
                raise PipeError(_describe_status(self._cmd or "", rc) + f" (writing {self.name!r})")
            if err is not None:
                raise PipeError(f"error closing pipe {self.name!r}: {err}") from err
        elif err is not None:
            raise KaldiIOError(f"error closing output file {self.name!r} (disk full?): {err}")

    def abort(self) -> None:
        """Closes without raising (used when an error is already on its way)."""
        try:
            self.close()
        except (OSError, PipeError):
            pass

    def __enter__(self) -> OutputStream:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def open_wx(wxfilename: str, *, allow_pipes: bool | None = None) -> OutputStream:
    """Opens a wxfilename for binary writing (files are created or truncated).

    Args:
        wxfilename: file, ``-``/``""`` (stdout) or ``"| cmd"``.
        allow_pipes: ``False`` refuses ``"| cmd"`` (see :func:`pipes_allowed`).

    Raises:
        FormatError: the name cannot be classified.
        PipesRefusedError: a pipe while pipes are refused.
        KaldiIOError: the file cannot be created.
    """
    kind = classify_wxfilename(wxfilename)
    if kind == "stdout":
        return OutputStream(sys.stdout.buffer, "standard output", "stdout")
    if kind == "pipe":
        if not pipes_allowed(allow_pipes):
            raise PipesRefusedError(
                f"refusing to run the shell pipe {wxfilename!r} (pipes are disabled by "
                "allow_pipes=False or KALDIBRIDGE_NO_PIPES)"
            )
        cmd = wxfilename[1:].strip()
        try:
            proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE)
        except OSError as e:
            raise PipeError(f"failed to start command {cmd!r}: {e}") from e
        return OutputStream(proc.stdin, wxfilename, "pipe", proc=proc, cmd=cmd)  # type: ignore[arg-type]
    try:
        f = open(wxfilename, "wb")  # noqa: SIM115 - owned by the OutputStream
    except OSError as e:
        raise KaldiIOError(f"failed to open {wxfilename!r} for writing: {e.strerror or e}") from e
    return OutputStream(f, wxfilename, "file")  # type: ignore[arg-type]
