"""Kaldi's ``ParseOptions`` semantics for option groups declared with :func:`option`.

The rules reproduced here (see Kaldi's ``src/util/parse-options.cc``):

* every ``--config=FILE`` is read first, in order, before any other flag, so the
  command line overrides config files whatever the order of the flags;
* ``--help`` anywhere prints the usage and exits with status 0;
* flag names are case-insensitive and ``_`` equals ``-``;
* booleans take ``true|t|1`` / ``false|f|0`` (any case) or a bare ``--flag``;
  ``--flag=`` with an empty value is an error for booleans, and string options need
  an ``=``;
* options end at the first argument that does not start with ``--``; a lone ``--``
  also ends them and is dropped;
* in config files ``#`` starts a comment, blank lines are skipped and every other line
  must look like ``--x=y``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from kaldibridge.errors import OptionError
from kaldibridge.kaldi.options._base import (
    OptionGroup,
    OptionSpec,
    _text_value,
    format_default,
    normalize_flag,
)

__all__ = [
    "ParseOptions",
    "ParsedCommandLine",
    "StandardOptions",
    "read_config_file",
    "split_long_arg",
    "escape_arg",
    "HelpRequested",
]


class HelpRequested(Exception):
    """Raised by :meth:`ParseOptions.parse` when ``--help`` is present."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


_STANDARD = (
    OptionSpec("config", "config", "string", "", "Read options from this configuration file (may be repeated)."),
    OptionSpec("help", "help", "bool", False, "Print this usage message and exit."),
    OptionSpec("print-args", "print_args", "bool", True, "Echo the command line to stderr."),
    OptionSpec("verbose", "verbose", "int", 0, "Verbosity level; VLOG[N] lines are printed for N <= level."),
)


@dataclass(frozen=True)
class StandardOptions:
    """The four options every Kaldi tool has."""

    config: tuple[str, ...] = ()
    print_args: bool = True
    verbose: int = 0


def split_long_arg(arg: str) -> tuple[str, str, bool]:
    """Split ``--key=value`` into ``(normalized key, value, has '=')`` (Kaldi's SplitLongArg)."""
    body = arg[2:]
    pos = body.find("=")
    if pos < 0:
        key, value, has_eq = body, "", False
    elif pos == 0:
        raise OptionError(f"Invalid option (no key): {arg}")
    else:
        key, value, has_eq = body[:pos], body[pos + 1 :], True
    if not key:
        raise OptionError(f"Invalid option (no key): {arg}")
    return normalize_flag(key), value.strip(), has_eq


