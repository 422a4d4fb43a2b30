"""Unit tests of the option declarations, Kaldi's ParseOptions rules and the Tool runner."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaldibridge.cli.framework import EXIT_FATAL, Tool
from kaldibridge.errors import KaldiBridgeError, OptionError
from kaldibridge.kaldi.options import (
    HelpRequested,
    OptionGroup,
    ParseOptions,
    escape_arg,
    group,
    option,
)


@dataclass(frozen=True)
class InnerOptions(OptionGroup):
    frame_length: float = option(25.0, "Frame length (ms).")
    snip_edges: bool = option(True, "Only whole frames.")
    window_type: str = option("povey", "Window.", choices=("povey", "hamming", "rectangular"))


@dataclass(frozen=True)
class OuterOptions(OptionGroup):
    frame: InnerOptions = group(InnerOptions)
    num_mel_bins: int = option(23, "Mel bins.")
    name: str = option("", "A name.")

    def validate(self) -> None:
        if self.num_mel_bins < 3:
            raise OptionError(f"num-mel-bins must be at least 3, got {self.num_mel_bins}")


def parse(argv, config_dir=None):
    return ParseOptions("Toy.\nUsage: toy <a>", (OuterOptions,), program="toy").parse(argv)


def test_defaults_and_keyword_api():
    o = OuterOptions()
    assert o.frame.frame_length == 25.0 and o.num_mel_bins == 23
    o2 = o.replace(num_mel_bins=80, frame_length=30, snip_edges=False)
    assert (o2.num_mel_bins, o2.frame.frame_length, o2.frame.snip_edges) == (80, 30.0, False)
    assert isinstance(o2.frame.frame_length, float)
    assert o.num_mel_bins == 23  # frozen original unchanged
    with pytest.raises(OptionError, match="unknown option"):
        o.replace(no_such=1)
    with pytest.raises(OptionError):
        o.replace(num_mel_bins="many")
    with pytest.raises(OptionError, match="at least 3"):
        o.replace(num_mel_bins=2)
    with pytest.raises(OptionError):
        o.replace(window_type="triangle")


def test_flags_specs_flatten_nested_groups():
    flags = [s.flag for s in OuterOptions.specs()]
    assert flags == ["num-mel-bins", "name", "frame-length", "snip-edges", "window-type"]
    assert {s.flag: s.kaldi_type for s in OuterOptions.specs()}["snip-edges"] == "bool"


@pytest.mark.parametrize(
    "text,value",
    [("", True), ("true", True), ("T", True), ("1", True), ("false", False), ("F", False), ("0", False), ("FALSE", False)],
)
def test_boolean_forms(text, value):
    arg = "--snip-edges" if text == "" else f"--snip-edges={text}"
    assert parse([arg, "x"])[OuterOptions].frame.snip_edges is value


def test_empty_value_for_bool_with_equals_is_an_error():
    with pytest.raises(OptionError):
        parse(["--snip-edges=", "x"])


def test_bad_boolean_is_an_error():
    with pytest.raises(OptionError, match="boolean"):
        parse(["--snip-edges=maybe", "x"])


def test_string_option_needs_equals():
    with pytest.raises(OptionError, match="--x=y"):
        parse(["--name", "x"])


def test_underscore_dash_and_case_equivalent():
    p = parse(["--NUM_MEL-bins=40", "--frame_length=20", "a"])
    assert p[OuterOptions].num_mel_bins == 40 and p[OuterOptions].frame.frame_length == 20.0


def test_options_end_at_first_positional():
    p = parse(["--num-mel-bins=40", "a", "--frame-length=10", "b"])
    assert p.positional == ["a", "--frame-length=10", "b"]
    assert p[OuterOptions].frame.frame_length == 25.0


def test_double_dash_ends_options():
    p = parse(["--num-mel-bins=40", "--", "--not-an-option", "b"])
    assert p.positional == ["--not-an-option", "b"]


def test_unknown_option():
    with pytest.raises(OptionError, match="Invalid option --bogus=1"):
        parse(["--bogus=1", "a"])


def test_config_read_first_command_line_wins(tmp_path):
    conf = tmp_path / "a.conf"
    conf.write_text("# comment line\n\n--num-mel-bins=40   # trailing comment\n--frame-length=30\n--snip-edges=false\n")
    p = parse(["--num-mel-bins=30", f"--config={conf}", "a"])
    o = p[OuterOptions]
    assert (o.num_mel_bins, o.frame.frame_length, o.frame.snip_edges) == (30, 30.0, False)
    assert p.standard.config == (str(conf),)


def test_later_config_overrides_earlier(tmp_path):
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    a.write_text("--num-mel-bins=40\n")
    b.write_text("--num-mel-bins=50\n")
    assert parse([f"--config={a}", f"--config={b}", "x"])[OuterOptions].num_mel_bins == 50


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("num-mel-bins=40\n")
    with pytest.raises(OptionError, match="line 1 does not look like"):
        parse([f"--config={bad}", "x"])
    unknown = tmp_path / "unknown.conf"
    unknown.write_text("--what=1\n")
    with pytest.raises(OptionError, match="in config file"):
        parse([f"--config={unknown}", "x"])
    with pytest.raises(OptionError, match="Cannot open config file"):
        parse([f"--config={tmp_path / 'missing.conf'}", "x"])


def test_from_config_classmethod(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("--num-mel-bins=41\n--frame-length=12.5\n--unrelated-option=3\n")
    o = OuterOptions.from_config(str(conf), num_mel_bins=42)
    assert o.num_mel_bins == 42 and o.frame.frame_length == 12.5


def test_help_requested_anywhere():
    with pytest.raises(HelpRequested) as info:
        parse(["a", "--help"])
    text = info.value.text
    assert "Usage: toy <a>" in text
    assert "  --num-mel-bins              : Mel bins. (int, default = 23)" in text
    assert '--window-type               : Window. (string, default = "povey")' in text
    assert "(float, default = 25)" in text
    assert text.index("--frame-length") < text.index("--num-mel-bins") < text.index("Standard options:")


def test_standard_options():
    p = parse(["--verbose=2", "--print-args=false", "a"])
    assert p.standard.verbose == 2 and p.standard.print_args is False


def test_duplicate_flags_rejected():
    with pytest.raises(OptionError, match="declared twice"):
        ParseOptions("x", (OuterOptions, InnerOptions), program="dup")


@settings(max_examples=60, deadline=None)
@given(
    bins=st.integers(3, 10_000),
    length=st.floats(1.0, 1000.0, allow_nan=False),
    snip=st.booleans(),
    window=st.sampled_from(["povey", "hamming", "rectangular"]),
    name=st.text(alphabet="abcXYZ_-.:/", max_size=8),
)
def test_options_argv_config_round_trip(tmp_path_factory, bins, length, snip, window, name):
    o = OuterOptions().replace(num_mel_bins=bins, frame_length=length, snip_edges=snip, window_type=window, name=name)
    assert parse(o.to_argv() + ["a"])[OuterOptions] == o
    conf = tmp_path_factory.mktemp("cfg") / "x.conf"
    conf.write_text(o.to_config())
    assert parse([f"--config={conf}", "a"])[OuterOptions] == o
    assert OuterOptions.from_config(str(conf)) == o


@pytest.mark.parametrize(
    "arg,expected",
    [("ark:foo.ark", "ark:foo.ark"), ("--x=1,2", "--x=1,2"), ("a b", "'a b'"), ("it's", '"it\'s"'), ("", "''"),
     ("$HOME's", "'$HOME'\\''s'")],
)
def test_escape_like_kaldi(arg, expected):
    assert escape_arg(arg) == expected


# -- Tool runner -----------------------------------------------------------------------

def _toy_run(ctx):
    o = ctx.opts(OuterOptions)
    if ctx.args[0] == "fatal":
        raise KaldiBridgeError("something is badly wrong")
    counter = ctx.counter()
    for key in ctx.args:
        with counter.item(key, f"Failed to compute features for utterance {key}"):
            if key.startswith("bad"):
                raise ValueError(f"cannot handle {key}")
    ctx.log.info(f"Done {counter.done} out of {counter.total} utterances (bins {o.num_mel_bins}).")
    ctx.log.vlog(1, "only with --verbose")
    return counter.exit_status()


TOY = Tool("toy-tool", "Toy tool.\nUsage: toy-tool [options] <key>+", _toy_run, groups=(OuterOptions,), nargs=(1, None))


def test_tool_success_and_log_format(capsys):
    assert TOY.main(["--num-mel-bins=40", "a", "bad1", "b"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "toy-tool --num-mel-bins=40 a bad1 b "
    assert err[1].startswith("ERROR (toy-tool[kaldibridge ") and err[1].endswith(") cannot handle bad1")
    assert err[2].startswith("WARNING (toy-tool[") and "Failed to compute features for utterance bad1" in err[2]
    assert err[3].startswith("LOG (toy-tool[kaldibridge ")
    assert ":_toy_run():test_cli_framework.py:" in err[3]
    assert err[3].endswith(") Done 2 out of 3 utterances (bins 40).")
    assert len(err) == 4  # no VLOG without --verbose


def test_tool_verbose_and_no_print_args(capsys):
    assert TOY.main(["--print-args=false", "--verbose=1", "a"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("LOG (")
    assert err[1].startswith("VLOG[1] (toy-tool[") and err[1].endswith("only with --verbose")


def test_tool_nothing_succeeded_exits_1(capsys):
    assert TOY.main(["bad1", "bad2"]) == 1


def test_tool_fatal_error_exits_255(capsys):
    assert TOY.main(["fatal"]) == EXIT_FATAL
    assert "ERROR (toy-tool[" in capsys.readouterr().err


def test_tool_bad_option_prints_usage_and_exits_255(capsys):
    assert TOY.main(["--bogus=1", "a"]) == 255
    err = capsys.readouterr().err
    assert "Usage: toy-tool" in err and "Command line was: toy-tool --bogus=1 a " in err
    assert err.rstrip().splitlines()[-1].endswith("Invalid option --bogus=1")


def test_tool_wrong_arg_count_exits_1(capsys):
    assert TOY.main([]) == 1
    assert "Usage: toy-tool" in capsys.readouterr().err


def test_tool_help_exits_0(capsys):
    assert TOY.main(["--help"]) == 0
    assert "--num-mel-bins" in capsys.readouterr().err


def test_library_logging_is_printed_in_kaldi_format(capsys):
    import logging

    def run(ctx):
        logging.getLogger("kaldibridge.somewhere").warning("Expected 10 bytes, read 2. Truncated file?")
        return 0

    tool = Tool("log-tool", "x", run)
    assert tool.main(["--print-args=false"]) == 0
    line = capsys.readouterr().err.strip()
    assert line.startswith("WARNING (log-tool[kaldibridge ") and line.endswith("Truncated file?")
    assert ":run():test_cli_framework.py:" in line


def test_python_m_kaldibridge_lists_tools():
    out = subprocess.run([sys.executable, "-m", "kaldibridge"], capture_output=True, text=True, check=True).stdout
    assert "Tools:" in out
    from kaldibridge.cli.registry import TOOLS

    for name in TOOLS:
        assert name in out


def test_python_m_kaldibridge_unknown_tool():
    proc = subprocess.run([sys.executable, "-m", "kaldibridge", "no-such-tool"], capture_output=True, text=True)
    assert proc.returncode == 255 and "unknown tool" in proc.stderr
