"""Kaldi rspecifiers, wspecifiers, rxfilenames and wxfilenames: parsing and classification.

The grammar follows Kaldi's parsers (``ClassifyRspecifier``, ``ClassifyWspecifier``,
``ClassifyRxfilename`` and ``ClassifyWxfilename``), not its comments: options before the
colon are separated by single commas (``"b, ark:x"`` is rejected, as Kaldi's parser
rejects it, because the empty string between ``,`` and `` `` is not an option).

Rspecifier options (``OPTS:rxfilename`` with OPTS a comma-separated list containing
exactly one of ``ark`` or ``scp``):

=========  ==================================================================
``o``      "once": each key is asked for at most once (random access may drop values).
``no``     undo ``o``.
``s``      the archive/script is sorted by key: random access can stop early.
``ns``     undo ``s``.
``cs``     "called sorted": random-access lookups come in sorted order.
``ncs``    undo ``cs``.
``p``      permissive: unreadable scp entries / a broken archive tail are skipped.
``np``     undo ``p``.
``bg``     read ahead in the background. Accepted; a no-op here (reading is not threaded).
``b``      accepted and ignored (as in Kaldi), so wspecifiers can be reused as rspecifiers.
``t``      accepted and ignored (as in Kaldi); text/binary is detected per object.
=========  ==================================================================

Wspecifier options (``ark``, ``scp`` or ``ark,scp`` in that order):

=========  ==================================================================
``b``      binary output (the default).
``t``      text output.
``f``      flush after every entry.
``nf``     do not flush after every entry (the default).
``p``      permissive, for ``scp:`` output only: keys missing from the scp are skipped
           silently instead of raising an error.
=========  ==================================================================

Kaldi: ``src/util/kaldi-table.{h,cc}``, ``src/util/kaldi-io.{h,cc}``.
Differences: the errors are exceptions (:class:`~kaldibridge.errors.FormatError`) that say
which option was not understood, where Kaldi only returns "no specifier".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from kaldibridge.errors import FormatError

__all__ = [
    "Rspecifier",
    "Wspecifier",
    "parse_rspecifier",
    "parse_wspecifier",
    "classify_rxfilename",
    "classify_wxfilename",
    "is_rspecifier",
    "is_wspecifier",
    "split_offset",
    "split_range",
    "parse_matrix_range",
    "RxType",
    "WxType",
]

_log = logging.getLogger(__name__)

RxType = Literal["stdin", "pipe", "offset", "file"]
WxType = Literal["stdout", "pipe", "file"]

_RSPEC_FLAGS = {
    "o": ("once", True),
    "no": ("once", False),
    "p": ("permissive", True),
    "np": ("permissive", False),
    "s": ("sorted", True),
    "ns": ("sorted", False),
    "cs": ("called_sorted", True),
    "ncs": ("called_sorted", False),
    "bg": ("background", True),
}
_RSPEC_IGNORED = ("b", "t")

_WSPEC_FLAGS = {
    "b": ("binary", True),
    "t": ("binary", False),
    "f": ("flush", True),
    "nf": ("flush", False),
    "p": ("permissive", True),
}


@dataclass(frozen=True)
class Rspecifier:
    """A parsed rspecifier.

    Attributes:
        kind: ``"ark"`` or ``"scp"``.
        rxfilename: where the archive or script file is read from.
        once, sorted, called_sorted, permissive, background: the modifiers (see module doc).
    """

    kind: Literal["ark", "scp"]
    rxfilename: str
    once: bool = False
    sorted: bool = False
    called_sorted: bool = False
    permissive: bool = False
    background: bool = False


@dataclass(frozen=True)
class Wspecifier:
    """A parsed wspecifier.

    Attributes:
        kind: ``"ark"``, ``"scp"`` or ``"ark,scp"``.
        ark_wxfilename: the archive to write (``None`` for ``scp``).
        scp_wxfilename: the script file to write (``ark,scp``), or the existing script file
            that names where each key goes (``scp``); ``None`` for ``ark``.
        binary, flush, permissive: the modifiers (see module doc).
    """

    kind: Literal["ark", "scp", "ark,scp"]
    ark_wxfilename: str | None
    scp_wxfilename: str | None
    binary: bool = True
    flush: bool = False
    permissive: bool = False


def _split_options(spec: str, what: str) -> tuple[list[str], str]:
    pos = spec.find(":")
    if pos < 0:
        raise FormatError(f"invalid {what} {spec!r}: no ':' (expected e.g. 'ark:file.ark')")
    if spec and spec[-1].isspace():
        raise FormatError(f"invalid {what} {spec!r}: trailing whitespace is not allowed")
    # Kaldi splits on both ',' and ' ' without dropping empty pieces.
    return re.split(r"[, ]", spec[:pos]), spec[pos + 1 :]


def parse_rspecifier(rspecifier: str) -> Rspecifier:
    """Parses an rspecifier such as ``"ark,s,cs:feats.ark"`` or ``"scp:feats.scp"``.

    Args:
        rspecifier: the string to parse.

    Returns:
        The parsed :class:`Rspecifier`.

    Raises:
        FormatError: no colon, trailing whitespace, an unknown or empty option, or not
            exactly one of ``ark``/``scp``.

    Kaldi: ``ClassifyRspecifier``.
    """
    opts, rx = _split_options(rspecifier, "rspecifier")
    kind: str | None = None
    flags: dict[str, bool] = {}
    for opt in opts:
        if opt in _RSPEC_IGNORED:
            continue
        if opt in _RSPEC_FLAGS:
            name, value = _RSPEC_FLAGS[opt]
            flags[name] = value
        elif opt in ("ark", "scp"):
            if kind is not None:
                raise FormatError(
                    f"invalid rspecifier {rspecifier!r}: 'ark' and 'scp' may appear only once "
                    "and not together"
                )
            kind = opt
        else:
            shown = opt if opt else "(empty; use ',' without spaces)"
            raise FormatError(
                f"invalid rspecifier {rspecifier!r}: unknown option {shown!r} (accepted: "
                "ark, scp, o, no, s, ns, cs, ncs, p, np, bg, b, t)"
            )
    if kind is None:
        raise FormatError(f"invalid rspecifier {rspecifier!r}: needs 'ark' or 'scp'")
    return Rspecifier(kind=kind, rxfilename=rx, **flags)  # type: ignore[arg-type]


def parse_wspecifier(wspecifier: str) -> Wspecifier:
    """Parses a wspecifier such as ``"ark,t:-"`` or ``"ark,scp:feats.ark,feats.scp"``.

    Args:
        wspecifier: the string to parse.

    Returns:
        The parsed :class:`Wspecifier`.

    Raises:
        FormatError: no colon, trailing whitespace, an unknown option, ``scp,ark`` order,
            repeated ``ark``/``scp``, or ``ark,scp`` without a comma between the two names.

    Kaldi: ``ClassifyWspecifier``.
    """
    opts, rest = _split_options(wspecifier, "wspecifier")
    kind: str | None = None
    flags: dict[str, bool] = {}
    for opt in opts:
        if opt in _WSPEC_FLAGS:
            name, value = _WSPEC_FLAGS[opt]
            flags[name] = value
        elif opt == "ark":
            if kind is not None:
                raise FormatError(
                    f"invalid wspecifier {wspecifier!r}: 'ark' must come first and only once"
                )
            kind = "ark"
        elif opt == "scp":
            if kind is None:
                kind = "scp"
            elif kind == "ark":
                kind = "ark,scp"
            else:
                raise FormatError(f"invalid wspecifier {wspecifier!r}: repeated 'scp'")
        else:
            shown = opt if opt else "(empty; use ',' without spaces)"
            raise FormatError(
                f"invalid wspecifier {wspecifier!r}: unknown option {shown!r} (accepted: "
                "ark, scp, b, t, f, nf, p)"
            )
    if kind is None:
        raise FormatError(f"invalid wspecifier {wspecifier!r}: needs 'ark', 'scp' or 'ark,scp'")
    if kind == "ark":
        return Wspecifier("ark", rest, None, **flags)
    if kind == "scp":
        return Wspecifier("scp", None, rest, **flags)
    comma = rest.find(",")
    if comma < 0:
        raise FormatError(
            f"invalid wspecifier {wspecifier!r}: 'ark,scp' needs two names, 'ARK,SCP'"
        )
    return Wspecifier("ark,scp", rest[:comma], rest[comma + 1 :], **flags)


def is_rspecifier(s: str) -> bool:
    """True if ``s`` parses as an rspecifier (Kaldi: ``ClassifyRspecifier != kNoRspecifier``)."""
    try:
        parse_rspecifier(s)
    except FormatError:
        return False
    return True


def is_wspecifier(s: str) -> bool:
    """True if ``s`` parses as a wspecifier (Kaldi: ``ClassifyWspecifier != kNoWspecifier``)."""
    try:
        parse_wspecifier(s)
    except FormatError:
        return False
    return True


def _looks_like_specifier(s: str) -> bool:
    return s[:1] in ("a", "s") and ":" in s and (is_rspecifier(s) or is_wspecifier(s))


_OFFSET_RE = re.compile(r"^(.+):([0-9]+)$", re.S)


def classify_rxfilename(rxfilename: str) -> RxType:
    """Classifies an rxfilename.

    ``""`` or ``"-"``: standard input; ``"cmd |"``: a shell pipe; ``"file:123"``: a byte
    offset into a file; anything else: a file name.

    Raises:
        FormatError: leading ``|`` (an output pipe), leading/trailing whitespace, a ``|``
            elsewhere, or something that looks like an rspecifier/wspecifier.

    Kaldi: ``ClassifyRxfilename``.
    """
    if rxfilename in ("", "-"):
        return "stdin"
    if rxfilename[0] == "|":
        raise FormatError(f"invalid rxfilename {rxfilename!r}: '|cmd' is an output pipe")
    if rxfilename[-1] == "|":
        return "pipe"
    if rxfilename[0].isspace() or rxfilename[-1].isspace():
        raise FormatError(f"invalid rxfilename {rxfilename!r}: leading or trailing whitespace")
    if _looks_like_specifier(rxfilename):
        raise FormatError(
            f"invalid rxfilename {rxfilename!r}: this is an rspecifier/wspecifier, not a file name"
        )
    if rxfilename[-1].isdigit():
        m = _OFFSET_RE.match(rxfilename)
        if m is not None:
            return "offset"
    if "|" in rxfilename:
        raise FormatError(
            f"invalid rxfilename {rxfilename!r}: pipe symbol in the wrong place "
            "(an input pipe ends with '|')"
        )
    return "file"


def classify_wxfilename(wxfilename: str) -> WxType:
    """Classifies a wxfilename: ``""``/``"-"`` stdout, ``"| cmd"`` pipe, otherwise a file.

    Raises:
        FormatError: leading/trailing whitespace, a trailing ``|`` (input pipe), a byte
            offset (``file:123``), a ``|`` elsewhere, or a specifier.

    Kaldi: ``ClassifyWxfilename``.
    """
    if wxfilename in ("", "-"):
        return "stdout"
    if wxfilename[0] == "|":
        return "pipe"
    if wxfilename[0].isspace() or wxfilename[-1].isspace() or wxfilename[-1] == "|":
        raise FormatError(
            f"invalid wxfilename {wxfilename!r}: leading/trailing whitespace or trailing '|'"
        )
    if _looks_like_specifier(wxfilename):
        raise FormatError(
            f"invalid wxfilename {wxfilename!r}: this is an rspecifier/wspecifier, not a file name"
        )
    if wxfilename[-1].isdigit() and _OFFSET_RE.match(wxfilename):
        raise FormatError(f"invalid wxfilename {wxfilename!r}: byte offsets are for reading only")
    if "|" in wxfilename:
        raise FormatError(
            f"invalid wxfilename {wxfilename!r}: pipe symbol in the wrong place "
            "(an output pipe starts with '|')"
        )
    return "file"


def split_offset(rxfilename: str) -> tuple[str, int]:
    """Splits ``"foo.ark:1234"`` into ``("foo.ark", 1234)``.

    Raises:
        FormatError: the name has no ``:OFFSET`` suffix.
    """
    m = _OFFSET_RE.match(rxfilename)
    if m is None:
        raise FormatError(f"rxfilename {rxfilename!r} has no ':OFFSET' suffix")
    return m.group(1), int(m.group(2))


def split_range(rxfilename: str) -> tuple[str, str | None]:
    """Splits a trailing range specifier: ``"a.ark:9[0:9]"`` -> ``("a.ark:9", "0:9")``.

    Names that do not end in ``]`` come back unchanged with ``None``.

    Raises:
        FormatError: the name ends in ``]`` but is not ``NAME[RANGE]`` with exactly one ``[``.

    Kaldi: ``ExtractRangeSpecifier``.
    """
    if not rxfilename.endswith("]"):
        return rxfilename, None
    parts = rxfilename.split("[")
    if len(parts) != 2 or not parts[0] or len(parts[1]) < 2:
        raise FormatError(f"invalid range specifier in {rxfilename!r}")
    return parts[0], parts[1][:-1]


def _parse_pair(text: str, spec: str) -> tuple[int, int] | None:
    if text == ":" or text == "":
        return None
    pieces = text.split(":")
    try:
        values = [int(p) for p in pieces if re.fullmatch(r"[+-]?[0-9]+", p.strip())]
    except ValueError:  # pragma: no cover - guarded by the regex
        values = []
    if len(pieces) != 2 or len(values) != 2:
        raise FormatError(f"invalid range specifier [{spec}]: {text!r} is not 'FIRST:LAST'")
    return values[0], values[1]


def parse_matrix_range(
    spec: str, num_rows: int, num_cols: int | None
) -> tuple[int, int, int, int]:
    """Resolves a Kaldi range specifier against an object's size.

    Ranges are INCLUSIVE: ``"10:19"`` selects 10 rows. Forms: ``"r1:r2"``, ``":"``,
    ``"r1:r2,c1:c2"``, ``":,c1:c2"``, ``"r1:r2,:"``; ``",c1:c2"`` (empty row part) is
    accepted too, meaning all rows. Like Kaldi, the last row may exceed the object by up to
    2 (length tolerance 3 for segment rounding); it is then clipped.

    Args:
        spec: the text between ``[`` and ``]``.
        num_rows: rows of the matrix (or dimension of a vector).
        num_cols: columns of the matrix; ``None`` for a vector (no column part allowed).

    Returns:
        ``(row_start, row_end_exclusive, col_start, col_end_exclusive)`` (cols 0, 0 for a
        vector).

    Raises:
        FormatError: malformed or out-of-range specifier.

    Kaldi: ``ParseMatrixRangeSpecifier``, ``ExtractObjectRange``.
    Differences: the empty row part of ``",c1:c2"`` is accepted (Kaldi wants ``":,c1:c2"``).
    """
    if not spec:
        raise FormatError("empty range specifier []")
    parts = spec.split(",")
    if len(parts) > 2 or (num_cols is None and len(parts) != 1):
        raise FormatError(f"invalid range specifier [{spec}]")
    if len(parts) == 2 and parts[1] == "":
        raise FormatError(f"invalid range specifier [{spec}]: empty column range")
    rows = _parse_pair(parts[0], spec)
    cols = _parse_pair(parts[1], spec) if len(parts) == 2 else None
    r0, r1 = rows if rows is not None else (0, num_rows - 1)
    ncols = num_cols if num_cols is not None else 1
    c0, c1 = cols if cols is not None else (0, ncols - 1)
    what = f"matrix of size {num_rows}x{num_cols}" if num_cols is not None else (
        f"vector of size {num_rows}"
    )
    if not (0 <= r0 <= r1 < num_rows + 3 and 0 <= c0 <= c1 < ncols):
        raise FormatError(f"invalid range specifier [{spec}] for {what}")
    r_end = min(r1, num_rows - 1) + 1
    if r_end < r0:
        raise FormatError(f"invalid range specifier [{spec}] for {what}")
    if r1 >= num_rows:
        _log.warning("range [%s] goes beyond the %d rows of the object; clipped", spec, num_rows)
    if num_cols is None:
        return r0, r_end, 0, 0
    return r0, r_end, c0, c1 + 1
