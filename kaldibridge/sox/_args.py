"""SoX's argument syntax: sample counts, positions, frequencies, gains and numeric ranges.

Each helper follows the rule of the libSoX routine of the same purpose (``lsx_parsesamples``,
``lsx_parseposition``, ``lsx_parse_frequency``, the ``NUMERIC_PARAMETER`` macro, C's
``sscanf("%lf")``), so what ``sox`` accepts is accepted here and what it refuses raises
:class:`EffectUsageError` naming the effect and the argument.
"""

from __future__ import annotations

import math
import re

from kaldibridge.errors import OptionError

__all__ = [
    "EffectUsageError",
    "EffectRefusedError",
    "usage",
    "parse_samples",
    "parse_position",
    "check_position_syntax",
    "parse_frequency",
    "c_double_prefix",
    "parse_double",
    "numeric",
]


class EffectUsageError(OptionError):
    """An effect's arguments are invalid (``sox`` exits with status 1: usage error)."""

    def __init__(self, effect: str, message: str) -> None:
        super().__init__(f"sox effect `{effect}': {message}")
        self.effect = effect


class EffectRefusedError(OptionError):
    """An effect refuses its input: wrong sample rate or channel count, or a value that is
    only invalid for this signal (``sox`` exits with status 2)."""

    def __init__(self, effect: str, message: str) -> None:
        super().__init__(f"sox effect `{effect}': {message}")
        self.effect = effect


def usage(effect: str, text: str, arg: str | None = None) -> EffectUsageError:
    """Build the usage error: ``arg`` (if given) is named as the offending argument."""
    if arg is not None:
        return EffectUsageError(effect, f"invalid argument {arg!r}; usage: {effect} {text}")
    return EffectUsageError(effect, f"usage: {effect} {text}")


# C strtod accepts: optional space, sign, digits with optional point, exponent; inf/nan; hex.
_FLOAT_RE = re.compile(
    r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE
)


def c_double_prefix(text: str) -> tuple[float, str] | None:
    """Mimic C ``strtod``: return ``(value, rest)`` or ``None`` if no number starts ``text``."""
    m = _FLOAT_RE.match(text)
    if not m:
        return None
    return float(m.group(0)), text[m.end():]


def parse_double(text: str) -> float | None:
    """``sscanf(text, "%lf %c")`` == 1: a number with nothing but spaces after it."""
    got = c_double_prefix(text)
    if got is None or got[1].strip():
        return None
    return got[0]


def numeric(effect: str, text: str, name: str, lo: float, hi: float) -> float:
    """SoX's ``NUMERIC_PARAMETER``: the whole argument is a number within ``[lo, hi]``."""
    got = c_double_prefix(text)
    if got is None or got[1] != "" or not (lo <= got[0] <= hi):
        raise EffectUsageError(effect, f"parameter `{name}' must be between {lo:g} and {hi:g} (got {text!r})")
    return got[0]


_SAMPLE_CHARS = set("0123456789:.ets")


def _parse_samples_part(rate: float, s: str, default: str) -> tuple[int, str] | None:
    s = s.lstrip(" ")
    end = 0
    while end < len(s) and s[end] in _SAMPLE_CHARS:
        end += 1
    if end == 0:
        return None
    body = s[:end]
    found_colon = ":" in body
    found_dot = "." in body
    found_e = "e" in body
    found_time = found_colon or (found_dot and not found_e) or body[-1] == "t"
    found_samples = not found_time and body[-1] == "s"
    pos = 0
    if found_time or (default == "t" and not found_samples):
        if found_e:
            return None
        total = 0.0
        count = 0
        i = 0
        while pos < len(s) and s[pos] != "." and i < 3:
            m = re.match(r"[+-]?\d+", s[pos:])
            if not m:
                if i == 0:
                    return None
                part = 0
            else:
                part = int(m.group(0))
                pos += m.end()
            total += rate * part
            if i < 2:
                if pos >= len(s) or s[pos] != ":":
                    break
                pos += 1
                total *= 60
            i += 1
        count = int(total)
        if pos < len(s) and s[pos] == ".":
            m = re.match(r"\.\d*(?:[eE][+-]?\d+)?", s[pos:])
            frac_txt = m.group(0) if m else "."
            if frac_txt == ".":
                return None
            count = int(total + rate * float(frac_txt) + 0.5)
            pos += len(frac_txt)
        if pos < len(s) and s[pos] == "t":
            pos += 1
    else:
        got = c_double_prefix(s)
        if got is None:
            return None
        value, rest = got
        pos = len(s) - len(rest)
        count = int(value + 0.5)
        if pos < len(s) and s[pos] == "s":
            pos += 1
    if pos != end:
        return None
    return count, s[pos:]


