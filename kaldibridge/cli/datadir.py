"""Kaldi's data-directory scripts on the command line.

Two forms (``kaldibridge/__main__.py`` dispatches both here):

* ``python -m kaldibridge utils/NAME ARGS...``: the Kaldi script ``NAME`` with its own
  argument list, e.g. ``utils/fix_data_dir.sh data/train``,
  ``utils/subset_data_dir.sh --first data/train 100 data/train_100``,
  ``utils/data/get_utt2dur.sh --nj 8 data/train``. Messages, outputs and exit status are
  the script's. Options of the ``parse_options.sh`` scripts are ``--name value`` (two
  words), exactly as in Kaldi.
* ``kaldibridge datadir COMMAND ARGS...`` with COMMAND one of ``validate fix subset split
  combine copy perturb-speed perturb-speed-3way utt2dur reco2dur utt2num-frames info``;
  the arguments are those of the corresponding script (``info DIR [--plot FILE]``
  prints a summary).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from kaldibridge.errors import KaldiBridgeError
from kaldibridge.kaldi.datadir._base import Console, PerlDie, enc, perl_die_status

__all__ = ["main", "SCRIPTS", "COMMANDS"]


def _console() -> Console:
    def out(line: str) -> None:
        sys.stdout.buffer.write(enc(line) + b"\n")

    def err(line: str) -> None:
        sys.stdout.flush()
        sys.stderr.buffer.write(enc(line) + b"\n")
        sys.stderr.flush()

    return Console(out=out, err=err)


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _parse_options(prog: str, args: list[str], defaults: dict[str, str], con: Console) -> tuple[dict[str, str], list[str]]:
    """``utils/parse_options.sh``: ``--name value`` pairs for the script's variables."""
    values = dict(defaults)
    for i, a in enumerate(args[:-1]):
        if a == "--config":
            try:
                with open(args[i + 1], encoding="utf-8") as f:
                    for line in f:
                        line = line.split("#", 1)[0].strip()
                        if "=" in line:
                            k, v = line.split("=", 1)
                            if k.strip() in values:
                                values[k.strip()] = v.strip().strip("\"'")
            except OSError:
                con.out(f"{prog}: missing config '{args[i + 1]}'")
                raise _Exit(1) from None
            values["config"] = args[i + 1]
    rest = list(args)
    while rest and rest[0]:
        a = rest[0]
        if a in ("--help", "-h"):
            con.err("No help found.")
            raise _Exit(0)
        if not a.startswith("--"):
            break
        if "=" in a:
            con.out(f"{prog}: options to scripts must be of the form --name value, got '{a}'")
            raise _Exit(1)
        name = a[2:].replace("-", "_")
        if name not in values and name != "config":
            con.err(f"{prog}: invalid option {a}")
            raise _Exit(1)
        old = values.get(name, "")
        new = rest[1] if len(rest) > 1 else ""
        if old in ("true", "false") and new not in ("true", "false"):
            con.err(f'{prog}: expected "true" or "false": {a} {new}')
            raise _Exit(1)
        values[name] = new
        rest = rest[2:]
    if "cmd" in values and values["cmd"] == "":
        con.err(f"{prog}: empty argument to --cmd option")
        raise _Exit(1)
    return values, rest


def _usage(con: Console, lines: Sequence[str]) -> int:
    for line in lines:
        con.out(line)
    return 1


def _int_arg(s: str) -> int:
    try:
        return int(s)
    except ValueError:
        return 0


# --------------------------------------------------------------------------- scripts


