"""Kaldi option groups, declared once (see :mod:`kaldibridge.kaldi.options._base`).

:class:`OptionGroup`, :func:`option` and :func:`group` declare option dataclasses;
:class:`ParseOptions` parses command lines and ``--config`` files with Kaldi's rules.
The option groups of each feature family live next to the code that uses them.
"""

from kaldibridge.kaldi.options._base import (
    OptionGroup,
    OptionSpec,
    format_default,
    group,
    normalize_flag,
    option,
    parse_value,
)
from kaldibridge.kaldi.options.parse import (
    HelpRequested,
    ParsedCommandLine,
    ParseOptions,
    StandardOptions,
    escape_arg,
    read_config_file,
)

__all__ = [
    "OptionGroup",
    "OptionSpec",
    "option",
    "group",
    "normalize_flag",
    "parse_value",
    "format_default",
    "ParseOptions",
    "ParsedCommandLine",
    "StandardOptions",
    "HelpRequested",
    "read_config_file",
    "escape_arg",
]