def parse_samples(rate: float, text: str, default: str = "t", combine: str = "+", start: int = 0) -> tuple[int, str] | None:
    """``lsx_parsesamples``: parts joined by ``+``/``-``; ``Ns`` samples, ``T``/``Tt``/
    ``h:m:s.f`` times. Returns ``(samples, rest)`` or ``None`` on a syntax error."""
    total = start
    s = text
    while True:
        got = _parse_samples_part(rate, s, default)
        if got is None:
            return None
        part, s = got
        if combine == "+":
            total += part
        elif combine == "-":
            total = total - part if part <= total else 0
        if s[:1] in ("+", "-"):
            combine, s = s[0], s[1:]
            continue
        return total, s


def parse_position(
    rate: float, text: str, latest: int, end: int | None, default: str = "="
) -> tuple[int | None, str] | None:
    """``lsx_parseposition``: ``=T`` from the start, ``+T`` after ``latest``, ``-T`` before
    ``end`` (``None``: unknown; only ``-0`` is then allowed and gives ``None``)."""
    s = text
    anchor = default
    if s[:1] in ("+", "-", "="):
        anchor, s = s[0], s[1:]
    combine = "+"
    if anchor in "+-":
        combine = anchor
        if s[:1] in ("+", "-"):
            combine, s = s[0], s[1:]
    base = {"=": 0, "+": latest, "-": end}[anchor]
    if anchor == "-" and end is None:
        i = 0
        while i < len(s) and s[i] in "0123456789:.ets+-":
            i += 1
        if i == 1 and s[0] == "0":
            return None, s[1:]
        return None
    got = parse_samples(rate, s, "t", combine, int(base or 0))
    if got is None:
        return None
    return got


def check_position_syntax(text: str) -> bool:
    """A dummy parse checking only the syntax of a position (as SoX does at create time)."""
    s = text
    if s[:1] in ("+", "-", "="):
        anchor, s = s[0], s[1:]
        if anchor in "+-" and s[:1] in ("+", "-"):
            s = s[1:]
    got = parse_samples(0.0, s, "t")
    return got is not None and got[1] == ""


def _note_freq(note: float) -> float:
    return 440.0 * 2.0 ** (note / 12)


def parse_frequency(text: str) -> tuple[float, str]:
    """``lsx_parse_frequency``: ``440``, ``1.5k``, ``%-12`` (semitones from A4) or a note
    name (``A4``, ``C#3``). Returns ``(hz, rest)``; ``hz`` is ``-1`` on error."""
    if text.startswith("%"):
        got = c_double_prefix(text[1:])
        if got is None:
            return -1.0, text
        return _note_freq(got[0]), got[1]
    if text[:1] in "ABCDEFG" and text:
        result = int(5 / 3 * (ord(text[0]) - ord("A")) + 9.5) % 12 - 9
        rest = text[1:]
        if rest[:1] == "b":
            result, rest = result - 1, rest[1:]
        elif rest[:1] == "#":
            result, rest = result + 1, rest[1:]
        if rest[:1].isdigit():
            result += 12 * (int(rest[0]) - 4)
            rest = rest[1:]
        return _note_freq(result), rest
    got = c_double_prefix(text)
    if got is None:
        return -1.0, text
    value, rest = got
    if rest[:1] == "k":
        value *= 1000
        rest = rest[1:]
    return (value if value >= 0 else -1.0), rest


def db_to_linear(db: float) -> float:
    """SoX's ``dB_to_linear``: ``exp(db * ln(10) / 20)``."""
    return math.exp(db * math.log(10.0) * 0.05)