def _validate(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.validate import validate

    flags = {"--no-feats": False, "--no-text": False, "--non-print": False, "--no-wav": False, "--no-spk-sort": False}
    data = None
    for a in args:
        if a in flags:
            flags[a] = True
        else:
            if data is not None:
                return _usage(con, [
                    f"Usage: {prog} [--no-feats] [--no-text] [--non-print] [--no-wav] [--no-spk-sort] <data-dir>",
                    "The --no-xxx options mean that the script does not require ",
                    "xxx.scp to be present, but it will check it if it is present.",
                    "--no-spk-sort means that the script does not require the utt2spk to be ",
                    "sorted by the speaker-id in addition to being sorted by utterance-id.",
                    "--non-print ignore the presence of non-printable characters.",
                    "By default, utt2spk is expected to be sorted by both, which can be ",
                    "achieved by making the speaker-id prefixes of the utterance-ids",
                    f"e.g.: {prog} data/train",
                ])
            data = a
    return validate(
        data if data is not None else "", no_feats=flags["--no-feats"], no_text=flags["--no-text"],
        no_wav=flags["--no-wav"], no_spk_sort=flags["--no-spk-sort"], non_print=flags["--non-print"],
        console=con, prog=prog,
    )


def _fix(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.fix import fix

    # the script sets cmd="$@" before parse_options.sh, which then rejects an empty $cmd
    opts, rest = _parse_options(prog, args, {"utt_extra_files": "", "spk_extra_files": "", "cmd": " ".join(args)},
                                con)
    if len(rest) != 1:
        return _usage(con, [
            "Usage: utils/data/fix_data_dir.sh <data-dir>",
            "e.g.: utils/data/fix_data_dir.sh data/train",
            "This script helps ensure that the various files in a data directory",
            "are correctly sorted and filtered, for example removing utterances",
            "that have no features (if feats.scp is present)",
        ])
    return fix(rest[0], utt_extra_files=opts["utt_extra_files"].split(),
               spk_extra_files=opts["spk_extra_files"].split(), console=con, prog=prog)


def _subset(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.ops import subset

    mode, expect = "default", 3
    utt_list = spk_list = None
    a = list(args)
    if a:
        first = a[0]
        if first in ("--first", "--last"):
            mode = first[2:]
            a = a[1:]
        elif first in ("--per-spk", "--shortest", "--speakers"):
            mode = first[2:]
            a = a[1:]
        elif first == "--spk-list":
            spk_list = a[1] if len(a) > 1 else ""
            a, expect = a[2:], 2
        elif first == "--utt-list":
            utt_list = a[1] if len(a) > 1 else ""
            a, expect = a[2:], 2
        elif first.startswith("--"):
            con.out(f"{prog}: invalid option '{first}'")
            return 1
    if len(a) != expect:
        return _usage(con, [
            "Usage:",
            "  subset_data_dir.sh [--speakers|--shortest|--first|--last|--per-spk] <srcdir> <num-utt> <destdir>",
            "  subset_data_dir.sh [--spk-list <speaker-list-file>] <srcdir> <destdir>",
            "  subset_data_dir.sh [--utt-list <utt-list-file>] <srcdir> <destdir>",
            "By default, randomly selects <num-utt> utterances from the data directory.",
            "With --speakers, randomly selects enough speakers that we have <num-utt> utterances",
            "With --per-spk, selects <num-utt> utterances per speaker, if available.",
            "With --first, selects the first <num-utt> utterances",
            "With --last, selects the last <num-utt> utterances",
            "With --shortest, selects the shortest <num-utt> utterances.",
            "With --spk-list, reads the speakers to keep from <speaker-list-file>",
            "With --utt-list, reads the utterances to keep from <utt-list-file>",
        ])
    if expect == 2:
        return subset(a[0], a[1], utt_list=utt_list, spk_list=spk_list, console=con, prog=prog)
    return subset(a[0], a[2], _int_arg(a[1]), mode=mode, console=con, prog=prog)


def _split(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.ops import split

    per_utt = bool(args) and args[0] == "--per-utt"
    a = args[1:] if per_utt else list(args)
    if len(a) != 2:
        return _usage(con, [
            f"Usage: {prog} [--per-utt] <data-dir> <num-to-split>",
            f"E.g.: {prog} data/train 50",
            "It creates its output in e.g. data/train/split50/{1,2,3,...50}, or if the ",
            "--per-utt option was given, in e.g. data/train/split50utt/{1,2,3,...50}.",
            "",
            "This script will not split the data-dir if it detects that the output is newer than the input.",
            "By default it splits per speaker (so each speaker is in only one split dir),",
            "but with the --per-utt option it will ignore the speaker information while splitting.",
        ])
    n = _int_arg(a[1])
    if n <= 0:
        con.out(f"Invalid num-split argument {a[1]}")
        return 1
    return split(a[0], n, per_utt=per_utt, console=con, prog=prog)


def _combine(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.ops import combine

    con.out(" ".join([prog, *args]))
    opts, rest = _parse_options(prog, args, {"extra_files": "", "skip_fix": "false"}, con)
    if len(rest) < 2:
        return _usage(con, [
            "Usage: combine_data.sh [--extra-files 'file1 file2'] <dest-data-dir> <src-data-dir1> <src-data-dir2> ...",
            "Note, files that don't appear in all source dirs will not be combined,",
            "with the exception of utt2uniq and segments, which are created where necessary.",
        ])
    return combine(rest[0], rest[1:], extra_files=opts["extra_files"].split(), skip_fix=opts["skip_fix"] == "true",
                   console=con, prog=prog)


def _copy(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.ops import copy

    opts, rest = _parse_options(
        prog, args, {"spk_prefix": "", "utt_prefix": "", "spk_suffix": "", "utt_suffix": "", "validate_opts": ""}, con
    )
    if len(rest) != 2:
        return _usage(con, [
            "Usage: ", f"  {prog} [options] <srcdir> <destdir>", "e.g.:",
            f" {prog} --spk-prefix=1- --utt-prefix=1- data/train data/train_1", "Options",
            "   --spk-prefix=<prefix>     # Prefix for speaker ids, default empty",
            "   --utt-prefix=<prefix>     # Prefix for utterance ids, default empty",
            "   --spk-suffix=<suffix>     # Suffix for speaker ids, default empty",
            "   --utt-suffix=<suffix>     # Suffix for utterance ids, default empty",
        ])
    return copy(rest[0], rest[1], utt_prefix=opts["utt_prefix"], utt_suffix=opts["utt_suffix"],
                spk_prefix=opts["spk_prefix"], spk_suffix=opts["spk_suffix"],
                validate_opts=opts["validate_opts"].split(), console=con, prog=prog)


def _perturb(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.perturb import perturb_speed

    opts, rest = _parse_options(prog, args, {"include_spk_prefix": "true"}, con)
    if len(rest) != 3:
        return _usage(con, ["Usage: perturb_data_dir_speed.sh <warping-factor> <srcdir> <destdir>", "e.g.:",
                            f" {prog} 0.9 data/train_si284 data/train_si284p"])
    return perturb_speed(rest[0], rest[1], rest[2], include_spk_prefix=opts["include_spk_prefix"] == "true",
                         console=con, prog=prog)


def _perturb3(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.perturb import perturb_speed_3way

    opts, rest = _parse_options(prog, args, {"always_include_prefix": "false", "include_spk_prefix": "true"}, con)
    if len(rest) != 2:
        return _usage(con, ["Usage: perturb_data_dir_speed_3way.sh <srcdir> <destdir>",
                            "Applies standard 3-way speed perturbation using factors of 0.9, 1.0 and 1.1.",
                            "e.g.:", f" {prog} [options] data/train data/train_sp"])
    return perturb_speed_3way(rest[0], rest[1], always_include_prefix=opts["always_include_prefix"] == "true",
                              include_spk_prefix=opts["include_spk_prefix"] == "true", console=con, prog=prog)


def _dur_usage(con: Console, prog: str) -> int:
    return _usage(con, [f"Usage: {prog} [options] <datadir>", "e.g.:", f" {prog} data/train"])


def _utt2dur(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.durations import get_utt2dur

    opts, rest = _parse_options(prog, args, {"frame_shift": "0.01", "cmd": "run.pl", "nj": "4",
                                             "read_entire_file": "false"}, con)
    if len(rest) != 1:
        return _dur_usage(con, prog)
    return get_utt2dur(rest[0], nj=max(1, _int_arg(opts["nj"])), frame_shift=float(opts["frame_shift"] or 0.01),
                       read_entire_file=opts["read_entire_file"] == "true", console=con, prog=prog)


def _reco2dur(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.durations import get_reco2dur

    opts, rest = _parse_options(prog, args, {"frame_shift": "0.01", "cmd": "run.pl", "nj": "4"}, con)
    if len(rest) != 1:
        return _dur_usage(con, prog)
    return get_reco2dur(rest[0], nj=max(1, _int_arg(opts["nj"])), console=con, prog=prog)


def _utt2num_frames(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.durations import get_utt2num_frames

    opts, rest = _parse_options(prog, args, {"cmd": "run.pl", "nj": "4", "frame_shift": "0.01",
                                             "frame_overlap": "0.015"}, con)
    if len(rest) != 1:
        return _usage(con, ["This script writes a file utt2num_frames with the ",
                            "number of frames in each utterance as measured based on the ",
                            "duration of the utterances (in utt2dur) and the specified ",
                            "frame_shift and frame_overlap.", f"Usage: {prog} <data>"])
    return get_utt2num_frames(rest[0], nj=max(1, _int_arg(opts["nj"])), frame_shift=float(opts["frame_shift"]),
                              frame_overlap=float(opts["frame_overlap"]), console=con, prog=prog)


def _perl_input(files: Sequence[str], con: Console | None = None, where: str = "") -> list[bytes]:
    """Perl's ``<>``: the named files in turn (``-`` or none: stdin); a missing file is
    reported as perl does and skipped."""
    from kaldibridge.kaldi.datadir._text import split_lines

    if not files:
        return split_lines(sys.stdin.buffer.read())
    out: list[bytes] = []
    for f in files:
        if f == "-":
            out += split_lines(sys.stdin.buffer.read())
            continue
        try:
            with open(f, "rb") as fh:
                out += split_lines(fh.read())
        except OSError as e:
            if con is not None:
                at = f"{where}, <> line {len(out)}" if out else where
                con.err(f"Can't open {f}: {e.strerror} at {at}.")
    return out


def _emit(lines: Sequence[bytes]) -> None:
    sys.stdout.buffer.write(b"".join(x + b"\n" for x in lines))


def _utt2spk_to_spk2utt(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir._base import utt2spk_to_spk2utt

    if len(args) > 1:
        err = PerlDie("Usage: utt2spk_to_spk2utt.pl [ utt2spk ] > spk2utt", "utils/utt2spk_to_spk2utt.pl line 22")
        err.status = 255  # no I/O yet: errno is 0, perl exits 255
        raise err
    _emit(utt2spk_to_spk2utt(_perl_input(args, con, "utils/utt2spk_to_spk2utt.pl line 25")))
    return 0


def _spk2utt_to_utt2spk(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir._base import dec
    from kaldibridge.kaldi.datadir._text import perl_fields

    out: list[bytes] = []
    for line in _perl_input(args, con, "utils/spk2utt_to_utt2spk.pl line 18"):
        f = perl_fields(line)
        if len(f) < 2:
            _emit(out)
            raise PerlDie(f"Invalid line in spk2utt file: {dec(line)}\n")
        out.extend(u + b" " + f[0] for u in f[1:])
    _emit(out)
    return 0


def _filter_scp(prog: str, args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir._base import dec, id_set
    from kaldibridge.kaldi.datadir._text import first_token, perl_fields, read_lines

    a = list(args)
    exclude, field = False, 1
    shifted = True
    while shifted and a:
        shifted = False
        if a and a[0] == "--exclude":
            exclude, a, shifted = True, a[1:], True
        if a and a[0] == "-f" and len(a) > 1:
            field, a, shifted = _int_arg(a[1]), a[2:], True
    if not 1 <= len(a) <= 2:
        err = PerlDie(
            "Usage: filter_scp.pl [--exclude] [-f <field-to-filter-on>] id_list [in.scp] > out.scp \n"
            "Prints only the input lines whose f'th field (default: first) is in 'id_list'.\n"
            "Note: only the first field of each line in id_list matters.  With --exclude, prints\n"
            "only the lines that were *not* in id_list.\n"
            "Caution: previously, the -f option was interpreted as a zero-based field index.\n"
            "If your older scripts (written before Oct 2014) stopped working and you used the\n"
            "-f option, add 1 to the argument.\n"
            "See also: utils/filter_scp.pl .\n"
        )
        err.status = 255
        raise err
    try:
        ids = id_set(read_lines(a[0]), a[0])
    except OSError:
        raise PerlDie(f"Could not open id-list file {a[0]}", "utils/filter_scp.pl line 57") from None
    out: list[bytes] = []
    where = "utils/filter_scp.pl line " + ("65" if field == 1 else "73")
    for nr, line in enumerate(_perl_input(a[1:], con, where), 1):
        if field == 1:
            key = first_token(line)
            if key is None:
                _emit(out)
                raise PerlDie(f"Bad line {dec(line)}\n, could not get first field.",
                              f"utils/filter_scp.pl line 66, <> line {nr}")
        else:
            f = perl_fields(line)
            if len(f) < max(field, 1):
                _emit(out)
                raise PerlDie(f"Invalid scp file line {dec(line)}\n")
            key = f[field - 1]
        if (key in ids) != exclude:
            out.append(line)
    _emit(out)
    return 0


Handler = Callable[[str, list[str], Console], int]

#: Kaldi script name (relative to ``utils/``) -> handler.
SCRIPTS: dict[str, Handler] = {
    "validate_data_dir.sh": _validate,
    "fix_data_dir.sh": _fix,
    "data/fix_data_dir.sh": _fix,
    "subset_data_dir.sh": _subset,
    "data/subset_data_dir.sh": _subset,
    "split_data.sh": _split,
    "data/split_data.sh": _split,
    "combine_data.sh": _combine,
    "data/combine_data.sh": _combine,
    "copy_data_dir.sh": _copy,
    "data/copy_data_dir.sh": _copy,
    "perturb_data_dir_speed.sh": _perturb,
    "data/perturb_data_dir_speed.sh": _perturb,
    "data/perturb_data_dir_speed_3way.sh": _perturb3,
    "data/get_utt2dur.sh": _utt2dur,
    "data/get_reco2dur.sh": _reco2dur,
    "data/get_utt2num_frames.sh": _utt2num_frames,
    "utt2spk_to_spk2utt.pl": _utt2spk_to_spk2utt,
    "spk2utt_to_utt2spk.pl": _spk2utt_to_utt2spk,
    "filter_scp.pl": _filter_scp,
}

#: ``kaldibridge datadir COMMAND`` -> script.
COMMANDS: dict[str, str] = {
    "validate": "validate_data_dir.sh",
    "fix": "fix_data_dir.sh",
    "subset": "subset_data_dir.sh",
    "split": "split_data.sh",
    "combine": "combine_data.sh",
    "copy": "copy_data_dir.sh",
    "perturb-speed": "perturb_data_dir_speed.sh",
    "perturb-speed-3way": "data/perturb_data_dir_speed_3way.sh",
    "utt2dur": "data/get_utt2dur.sh",
    "reco2dur": "data/get_reco2dur.sh",
    "utt2num-frames": "data/get_utt2num_frames.sh",
}


def _info(args: list[str], con: Console) -> int:
    from kaldibridge.kaldi.datadir.table import DataDir

    plot = None
    rest = []
    i = 0
    while i < len(args):
        if args[i] == "--plot" and i + 1 < len(args):
            plot = args[i + 1]
            i += 2
        elif args[i].startswith("--plot="):
            plot = args[i].split("=", 1)[1]
            i += 1
        else:
            rest.append(args[i])
            i += 1
    if len(rest) != 1:
        con.out("Usage: kaldibridge datadir info <data-dir> [--plot FILE]")
        return 1
    dd = DataDir.read(rest[0])
    for line in dd.summary().splitlines():
        con.out(line)
    if plot:
        dd.plot_durations(plot)
        con.out(f"duration plot saved to {plot}")
    return 0


def _usage_all(con: Console) -> int:
    con.out("Usage: kaldibridge datadir COMMAND [options] ARGS  (or: kaldibridge utils/SCRIPT ARGS)")
    con.out("Commands: " + " ".join([*COMMANDS, "info"]))
    con.out("Scripts: " + " ".join("utils/" + s for s in SCRIPTS))
    return 1


def main(argv: list[str]) -> int:
    """Runs ``datadir COMMAND ...`` or ``utils/NAME ...``; returns the exit status."""
    con = _console()
    if not argv:
        return _usage_all(con)
    head, args = argv[0], list(argv[1:])
    try:
        if head == "datadir":
            if not args or args[0] in ("-h", "--help"):
                return _usage_all(con)
            cmd, args = args[0], args[1:]
            if cmd == "info":
                return _info(args, con)
            if cmd not in COMMANDS:
                con.err(f"kaldibridge datadir: unknown command {cmd!r}")
                return _usage_all(con)
            script = COMMANDS[cmd]
            return SCRIPTS[script](f"kaldibridge datadir {cmd}", args, con)
        name = head[len("utils/"):] if head.startswith("utils/") else head
        handler = SCRIPTS.get(name)
        if handler is None:
            con.err(f"kaldibridge: the Kaldi script {head} is not provided; available: "
                    + " ".join("utils/" + s for s in SCRIPTS))
            return 127
        return handler(head, args, con)
    except _Exit as e:
        return e.status
    except PerlDie as e:
        sys.stdout.flush()
        sys.stderr.write(e.message)
        return e.status if e.status is not None else perl_die_status()
    except KaldiBridgeError as e:  # e.g. a pipe refused or unreadable audio in a duration job
        con.err(f"{head}: ERROR: {e}")
        return 1
    finally:
        sys.stdout.flush()
