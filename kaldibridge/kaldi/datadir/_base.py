"""Shared machinery of the script emulations: message sinks, exits, id-list filters."""

from __future__ import annotations

import datetime as _dt
import logging
import os
import random
import string
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from kaldibridge.errors import KaldiBridgeError
from kaldibridge.kaldi.datadir._text import (
    awk_fields,
    join_lines,
    perl_fields,
    read_lines,
    split_lines,
    write_lines,
)

__all__ = ["Console", "DataDirError", "ScriptExit", "PerlDie"]

logger = logging.getLogger("kaldibridge.datadir")


class DataDirError(KaldiBridgeError, ValueError):
    """A data-directory operation failed the way the Kaldi script fails.

    Attributes:
        status: the exit status the Kaldi script would have returned.
        messages: what the script printed (stdout and stderr lines, in order).
    """

    def __init__(self, message: str, status: int = 1, messages: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.messages = list(messages)


class ScriptExit(Exception):
    """Internal: a script ends with ``exit STATUS`` (messages already printed)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class PerlDie(Exception):
    """Internal: one of the perl helpers died; ``message`` goes to stderr."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        if not message.endswith("\n"):
            # perl appends the location to a message without a final newline
            message += f" at {where}.\n" if where else "\n"
        self.message = message
        self.partial: list[bytes] = []
        self.status: int | None = None


def perl_die_status() -> int:
    """The exit status of perl's ``die``: errno, which is ENOTTY (25) when stdout is no tty."""
    try:
        return 255 if sys.stdout.isatty() else 25
    except (AttributeError, ValueError):
        return 25


class Console:
    """Where a script's messages go: stdout/stderr callbacks, and a transcript.

    Args:
        out: called with each stdout line (no newline); default: log at INFO.
        err: called with each stderr line; default: log at WARNING.
    """

    def __init__(self, out: Callable[[str], None] | None = None, err: Callable[[str], None] | None = None) -> None:
        self._out = out
        self._err = err
        self.transcript: list[str] = []
        self.stdout: list[str] = []
        self.stderr: list[str] = []

    def out(self, text: str) -> None:
        for line in text.split("\n"):
            self.stdout.append(line)
            self.transcript.append(line)
            if self._out is not None:
                self._out(line)
            else:
                logger.info("%s", line)

    def err(self, text: str) -> None:
        for line in text.rstrip("\n").split("\n"):
            self.stderr.append(line)
            self.transcript.append(line)
            if self._err is not None:
                self._err(line)
            else:
                logger.warning("%s", line)


def fake_tmpdir() -> str:
    """A name like the ``mktemp -d /tmp/kaldi.XXXX`` directories the scripts print."""
    rnd = random.SystemRandom()
    return "/tmp/kaldi." + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(4))


def diff_mtime() -> str:
    """A timestamp as ``diff -U`` prints it in its headers."""
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond:06d}000 +0000"


def dec(b: bytes) -> str:
    """Bytes from a data file to message text (undecodable bytes survive)."""
    return b.decode("utf-8", "surrogateescape")


def enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def exists(path: str) -> bool:
    return os.path.isfile(path)


def nonempty(path: str) -> bool:
    """``[ -s path ]``."""
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def wc_l(path: str) -> int:
    """``wc -l``: the number of newline bytes."""
    try:
        return Path(path).read_bytes().count(b"\n")
    except OSError:
        return 0


def lines(path: str) -> list[bytes]:
    return read_lines(path)


def write(path: str, content: Iterable[bytes]) -> None:
    write_lines(path, content)


def read_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def id_set(idlist: Sequence[bytes], name: str) -> set[bytes]:
    """The ids of an id-list file (first field of each line), as filter_scp.pl reads them."""
    firsts = [line.split(None, 1) for line in idlist]
    if not all(firsts):
        bad = next(line for line, f in zip(idlist, firsts) if not f)
        raise PerlDie(f"Invalid id-list file line {dec(bad)}\n")
    return {f[0] for f in firsts}


