"""Declare-once option groups, the Python counterpart of Kaldi's ``Register()`` pattern.

An option group is a frozen dataclass deriving from :class:`OptionGroup`. Each field is
declared with :func:`option` (a leaf flag) or :func:`group` (a nested group whose flags
are flattened into the parent, as Kaldi registers ``FrameExtractionOptions`` inside
``FbankOptions``). Field names are the flag names with ``-`` replaced by ``_``, which is
also the keyword naming of ``torchaudio.compliance.kaldi``.

From that single declaration kaldibridge derives the command-line parser
(:mod:`kaldibridge.kaldi.options.parse`), ``--config`` files, ``--help`` text, value
validation and the flat keyword API::

    @dataclass(frozen=True)
    class ToyOptions(OptionGroup):
        num_bins: int = option(23, "Number of bins.")
        scale: float = option(1.0, "Scale applied to each bin.")

    ToyOptions().replace(num_bins=40)          # keyword API, validated
    ToyOptions.from_flat({"num-bins": "40"})   # strings, as from a config file
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Literal

from kaldibridge.errors import OptionError

__all__ = [
    "OptionGroup",
    "OptionSpec",
    "option",
    "group",
    "KaldiType",
    "normalize_flag",
    "parse_value",
    "format_default",
]

KaldiType = Literal["bool", "int", "uint", "float", "double", "string"]

_PY_TYPES: dict[str, type] = {
    "bool": bool,
    "int": int,
    "uint": int,
    "float": float,
    "double": float,
    "string": str,
}


@dataclass(frozen=True)
class OptionSpec:
    """What one flag looks like to the user: name, Kaldi type, default and help.

    Attributes:
        flag: the flag without the leading ``--`` as Kaldi prints it (``frame-length``).
        attr: the dataclass field name (``frame_length``).
        kaldi_type: the type word Kaldi prints in ``--help`` (``bool``, ``int``, ...).
        default: the default value (a Python bool/int/float/str).
        help: help text.
        choices: allowed string values, if restricted.
        cpp: the C++ member name when it differs from the flag (documentation only).
        path: attribute path from the root group to this field (for nested groups).
    """

    flag: str
    attr: str
    kaldi_type: KaldiType
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    cpp: str | None = None
    path: tuple[str, ...] = ()


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    kaldi_type: KaldiType | None = None,
    choices: typing.Sequence[str] | None = None,
    cpp: str | None = None,
) -> Any:
    """Declare one leaf option of an :class:`OptionGroup`.

    Args:
        default: Kaldi's default value.
        help: help text shown by ``--help`` (kaldibridge's own wording).
        flag: the flag name if it is not the field name with ``_`` -> ``-``.
        kaldi_type: override the type word (``double``/``uint``); otherwise it follows
            the field annotation (bool -> ``bool``, int -> ``int``, float -> ``float``,
            str -> ``string``).
        choices: restrict a string option to these values.
        cpp: the C++ member name, when it differs (for readers of Kaldi's source).
    """
    meta = {
        "kaldibridge.option": {
            "flag": flag,
            "kaldi_type": kaldi_type,
            "help": help,
            "choices": tuple(choices) if choices is not None else None,
            "cpp": cpp,
        }
    }
    return field(default=default, metadata=meta)


def group(cls: type["OptionGroup"]) -> Any:
    """Declare a nested option group whose flags are flattened into the parent's."""
    return field(default_factory=cls, metadata={"kaldibridge.group": cls})


def normalize_flag(name: str) -> str:
    """Kaldi's ``NormalizeArgName``: lower case, ``_`` -> ``-``."""
    return name.replace("_", "-").lower()


def _type_word(annotation: Any) -> KaldiType:
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if annotation is str:
        return "string"
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "string"
    raise TypeError(f"option fields must be bool, int, float or str, not {annotation!r}")


def parse_bool(text: str, flag: str = "") -> bool:
    """Kaldi's ``ToBool``: ``true|t|1|''`` and ``false|f|0``, case-insensitive."""
    low = text.lower()
    if low in ("true", "t", "1", ""):
        return True
    if low in ("false", "f", "0"):
        return False
    raise OptionError(
        f"Invalid format for boolean argument [expected true or false]: {text}"
        + (f" (option --{flag})" if flag else "")
    )


def parse_value(spec: OptionSpec, text: str) -> Any:
    """Convert the string form of an option (command line or config file) to its value."""
    t = spec.kaldi_type
    if t == "bool":
        return parse_bool(text, spec.flag)
    if t in ("int", "uint"):
        s = text.strip()
        try:
            value = int(s, 10)
        except ValueError:
            raise OptionError(f'Invalid integer option "{text}" for --{spec.flag}') from None
        limit_lo, limit_hi = (0, 2**32 - 1) if t == "uint" else (-(2**31), 2**31 - 1)
        if not limit_lo <= value <= limit_hi:
            raise OptionError(f'Invalid integer option "{text}" for --{spec.flag}')
        return value
    if t in ("float", "double"):
        s = text.strip()
        try:
            value = float(s)
        except ValueError:
            raise OptionError(
                f'Invalid floating-point option "{text}" for --{spec.flag}'
            ) from None
        return value
    # string
    if spec.choices is not None and text not in spec.choices:
        raise OptionError(
            f"Invalid value {text!r} for --{spec.flag}; expected one of "
            + ", ".join(spec.choices)
        )
    return text


def format_default(spec: OptionSpec, value: Any | None = None) -> str:
    """Format a value as Kaldi's ``--help`` does (C++ ``ostream`` defaults: ``%g``)."""
    v = spec.default if value is None else value
    t = spec.kaldi_type
    if t == "bool":
        return "true" if v else "false"
    if t in ("int", "uint"):
        return str(int(v))
    if t in ("float", "double"):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            return "nan"
        return f"{v:g}"
    return f'"{v}"'


def _coerce(spec: OptionSpec, value: Any, owner: str) -> Any:
    t = spec.kaldi_type
    if isinstance(value, str) and t != "string":
        return parse_value(spec, value)
    if t == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    elif t in ("int", "uint"):
        if isinstance(value, bool):
            pass
        elif isinstance(value, int) or (hasattr(value, "__index__")):
            return int(value)
        elif isinstance(value, float) and value.is_integer():
            return int(value)
    elif t in ("float", "double"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(value)  # numpy / torch scalars
        except (TypeError, ValueError):
            pass
    else:
        if isinstance(value, str):
            if spec.choices is not None and value not in spec.choices:
                raise OptionError(
                    f"{owner}: invalid value {value!r} for {spec.attr}; expected one of "
                    + ", ".join(spec.choices)
                )
            return value
    raise OptionError(
        f"{owner}: option {spec.attr} (--{spec.flag}) expects a {t} value, got {value!r}"
    )


class OptionGroup:
    """Base class of frozen option dataclasses; see the module docstring.

    Subclasses are ``@dataclass(frozen=True)`` classes whose fields come from
    :func:`option` or :func:`group`. They may override :meth:`validate` to check
    combinations (raise :class:`~kaldibridge.errors.OptionError`).
    """

    _spec_cache: ClassVar[dict[type, tuple[OptionSpec, ...]]] = {}

    # -- declaration introspection -------------------------------------------------
    @classmethod
    def own_specs(cls) -> tuple[OptionSpec, ...]:
        """Specs of the leaf options declared directly on this class (not nested)."""
        cached = OptionGroup._spec_cache.get(cls)
        if cached is not None:
            return cached
        hints = typing.get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            meta = f.metadata.get("kaldibridge.option")
            if meta is None:
                continue
            ktype = meta["kaldi_type"] or _type_word(hints[f.name])
            choices = meta["choices"]
            if choices is None and typing.get_origin(hints[f.name]) is Literal:
                choices = tuple(typing.get_args(hints[f.name]))
            specs.append(
                OptionSpec(
                    flag=meta["flag"] or f.name.replace("_", "-"),
                    attr=f.name,
                    kaldi_type=ktype,
                    default=f.default,
                    help=meta["help"],
                    choices=choices,
                    cpp=meta["cpp"],
                    path=(f.name,),
                )
            )
        result = tuple(specs)
        OptionGroup._spec_cache[cls] = result
        return result

    @classmethod
    def nested_groups(cls) -> tuple[tuple[str, type["OptionGroup"]], ...]:
        """``(field name, group class)`` for each nested group field."""
        out = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            sub = f.metadata.get("kaldibridge.group")
            if sub is not None:
                out.append((f.name, sub))
        return tuple(out)

    @classmethod
    def specs(cls) -> tuple[OptionSpec, ...]:
        """All leaf options, nested groups flattened, each with its attribute path."""
        out = list(cls.own_specs())
        for name, sub in cls.nested_groups():
            for s in sub.specs():
                out.append(dataclasses.replace(s, path=(name,) + s.path))
        return tuple(out)

    @classmethod
    def spec_by_name(cls) -> dict[str, OptionSpec]:
        """Map from normalized flag name *and* attribute name to spec."""
        table: dict[str, OptionSpec] = {}
        for s in cls.specs():
            table[normalize_flag(s.flag)] = s
            table.setdefault(s.attr, s)
        return table

    # -- construction --------------------------------------------------------------
    def __post_init__(self) -> None:
        owner = type(self).__name__
        for s in type(self).own_specs():
            value = getattr(self, s.attr)
            coerced = _coerce(s, value, owner)
            if coerced is not value:
                object.__setattr__(self, s.attr, coerced)
        for name, sub in type(self).nested_groups():
            value = getattr(self, name)
            if not isinstance(value, sub):
                raise OptionError(f"{owner}: {name} must be a {sub.__name__}, got {value!r}")
        self.validate()

    def validate(self) -> None:
        """Check combinations of values; override in subclasses. Raise OptionError."""

    def replace(self, **overrides: Any) -> "OptionGroup":
        """Return a copy with flat keyword overrides (nested groups resolved by name).

        Keys may be attribute names (``num_mel_bins``) or flag names (``num-mel-bins``).
        Unknown keys raise :class:`~kaldibridge.errors.OptionError`.
        """
        if not overrides:
            return self
        table = type(self).spec_by_name()
        by_path: dict[tuple[str, ...], Any] = {}
        for key, value in overrides.items():
            spec = table.get(key) or table.get(normalize_flag(key))
            if spec is None:
                raise OptionError(f"{type(self).__name__}: unknown option {key!r}")
            by_path[spec.path] = value
        return self._apply(by_path)

    def _apply(self, by_path: dict[tuple[str, ...], Any]) -> "OptionGroup":
        direct = {p[0]: v for p, v in by_path.items() if len(p) == 1}
        nested: dict[str, dict[tuple[str, ...], Any]] = {}
        for p, v in by_path.items():
            if len(p) > 1:
                nested.setdefault(p[0], {})[p[1:]] = v
        for name, sub in nested.items():
            direct[name] = getattr(self, name)._apply(sub)
        return dataclasses.replace(self, **direct)  # type: ignore[type-var]

    @classmethod
    def from_flat(cls, values: dict[str, Any] | None = None, **kwargs: Any) -> "OptionGroup":
        """Build from flat flag/attribute names (strings are parsed as Kaldi would)."""
        merged = dict(values or {})
        merged.update(kwargs)
        return cls().replace(**merged)

    @classmethod
    def from_config(cls, path: str, **overrides: Any) -> "OptionGroup":
        """Read a Kaldi ``--config`` file (``--x=y`` lines, ``#`` comments).

        Options not belonging to this group are ignored here (a tool's parser, which
        knows all groups, rejects them). Keyword ``overrides`` win over the file.
        """
        from kaldibridge.kaldi.options.parse import read_config_file

        table = cls.spec_by_name()
        values: dict[str, Any] = {}
        for key, value, has_eq in read_config_file(path):
            spec = table.get(key)
            if spec is None:
                continue
            values[normalize_flag(spec.flag)] = _text_value(spec, value, has_eq)
        values.update(overrides)
        return cls.from_flat(values)

    # -- export --------------------------------------------------------------------
    def flat_items(self) -> Iterator[tuple[OptionSpec, Any]]:
        """``(spec, current value)`` for every leaf option, nested flattened."""
        for s in type(self).specs():
            obj: Any = self
            for part in s.path:
                obj = getattr(obj, part)
            yield s, obj

    def to_flat_dict(self) -> dict[str, Any]:
        """Flat ``{attribute name: value}`` (nested groups flattened)."""
        return {s.attr: v for s, v in self.flat_items()}

    def to_argv(self, only_changed: bool = True) -> list[str]:
        """Command-line flags that reproduce this configuration."""
        out = []
        for s, v in self.flat_items():
            if only_changed and v == s.default:
                continue
            out.append(f"--{s.flag}={_format_value(s, v)}")
        return out

    def to_config(self, only_changed: bool = False) -> str:
        """A Kaldi config file text reproducing this configuration."""
        return "".join(line + "\n" for line in self.to_argv(only_changed=only_changed))


def _format_value(spec: OptionSpec, v: Any) -> str:
    if spec.kaldi_type == "bool":
        return "true" if v else "false"
    if spec.kaldi_type in ("float", "double"):
        return repr(float(v))
    return str(v)


def _text_value(spec: OptionSpec, text: str, has_equal_sign: bool) -> Any:
    """Value of ``--flag`` / ``--flag=text`` with Kaldi's ``SetOption`` rules."""
    if spec.kaldi_type == "bool":
        if has_equal_sign and text == "":
            raise OptionError(f"Invalid option --{spec.flag}=")
        return parse_bool(text, spec.flag)
    if spec.kaldi_type == "string":
        if not has_equal_sign:
            raise OptionError(f"Invalid option --{spec.flag} (option format is --x=y).")
        return parse_value(spec, text)
    return parse_value(spec, text)
