"""Table writers: ``ark``, ``scp`` and ``ark,scp`` output, binary or text.

Kaldi: ``TableWriter`` (``src/util/kaldi-table-inl.h``).
"""

from __future__ import annotations

import logging
from typing import Any

from kaldibridge.errors import FormatError, KaldiBridgeError, KaldiIOError, TableKeyError
from kaldibridge.kaldi.table.holders import Holder, get_holder, is_token
from kaldibridge.kaldi.table.readers import read_script_file
from kaldibridge.kaldi.table.specifiers import classify_wxfilename, parse_wspecifier
from kaldibridge.kaldi.table.xfilename import OutputStream, open_wx

__all__ = ["TableWriter", "write_object"]

_log = logging.getLogger(__name__)


class TableWriter:
    """Writes ``(key, value)`` entries to a table; a context manager.

    Args:
        wspecifier: e.g. ``"ark:out.ark"``, ``"ark,t:-"``, ``"ark,scp:f.ark,f.scp"``,
            ``"ark:| gzip -c > f.gz"``, or ``"scp:existing.scp"`` (each key is written to the
            file its line names).
        holder: holder name or instance (default ``"matrix"``); e.g.
            ``holder="compressed_matrix", method=2`` writes ``copy-feats --compress`` output.
        allow_pipes: ``False`` refuses shell pipes.
        **holder_kwargs: passed to the holder.

    Every entry is serialized completely before a byte of it is written, so a value that
    cannot be serialized leaves nothing behind; the ``ark,scp`` script line is written only
    after its archive entry was written. Errors name the key.

    Raises:
        FormatError: bad wspecifier; TableKeyError: a key that is not a Kaldi token (or,
        for ``scp:`` output, a key missing from the script without ``p``); KaldiIOError /
        PipeError: output failures.

    Kaldi: ``TableWriter<Holder>``.
    """

    def __init__(
        self,
        wspecifier: str,
        holder: str | Holder = "matrix",
        *,
        allow_pipes: bool | None = None,
        **holder_kwargs: Any,
    ) -> None:
        self.wspecifier = wspecifier
        self.spec = parse_wspecifier(wspecifier)
        self.holder = get_holder(holder, **holder_kwargs)
        self.allow_pipes = allow_pipes
        self.binary = self.spec.binary
        self._ark: OutputStream | None = None
        self._scp: OutputStream | None = None
        self._targets: dict[str, str] | None = None
        self._closed = False
        kind = self.spec.kind
        if kind == "scp":
            self._targets = dict(read_script_file(self.spec.scp_wxfilename or "", allow_pipes=allow_pipes))
            return
        ark_name = self.spec.ark_wxfilename or ""
        if kind == "ark,scp" and classify_wxfilename(ark_name) != "file":
            _log.warning(
                "writing archive %r and script together: the script will only be usable "
                "if the archive is a plain file",
                ark_name,
            )
        self._ark = open_wx(ark_name, allow_pipes=allow_pipes)
        if kind == "ark,scp":
            try:
                self._scp = open_wx(self.spec.scp_wxfilename or "", allow_pipes=allow_pipes)
            except BaseException:
                self._ark.abort()
                raise

    def _serialize(self, key: str, value: Any) -> list[Any]:
        try:
            return self.holder.write_parts(value, self.binary)
        except KaldiBridgeError as e:
            raise type(e)(f"writing key {key!r} to {self.wspecifier!r}: {e}") from e
        except (ValueError, TypeError, OverflowError) as e:
            raise FormatError(f"writing key {key!r} to {self.wspecifier!r}: {e}") from e

    def write(self, key: str, value: Any) -> None:
        """Writes one entry.

        Raises:
            TableKeyError: invalid key; FormatError: unserializable value; KaldiIOError.
        """
        if self._closed:
            raise KaldiIOError(f"writing key {key!r}: table {self.wspecifier!r} is closed")
        if not isinstance(key, str) or not is_token(key):
            raise TableKeyError(
                f"invalid key {key!r} for {self.wspecifier!r}: keys must be non-empty and "
                "contain no whitespace"
            )
        parts = self._serialize(key, value)
        if self._targets is not None:
            self._write_scp_target(key, parts)
            return
        ark = self._ark
        if ark is None:  # pragma: no cover - only after close
            raise KaldiIOError(f"table {self.wspecifier!r} is closed")
        head = key.encode() + b" "
        offset = ark.tell() + len(head)
        try:
            ark.write(head)
            for part in parts:
                ark.write(part)
            if self.spec.flush:
                ark.flush()
        except KaldiBridgeError as e:
            raise type(e)(f"writing key {key!r} to {self.wspecifier!r}: {e}") from e
        if self._scp is not None:
            line = f"{key} {self.spec.ark_wxfilename}:{offset}\n".encode()
            try:
                self._scp.write(line)
                if self.spec.flush:
                    self._scp.flush()
            except KaldiBridgeError as e:
                raise type(e)(f"writing script line for key {key!r}: {e}") from e

    def _write_scp_target(self, key: str, parts: list[Any]) -> None:
        target = (self._targets or {}).get(key)
        if target is None:
            if self.spec.permissive:
                return
            raise TableKeyError(
                f"no entry for key {key!r} in script file {self.spec.scp_wxfilename!r}"
            )
        try:
            with open_wx(target, allow_pipes=self.allow_pipes) as out:
                for part in parts:
                    out.write(part)
        except KaldiBridgeError as e:
            raise type(e)(f"writing key {key!r} to {target!r}: {e}") from e

    __setitem__ = write

    def __call__(self, key: str, value: Any) -> None:
        """Same as :meth:`write` (kaldiio's ``WriteHelper`` calling style)."""
        self.write(key, value)

    def flush(self) -> None:
        for out in (self._ark, self._scp):
            if out is not None:
                out.flush()

    def close(self) -> None:
        """Flushes and closes the outputs (pipe commands are waited for and checked).

        Raises:
            PipeError / KaldiIOError: the output could not be completed.
        """
        if self._closed:
            return
        self._closed = True
        first: BaseException | None = None
        for out in (self._ark, self._scp):
            if out is None:
                continue
            try:
                out.close()
            except KaldiBridgeError as e:
                first = first or e
        if first is not None:
            raise first

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True
            for out in (self._ark, self._scp):
                if out is not None:
                    out.abort()


def write_object(
    wxfilename: str,
    value: Any,
    holder: str | Holder = "matrix",
    *,
    binary: bool = True,
    allow_pipes: bool | None = None,
    **holder_kwargs: Any,
) -> None:
    """Writes a single object to a wxfilename (``file``, ``-`` or ``"| cmd"``).

    Kaldi: ``WriteKaldiObject``.
    """
    h = get_holder(holder, **holder_kwargs)
    try:
        data = h.write(value, binary)
    except (ValueError, TypeError, OverflowError) as e:
        if isinstance(e, KaldiBridgeError):
            raise
        raise FormatError(f"writing {wxfilename!r}: {e}") from e
    with open_wx(wxfilename, allow_pipes=allow_pipes) as out:
        out.write(data)
