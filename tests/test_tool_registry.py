"""Every registered tool is installed under Kaldi's name and declares Kaldi's flags.

The drift test compares each tool's flags (name, type, default) with what the real Kaldi
binary printed for ``--help`` (``../shared/golden/kaldi/help/TOOL.txt``).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from kaldibridge.cli.registry import TOOLS, load_tool
from kaldibridge.kaldi.options import format_default, normalize_flag

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", ROOT.parent / "shared" / "golden"))
HELP_DIR = GOLDEN / "kaldi" / "help"

_HELP_LINE = re.compile(r"^  --(\S+)\s+: .*\((bool|int|uint|float|double|string), default = (.*)\)$")


def kaldi_help_flags(path: Path) -> dict[str, tuple[str, str]]:
    """``{flag: (type, default text)}`` of the tool-specific options in a Kaldi help file."""
    flags: dict[str, tuple[str, str]] = {}
    in_standard = False
    for line in path.read_text().splitlines():
        if line.startswith("Standard options:"):
            in_standard = True
        m = _HELP_LINE.match(line)
        if m and not in_standard:
            flags[normalize_flag(m.group(1))] = (m.group(2), m.group(3))
    return flags


def test_pyproject_scripts_match_registry():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("scripts", {})
    tool_scripts = {k: v for k, v in scripts.items() if k != "kaldibridge"}
    assert tool_scripts == TOOLS


def test_help_parser_reads_kaldi_files():
    flags = kaldi_help_flags(HELP_DIR / "compute-fbank-feats.txt")
    assert flags["dither"] == ("float", "1") and flags["window-type"] == ("string", '"povey"')
    assert "verbose" not in flags


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tool_loads_under_its_name(name):
    assert load_tool(name).name == name


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_flags_match_kaldi_help(name):
    help_file = HELP_DIR / f"{name}.txt"
    if not help_file.exists():
        pytest.skip(f"the golden set has no Kaldi --help output for {name}")
    expected = kaldi_help_flags(help_file)
    ours = {
        normalize_flag(s.flag): (s.kaldi_type, format_default(s)) for s in load_tool(name).parser.option_specs()
    }
    assert sorted(ours) == sorted(expected), "flag names differ from Kaldi's"
    for flag, (ktype, default) in expected.items():
        assert ours[flag][0] == ktype, f"--{flag}: type {ours[flag][0]} vs Kaldi's {ktype}"
        assert ours[flag][1] == default, f"--{flag}: default {ours[flag][1]} vs Kaldi's {default}"