def read_config_file(path: str) -> list[tuple[str, str, bool]]:
    """Read a Kaldi config file into ``(normalized key, value, has '=')`` triples."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise OptionError(f"Cannot open config file: {path} ({exc.strerror})") from None
    out = []
    text = raw.decode("utf-8", errors="surrogateescape")
    for number, line in enumerate(text.splitlines(), start=1):
        hash_pos = line.find("#")
        if hash_pos >= 0:
            line = line[:hash_pos]
        line = line.strip()
        if not line:
            continue
        if not line.startswith("--"):
            raise OptionError(
                f"Reading config file {path}: line {number} does not look like a line from "
                "a Kaldi command-line program's config file: should be of the form --x=y. "
                "Note: config files intended to be sourced by shell scripts lack the '--'."
            )
        out.append(split_long_arg(line))
    return out


_SAFE_CHARS = set("[]~#^_-+=:.,/")


def escape_arg(arg: str) -> str:
    """Quote an argument the way Kaldi echoes command lines (bash-safe)."""
    if arg and all(c.isalnum() or c in _SAFE_CHARS for c in arg if ord(c) < 128) and all(
        ord(c) < 128 for c in arg
    ):
        return arg
    if "'" in arg and not any(c in arg for c in '"`$\\'):
        return '"' + arg + '"'
    return "'" + arg.replace("'", "'\\''") + "'"


@dataclass
class ParsedCommandLine:
    """Result of :meth:`ParseOptions.parse`."""

    groups: dict[type, OptionGroup]
    positional: list[str]
    standard: StandardOptions
    argv: list[str] = field(default_factory=list)

    def __getitem__(self, cls: type) -> Any:
        return self.groups[cls]

    @property
    def command_line(self) -> str:
        """The command line as Kaldi echoes it (escaped args, trailing space)."""
        return "".join(escape_arg(a) + " " for a in self.argv)


class ParseOptions:
    """Parse argv for a set of option groups with Kaldi's rules.

    Args:
        usage: the usage text printed by ``--help`` (first line is the description).
        groups: option group classes (or instances to start from) whose flags the
            tool accepts. Flags are flattened; two groups must not declare the
            same flag (:class:`OptionError` at construction).
        program: the tool name (for ``Command line was:``).
    """

    def __init__(
        self,
        usage: str,
        groups: Sequence[type[OptionGroup] | OptionGroup] = (),
        program: str = "",
    ) -> None:
        self.usage = usage
        self.program = program
        self._starts: list[OptionGroup] = []
        self._table: dict[str, tuple[int, OptionSpec]] = {}
        for index, g in enumerate(groups):
            inst = g() if isinstance(g, type) else g
            self._starts.append(inst)
            for spec in type(inst).specs():
                key = normalize_flag(spec.flag)
                if key in self._table or key in {s.flag for s in _STANDARD}:
                    raise OptionError(f"option --{spec.flag} is declared twice in {program}")
                self._table[key] = (index, spec)

    # -- help ------------------------------------------------------------------------
    def help_text(self, values: dict[str, Any] | None = None) -> str:
        """The ``--help`` text: usage, tool options (sorted), standard options."""
        lines = ["", self.usage.rstrip("\n")]
        specs = sorted((spec for _, spec in self._table.values()), key=lambda s: normalize_flag(s.flag))
        if specs:
            lines.append("Options:")
            for s in specs:
                lines.append(_help_line(s))
            lines.append("")
        lines.append("Standard options:")
        for s in _STANDARD:
            lines.append(_help_line(s))
        lines.append("")
        return "\n".join(lines) + "\n"

    def option_specs(self) -> list[OptionSpec]:
        """Every tool-specific option (flattened), sorted as ``--help`` prints them."""
        return sorted((spec for _, spec in self._table.values()), key=lambda s: normalize_flag(s.flag))

    # -- parsing ---------------------------------------------------------------------
    def parse(self, argv: Sequence[str]) -> ParsedCommandLine:
        """Parse ``argv`` (without the program name).

        Raises:
            HelpRequested: ``--help`` was given (text attached).
            OptionError: unknown option, bad value or unreadable config file.
        """
        argv = list(argv)
        per_group: list[dict[tuple[str, ...], Any]] = [{} for _ in self._starts]
        std = {"config": [], "print_args": True, "verbose": 0}

        # First pass: config files (in order) and --help.
        for arg in argv:
            if not arg.startswith("--"):
                continue
            if arg == "--":
                break
            key, value, has_eq = split_long_arg(arg)
            if key == "config":
                if not has_eq:
                    raise OptionError("Invalid option --config (option format is --x=y).")
                std["config"].append(value)
                for ckey, cvalue, ceq in read_config_file(value):
                    if not self._set(ckey, cvalue, ceq, per_group, std, in_config=True):
                        raise OptionError(
                            f"Invalid option --{ckey}{'=' + cvalue if ceq else ''} in config file {value}"
                        )
            elif key == "help":
                raise HelpRequested(self.help_text())

        # Second pass: the command line.
        i = 0
        while i < len(argv):
            arg = argv[i]
            if not arg.startswith("--"):
                break
            if arg == "--":
                i += 1
                break
            key, value, has_eq = split_long_arg(arg)
            if key != "config":
                if not self._set(key, value, has_eq, per_group, std, in_config=False):
                    raise OptionError(f"Invalid option {arg}")
            i += 1
        positional = list(argv[i:])

        groups: dict[type, OptionGroup] = {}
        for start, values in zip(self._starts, per_group):
            inst = start._apply(values) if values else start
            groups[type(inst)] = inst
        standard = StandardOptions(
            config=tuple(std["config"]), print_args=std["print_args"], verbose=std["verbose"]
        )
        return ParsedCommandLine(groups, positional, standard, argv)

    def _set(
        self,
        key: str,
        value: str,
        has_eq: bool,
        per_group: list[dict[tuple[str, ...], Any]],
        std: dict[str, Any],
        in_config: bool,
    ) -> bool:
        if key in ("print-args", "verbose", "help", "config"):
            spec = next(s for s in _STANDARD if s.flag == key)
            parsed = _text_value(spec, value, has_eq)
            if key == "print-args":
                std["print_args"] = parsed
            elif key == "verbose":
                std["verbose"] = parsed
            return True
        entry = self._table.get(key)
        if entry is None:
            return False
        index, spec = entry
        per_group[index][spec.path] = _text_value(spec, value, has_eq)
        return True


def _help_line(spec: OptionSpec) -> str:
    return f"  --{spec.flag:<25} : {spec.help} ({spec.kaldi_type}, default = {format_default(spec)})"


def iter_flags(groups: Iterable[type[OptionGroup]]) -> Iterable[OptionSpec]:
    """All flags of several groups (flattened)."""
    for g in groups:
        yield from g.specs()