def filter_scp(
    idlist: Sequence[bytes], lines_in: Sequence[bytes], *, field: int = 1, exclude: bool = False, idlist_name: str = ""
) -> list[bytes]:
    """``utils/filter_scp.pl``: input lines whose ``field``-th field is (not) in the id list.

    Args:
        idlist: lines of the id list (only their first field matters).
        lines_in: lines to filter, kept in their order.
        field: 1-based field to look up.
        exclude: keep the lines *not* in the list.

    Returns:
        The kept lines.
    """
    ids = id_set(idlist, idlist_name)
    if field == 1:
        firsts = [line.split(None, 1) for line in lines_in]
        if not all(firsts):
            bad = next(line for line, f in zip(lines_in, firsts) if not f)
            raise PerlDie(f"Bad line {dec(bad)}\n, could not get first field.")
        keys = [f[0] for f in firsts]
    else:
        keys = []
        for line in lines_in:
            f = perl_fields(line)
            if not f or len(f) < field:
                raise PerlDie(f"Invalid scp file line {dec(line)}\n")
            keys.append(f[field - 1])
    if exclude:
        return [line for line, k in zip(lines_in, keys) if k not in ids]
    return [line for line, k in zip(lines_in, keys) if k in ids]


def utt2spk_to_spk2utt(utt2spk: Sequence[bytes]) -> list[bytes]:
    """``utils/utt2spk_to_spk2utt.pl``: speakers in order of first appearance."""
    order: list[bytes] = []
    groups: dict[bytes, list[bytes]] = {}
    for line in utt2spk:
        f = perl_fields(line)
        if len(f) != 2:
            raise PerlDie(f"Invalid line in utt2spk file: {dec(line)}\n")
        u, s = f
        if s not in groups:
            groups[s] = []
            order.append(s)
        groups[s].append(u)
    return [s + b" " + b" ".join(groups[s]) for s in order]


def spk2utt_to_utt2spk(spk2utt: Sequence[bytes]) -> list[bytes]:
    """``utils/spk2utt_to_utt2spk.pl``."""
    out: list[bytes] = []
    for line in spk2utt:
        f = perl_fields(line)
        if len(f) < 2:
            raise PerlDie(f"Invalid line in spk2utt file: {dec(line)}\n")
        s = f[0]
        out.extend(u + b" " + s for u in f[1:])
    return out


def apply_map(lines_in: Sequence[bytes], mapping: Sequence[bytes], *, field: int, map_name: str) -> list[bytes]:
    """``utils/apply_map.pl -f FIELD MAP``: fields re-joined by single spaces."""
    table: dict[bytes, bytes] = {}
    for line in mapping:
        f = perl_fields(line)
        if not f:
            raise PerlDie("apply_map.pl: empty line.", f"utils/apply_map.pl line 73, <M> line {len(table) + 1}")
        table[f[0]] = b" ".join(f[1:])
    out: list[bytes] = []
    for line in lines_in:
        f = perl_fields(line)
        if len(f) >= field:
            k = f[field - 1]
            if k not in table:
                err = PerlDie(f"apply_map.pl: undefined key {dec(k)} in {map_name}\n")
                err.partial = out  # what perl had printed (flushed at exit)
                err.status = 255
                raise err
            f[field - 1] = table[k]
        out.append(b" ".join(f))
    return out


def awk_col(lines_in: Sequence[bytes], n: int = 1) -> list[bytes]:
    """``awk '{print $n}'``."""
    out = []
    for line in lines_in:
        f = awk_fields(line)
        out.append(f[n - 1] if len(f) >= n else b"")
    return out


__all__ += [
    "filter_scp",
    "utt2spk_to_spk2utt",
    "spk2utt_to_utt2spk",
    "apply_map",
    "awk_col",
    "join_lines",
    "split_lines",
]
