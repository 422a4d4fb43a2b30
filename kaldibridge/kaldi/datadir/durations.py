"""utt2dur, reco2dur and utt2num_frames, as ``utils/data/get_*.sh`` compute them.

Kaldi: ``utils/data/get_utt2dur.sh``, ``get_reco2dur.sh``, ``get_utt2num_frames.sh``
and the binaries they call (``wav-to-duration``, ``feat-to-len``) through ``run.pl``.
The same source is chosen (segments, frame_shift + utt2num_frames, sphere headers,
wave files, features), values are printed the same way (``%.7g`` plus a space for the
binaries, awk's ``%.6g`` for the awk steps), and the split directories and
``log/*.log`` files are left where the scripts leave them (log lines are kaldibridge's).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator

import numpy as np

from kaldibridge.errors import KaldiBridgeError
from kaldibridge.kaldi.datadir._base import (
    Console,
    PerlDie,
    ScriptExit,
    dec,
    enc,
    exists,
    lines,
    nonempty,
    read_bytes,
    wc_l,
    write,
)
from kaldibridge.kaldi.datadir._text import awk_fields, awk_num, awk_to_number

__all__ = [
    "get_utt2dur",
    "get_reco2dur",
    "get_utt2num_frames",
    "wav_durations",
    "wav_duration",
    "feat_lengths",
]


def _scp_entries(path: str) -> list[tuple[str, str]]:
    out = []
    for line in lines(path):
        f = line.strip().split(None, 1)
        if not f:
            continue
        out.append((dec(f[0]), dec(f[1].strip()) if len(f) > 1 else ""))
    return out


def wav_duration(rxfilename: str, *, read_entire_file: bool = False, allow_pipes: bool | None = None) -> float:
    """Duration in seconds of one wav.scp entry, as ``wav-to-duration`` computes it.

    A plain file is measured from its header (libsndfile); a pipe (``"cmd |"``) is run and
    its output measured; an archive offset (``"file:OFFSET"``) is read by Kaldi's wave
    reader (:mod:`kaldibridge.kaldi.wave`), as is audio libsndfile cannot read. The value
    is float32 ``samples / rate``, as Kaldi computes it.

    Args:
        rxfilename: the wav.scp value (path, ``"cmd |"``, ``"ark:offset"``).
        read_entire_file: accepted for Kaldi compatibility (the whole stream is always
            decoded by libsndfile when the header has no length).
        allow_pipes: ``False`` refuses pipe commands (see :mod:`kaldibridge.kaldi.table`).

    Raises:
        KaldiBridgeError: the audio cannot be read (PipesRefusedError for a refused pipe).

    Kaldi: ``wav-to-duration``.
    """
    import io

    import soundfile

    from kaldibridge.kaldi.table import open_rx
    from kaldibridge.kaldi.table.specifiers import classify_rxfilename

    kind = classify_rxfilename(rxfilename)
    try:
        if kind == "file":
            info = soundfile.info(rxfilename)
        elif kind == "pipe":
            with open_rx(rxfilename, allow_pipes=allow_pipes) as stream:
                blob = stream.read()
            info = soundfile.info(io.BytesIO(blob))
        else:
            info = None
        if info is not None and int(info.samplerate) > 0:
            return float(np.float32(int(info.frames)) / np.float32(int(info.samplerate)))
    except (RuntimeError, soundfile.LibsndfileError, OSError, ValueError) as e:
        if isinstance(e, KaldiBridgeError) and not isinstance(e, (ValueError,)):
            raise
    from kaldibridge.kaldi.table import read_object

    return read_object(rxfilename, "wave", allow_pipes=allow_pipes).duration


def wav_durations(
    wav_scp: str, *, read_entire_file: bool = False, allow_pipes: bool | None = None
) -> Iterator[tuple[str, float]]:
    """``(key, seconds)`` for every entry of a wav.scp (see :func:`wav_duration`)."""
    for key, rx in _scp_entries(wav_scp):
        yield key, wav_duration(rx, read_entire_file=read_entire_file, allow_pipes=allow_pipes)


def feat_lengths(feats_scp: str, *, allow_pipes: bool | None = None) -> Iterator[tuple[str, int]]:
    """``(key, frames)`` for every entry of a feats.scp, as ``feat-to-len``.

    Kaldi: ``feat-to-len``.
    """
    from kaldibridge.kaldi.table import SequentialTableReader

    with SequentialTableReader(f"scp:{feats_scp}", "matrix", allow_pipes=allow_pipes) as reader:
        for key, mat in reader:
            yield key, int(np.asarray(mat).shape[0])


def _kaldi_float(x: float) -> str:
    return "%.7g" % x


def _date() -> str:
    return time.strftime("%a %b %d %H:%M:%S %Z %Y")


def _run_pl(
    con: Console,
    log_pattern: str,
    nj: int,
    tool: str,
    argv_of: Callable[[int], list[str]],
    work: Callable[[int], tuple[list[bytes], list[str]]],
) -> bool:
    """Runs ``work(job)`` for job 1..nj like ``run.pl JOB=1:nj LOG cmd``, writing each log.

    ``work`` returns (output lines, log lines) or raises; failures are counted as run.pl
    does and reported on stderr. Returns True when every job succeeded.
    """
    from kaldibridge import __version__

    failed = []
    for job in range(1, nj + 1):
        log = log_pattern.replace("JOB", str(job))
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        cmd = " ".join(argv_of(job)) + " "
        t0 = time.time()
        head = [f"# {cmd}", f"# Started at {_date()}", "#", cmd]
        tag = f"{tool}[kaldibridge {__version__}]"
        try:
            logs = work(job)
            body = [f"LOG ({tag}:main():durations.py:0) {m}" for m in logs]
            code = 0
        except (KaldiBridgeError, OSError, ValueError, PerlDie) as e:
            body = [f"ERROR ({tag}:main():durations.py:0) {e}"]
            code = 255
            failed.append(job)
        secs = int(time.time() - t0)
        tail = [f"# Accounting: time={secs} threads=1",
                f"# Ended (code {code}) at {_date()}, elapsed time {secs} seconds"]
        with open(log, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(head + body + tail) + "\n")
    if failed:
        if nj == 1:
            con.err(f"run.pl: job failed, log is in {log_pattern.replace('JOB', '1')}")
        else:
            con.err(f"run.pl: {len(failed)} / {nj} failed, log is in {log_pattern.replace('JOB', '*')}")
        return False
    return True


def _duration_job(wav_scp: str, out: str, read_entire_file: bool, allow_pipes: bool | None) -> list[str]:
    rows = list(wav_durations(wav_scp, read_entire_file=read_entire_file, allow_pipes=allow_pipes))
    write(out, [enc(k) + b" " + _kaldi_float(v).encode() + b" " for k, v in rows])
    logs = [f"Printed duration for {len(rows)} audio files."]
    if rows:
        d = [v for _, v in rows]
        logs.append(f"Mean duration was {sum(d) / len(d):g}, min and max durations were {min(d):g}, {max(d):g}")
    return logs


def _sphere_durations(path: str) -> list[bytes] | None:
    """The sphere-header shortcut of the scripts: every line ``ID .../sph2pipe -f wav FILE |``."""
    out = []
    for line in lines(path):
        line = re.sub(rb"\|\s*$", b" |", line)
        a = line.split()
        if not (len(a) == 6 and a[1].endswith(b"sph2pipe") and a[2] == b"-f" and a[3] == b"wav" and a[5] == b"|"):
            return None
        try:
            with open(a[4], "rb") as f:
                head = [f.readline() for _ in range(31)]
        except OSError as e:
            raise PerlDie(f"Error opening sphere file {dec(a[4])}") from e
        rate = count = -1
        for h in head:
            m = re.search(rb"sample_rate -i (\d+)", h)
            if m:
                rate = int(m.group(1))
            m = re.search(rb"sample_count -i (\d+)", h)
            if m:
                count = int(m.group(1))
        if rate == -1 or count == -1:
            raise PerlDie(f"could not parse sphere header from {dec(a[4])}")
        out.append(a[0] + b" " + ("%.15g" % (count * 1.0 / rate)).encode())
    return out


def get_utt2dur(
    data: str,
    *,
    nj: int = 4,
    frame_shift: float = 0.01,
    read_entire_file: bool = False,
    allow_pipes: bool | None = None,
    console: Console | None = None,
    prog: str = "utils/data/get_utt2dur.sh",
) -> int:
    """Writes ``data/utt2dur`` as ``get_utt2dur.sh`` does.

    Source, in order: an existing complete utt2dur (kept), segments (end - start),
    frame_shift + utt2num_frames ((n + 1.5) * shift), wav.scp (sphere headers, else
    wave headers through ``split_data.sh --per-utt`` pieces and ``log/`` files),
    feats.scp ((frames + 1.5) * frame_shift).

    Returns:
        The script's exit status.

    Kaldi: ``utils/data/get_utt2dur.sh``.
    """
    con = console or Console()
    try:
        return _get_utt2dur(data, nj, frame_shift, read_entire_file, allow_pipes, con, prog)
    except ScriptExit as e:
        return e.status
    except PerlDie as e:
        con.err(e.message)
        return 1


def _get_utt2dur(data: str, nj: int, frame_shift: float | str, read_entire: bool, allow_pipes: bool | None,
                 con: Console, prog: str) -> int:
    from kaldibridge.kaldi.datadir.ops import split

    if nonempty(f"{data}/utt2dur") and wc_l(f"{data}/utt2spk") == wc_l(f"{data}/utt2dur"):
        con.out(f"{prog}: {data}/utt2dur already exists with the expected length.  We won't recompute it.")
        return 0
    if nonempty(f"{data}/segments"):
        con.out(f"{prog}: working out {data}/utt2dur from {data}/segments")
        out = []
        for line in lines(f"{data}/segments"):
            f = awk_fields(line) + [b""] * 4
            out.append(f[0] + b" " + awk_num(awk_to_number(f[3]) - awk_to_number(f[2])).encode())
        write(f"{data}/utt2dur", out)
    elif nonempty(f"{data}/frame_shift") and exists(f"{data}/utt2num_frames"):
        con.out(f"{prog}: computing {data}/utt2dur from {data}/{{frame_shift,utt2num_frames}}.")
        fs = awk_to_number(read_bytes(f"{data}/frame_shift").strip())
        out = []
        for line in lines(f"{data}/utt2num_frames"):
            f = awk_fields(line)
            while len(f) < 2:
                f.append(b"")
            f[1] = awk_num((awk_to_number(f[1]) + 1.5) * fs).encode()
            out.append(b" ".join(f))
        write(f"{data}/utt2dur", out)
    elif exists(f"{data}/wav.scp"):
        con.out(f"{prog}: segments file does not exist so getting durations from wave files")
        sph = _sphere_durations(f"{data}/wav.scp")
        if sph is not None:
            write(f"{data}/utt2dur", sph)
            con.out(f"{prog}: successfully obtained utterance lengths from sphere-file headers")
        else:
            con.out(f"{prog}: could not get utterance lengths from sphere-file headers, using wav-to-duration")
            if re.search(rb"sox.*speed", read_bytes(f"{data}/wav.scp")):
                read_entire = True
                con.out(f"{prog}: reading from the entire wav file to fix the problem caused by sox commands with "
                        "speed perturbation. It is going to be slow.")
                con.out("... It is much faster if you call get_utt2dur.sh *before* doing the speed perturbation "
                        "via e.g. perturb_data_dir_speed.sh or ")
                con.out("... perturb_data_dir_speed_3way.sh.")
            nj = min(nj, wc_l(f"{data}/utt2spk"))
            split(data, nj, per_utt=True, console=con, prog="utils/data/split_data.sh")
            sdata = f"{data}/split{nj}utt"
            flag = "true" if read_entire else "false"
            ok = _run_pl(
                con, f"{data}/log/get_durations.JOB.log", nj, "wav-to-duration",
                lambda j: ["wav-to-duration", f"--read-entire-file={flag}", f"scp:{sdata}/{j}/wav.scp",
                           f"ark,t:{sdata}/{j}/utt2dur"],
                lambda j: _duration_job(f"{sdata}/{j}/wav.scp", f"{sdata}/{j}/utt2dur", read_entire, allow_pipes),
            )
            if not ok:
                con.out(f"{prog}: there was a problem getting the durations")
                return 1
            out = []
            for j in range(1, nj + 1):
                out += lines(f"{sdata}/{j}/utt2dur")
            write(f"{data}/utt2dur", out)
    elif exists(f"{data}/feats.scp"):
        con.out(f"{prog}: wave file does not exist so getting durations from feats files")
        fs = float(frame_shift)
        if nonempty(f"{data}/frame_shift"):
            txt = dec(read_bytes(f"{data}/frame_shift").strip())
            fs = awk_to_number(enc(txt))
            con.out(f"{prog}: using frame_shift={txt} from file {data}/frame_shift")
        con.err(f"feat-to-len scp:{data}/feats.scp ark,t:- ")
        write(f"{data}/utt2dur", [enc(k) + b" " + awk_num((n + 1.5) * fs).encode()
                                  for k, n in feat_lengths(f"{data}/feats.scp", allow_pipes=allow_pipes)])
    else:
        con.out(f"{prog}: Expected {data}/wav.scp, {data}/segments or {data}/feats.scp to exist")
        return 1
    len1, len2 = wc_l(f"{data}/utt2spk"), wc_l(f"{data}/utt2dur")
    if len1 != len2:
        con.out(f"{prog}: warning: length of utt2dur does not equal that of utt2spk, {len2} != {len1}")
        if len1 > len2 * 2:
            con.out(f"{prog}: less than half of utterances got a duration: failing.")
            return 1
    con.out(f"{prog}: computed {data}/utt2dur")
    return 0


def get_reco2dur(
    data: str,
    *,
    nj: int = 4,
    allow_pipes: bool | None = None,
    console: Console | None = None,
    prog: str = "utils/data/get_reco2dur.sh",
) -> int:
    """Writes ``data/reco2dur`` as ``get_reco2dur.sh`` does.

    Returns:
        The script's exit status.

    Kaldi: ``utils/data/get_reco2dur.sh``.
    """
    from kaldibridge.kaldi.datadir.ops import split_scp_per_line

    con = console or Console()
    try:
        if nonempty(f"{data}/reco2dur") and wc_l(f"{data}/wav.scp") == wc_l(f"{data}/reco2dur"):
            con.out(f"{prog}: {data}/reco2dur already exists with the expected length.  We won't recompute it.")
            return 0
        if (nonempty(f"{data}/utt2dur") and wc_l(f"{data}/utt2spk") == wc_l(f"{data}/utt2dur")
                and not nonempty(f"{data}/segments")):
            con.out(f"{prog}: {data}/wav.scp indexed by utt-id; copying utt2dur to reco2dur")
            shutil.copyfile(f"{data}/utt2dur", f"{data}/reco2dur")
            return 0
        if not exists(f"{data}/wav.scp"):
            con.out(f"{prog}: Expected {data}/wav.scp to exist")
            return 1
        con.out(f"{prog}: obtaining durations from recordings")
        sph = _sphere_durations(f"{data}/wav.scp")
        if sph is not None:
            write(f"{data}/reco2dur", sph)
            con.out(f"{prog}: successfully obtained recording lengths from sphere-file headers")
            con.err("rm: missing operand")
            con.err("Try 'rm --help' for more information.")
        else:
            con.out(f"{prog}: could not get recording lengths from sphere-file headers, using wav-to-duration")
            read_entire = False
            if re.search(rb"sox.*speed", read_bytes(f"{data}/wav.scp")):
                read_entire = True
                con.out(f"{prog}: reading from the entire wav file to fix the problem caused by sox commands with "
                        "speed perturbation. It is going to be slow.")
                con.out("... It is much faster if you call get_reco2dur.sh *before* doing the speed perturbation "
                        "via e.g. perturb_data_dir_speed.sh or ")
                con.out("... perturb_data_dir_speed_3way.sh.")
            nj = min(nj, wc_l(f"{data}/wav.scp"))
            tmp = f"{data}/wav{nj}split"
            for j in range(1, nj + 1):
                os.makedirs(f"{tmp}/{j}", exist_ok=True)
            try:
                pieces = split_scp_per_line(lines(f"{data}/wav.scp"), nj, in_name=f"{data}/wav.scp")
            except PerlDie as e:
                con.err(e.message)
                pieces = []
            for j, piece in enumerate(pieces, 1):
                write(f"{tmp}/{j}/wav.scp", piece)
            flag = "true" if read_entire else "false"
            ok = _run_pl(
                con, f"{data}/log/get_reco_durations.JOB.log", nj, "wav-to-duration",
                lambda j: ["wav-to-duration", f"--read-entire-file={flag}", f"scp:{tmp}/{j}/wav.scp",
                           f"ark,t:{tmp}/{j}/reco2dur"],
                lambda j: _duration_job(f"{tmp}/{j}/wav.scp", f"{tmp}/{j}/reco2dur", read_entire, allow_pipes),
            )
            if not ok:
                con.out(f"{prog}: there was a problem getting the durations")
                return 1
            out = []
            for j in range(1, nj + 1):
                if exists(f"{tmp}/{j}/reco2dur"):
                    out += lines(f"{tmp}/{j}/reco2dur")
            write(f"{data}/reco2dur", out)
            shutil.rmtree(tmp, ignore_errors=True)
        len1, len2 = wc_l(f"{data}/wav.scp"), wc_l(f"{data}/reco2dur")
        if len1 != len2:
            con.out(f"{prog}: warning: length of reco2dur does not equal that of wav.scp, {len2} != {len1}")
            if len1 > len2 * 2:
                con.out(f"{prog}: less than half of recordings got a duration: failing.")
                return 1
        con.out(f"{prog}: computed {data}/reco2dur")
        return 0
    except PerlDie as e:
        con.err(e.message)
        return 1


def get_utt2num_frames(
    data: str,
    *,
    nj: int = 4,
    frame_shift: float = 0.01,
    frame_overlap: float = 0.015,
    allow_pipes: bool | None = None,
    console: Console | None = None,
    prog: str = "utils/data/get_utt2num_frames.sh",
) -> int:
    """Writes ``data/utt2num_frames`` as ``get_utt2num_frames.sh`` does.

    Without feats.scp: from utt2dur, ``int((dur - frame_overlap) / frame_shift)``;
    with it: frame counts of the features (through ``split_data.sh --per-utt``).

    Returns:
        The script's exit status.

    Kaldi: ``utils/data/get_utt2num_frames.sh``.
    """
    from kaldibridge.kaldi.datadir.ops import split

    con = console or Console()
    if nonempty(f"{data}/utt2num_frames"):
        con.out(f"{prog}: {data}/utt2num_frames already present!")
        return 0
    if not exists(f"{data}/feats.scp"):
        get_utt2dur(data, nj=nj, allow_pipes=allow_pipes, console=con)
        out = []
        if exists(f"{data}/utt2dur"):
            for line in lines(f"{data}/utt2dur"):
                f = awk_fields(line) + [b"", b""]
                out.append(f[0] + b" " + str(int((awk_to_number(f[1]) - frame_overlap) / frame_shift)).encode())
        write(f"{data}/utt2num_frames", out)
        return 0
    if split(data, nj, per_utt=True, console=con, prog="utils/split_data.sh") != 0:
        return 1
    sdata = f"{data}/split{nj}utt"

    def job(j: int) -> list[str]:
        rows = list(feat_lengths(f"{sdata}/{j}/feats.scp", allow_pipes=allow_pipes))
        write(f"{sdata}/{j}/utt2num_frames", [enc(k) + b" " + str(n).encode() + b" " for k, n in rows])
        return []

    ok = _run_pl(con, f"{data}/log/get_utt2num_frames.JOB.log", nj, "feat-to-len",
                 lambda j: ["feat-to-len", f"scp:{sdata}/{j}/feats.scp", f"ark,t:{sdata}/{j}/utt2num_frames"], job)
    if not ok:
        return 1
    out = []
    for j in range(1, nj + 1):
        out += lines(f"{sdata}/{j}/utt2num_frames")
    write(f"{data}/utt2num_frames", out)
    con.out(f"{prog}: Computed and wrote {data}/utt2num_frames")
    return 0

