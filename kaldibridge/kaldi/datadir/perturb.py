"""Speed perturbation of a data directory, as ``perturb_data_dir_speed.sh`` writes it.

Kaldi: ``utils/perturb_data_dir_speed.sh`` and ``utils/data/perturb_data_dir_speed_3way.sh``.
Ids get ``sp<factor>-`` (or ``-sp<factor>``), wav.scp entries become sox pipes, segment
times and durations are divided by the factor; utt2dur/reco2dur are first computed in
the *source* directory when missing (as the script does).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence

from kaldibridge.kaldi.datadir._base import (
    Console,
    PerlDie,
    ScriptExit,
    apply_map,
    enc,
    exists,
    lines,
    perl_die_status,
    utt2spk_to_spk2utt,
    write,
)
from kaldibridge.kaldi.datadir._text import awk_fields, awk_num, awk_to_number

__all__ = ["perturb_speed", "perturb_speed_3way", "speed_wav_entry"]

_OFFSET = re.compile(rb":[0-9]+$")


def speed_wav_entry(key: bytes, value_fields: Sequence[bytes], factor: str) -> bytes:
    """One rewritten wav.scp line (``key`` + fields of the value, already single-spaced).

    Kaldi: the awk program of ``perturb_data_dir_speed.sh``.
    """
    rest = b"".join(b" " + f for f in value_fields)
    fac = enc(factor)
    if value_fields and value_fields[-1] == b"|":
        return key + rest + b" sox -t wav - -t wav - speed " + fac + b" |"
    if _OFFSET.search(rest):
        return key + b" wav-copy" + rest + b" - | sox -t wav - -t wav - speed " + fac + b" |"
    return key + b" sox -t wav" + rest + b" -t wav - speed " + fac + b" |"


def _rewrite_wav(mapped: list[bytes], factor: str) -> list[bytes]:
    out = []
    for line in mapped:
        line = re.sub(rb"\| *$", b" |", line, count=1)
        f = awk_fields(line)
        if not f:
            out.append(speed_wav_entry(b"", [], factor))
            continue
        out.append(speed_wav_entry(f[0], f[1:], factor))
    return out


def _divide(lines_in: list[bytes], factor: float) -> list[bytes]:
    out = []
    for line in lines_in:
        f = awk_fields(line) + [b"", b""]
        out.append(f[0] + b" " + awk_num(awk_to_number(f[1]) / factor).encode())
    return out


def perturb_speed(
    factor: str,
    srcdir: str,
    destdir: str,
    *,
    include_spk_prefix: bool = True,
    console: Console | None = None,
    prog: str = "utils/perturb_data_dir_speed.sh",
    sub_prefix: str = "utils/data/",
) -> int:
    """Writes the speed-perturbed copy of ``srcdir`` into ``destdir``.

    Args:
        factor: the speed factor as written in ids and sox commands (e.g. ``"0.9"``).
        srcdir: source directory; utt2dur and reco2dur are added to it if missing.
        destdir: destination directory.
        include_spk_prefix: prefix ``sp<factor>-`` on utterances, speakers and
            recordings; else suffix ``-sp<factor>`` on utterances and recordings.
        console: receives the messages.
        prog: the script name used in the messages.

    Returns:
        The script's exit status (that of the final validation).

    Kaldi: ``utils/perturb_data_dir_speed.sh``.
    """
    con = console or Console()
    try:
        return _perturb(factor, srcdir, destdir, include_spk_prefix, con, prog, sub_prefix)
    except ScriptExit as e:
        return e.status
    except PerlDie as e:
        con.err(e.message)
        return perl_die_status()


def _perturb(factor: str, src: str, dst: str, spk_prefix_on: bool, con: Console, prog: str, sub: str) -> int:
    from kaldibridge.kaldi.datadir.durations import get_reco2dur, get_utt2dur
    from kaldibridge.kaldi.datadir.fix import fix
    from kaldibridge.kaldi.datadir.validate import validate

    try:
        fac = float(factor)
    except ValueError:
        fac = awk_to_number(enc(factor))
    label = b"sp" + enc(factor)
    if spk_prefix_on:
        sp, up, us = label + b"-", label + b"-", b""
    else:
        sp, up, us = b"", b"", b"-" + label
    if shutil.which("sox") is None:
        con.out("sox: command not found")
        return 1
    if not exists(f"{src}/utt2spk"):
        con.out(f"{prog}: no such file {src}/utt2spk")
        return 1
    if dst == src:
        con.out(f"{prog}: this script requires <srcdir> and <destdir> to be different.")
        return 1
    os.makedirs(dst, exist_ok=True)

    def first(line: bytes) -> bytes:
        f = awk_fields(line)
        return f[0] if f else b""

    spk_map = [first(x) + b" " + sp + first(x) for x in lines(f"{src}/spk2utt")]
    utt_map = [first(x) + b" " + up + first(x) + us for x in lines(f"{src}/utt2spk")]
    wav_src = lines(f"{src}/wav.scp") if exists(f"{src}/wav.scp") else []
    reco_map = [first(x) + b" " + up + first(x) + us for x in wav_src]
    umap, smap, rmap = f"{dst}/utt_map", f"{dst}/spk_map", f"{dst}/reco_map"
    write(smap, spk_map)
    write(umap, utt_map)
    write(rmap, reco_map)
    if not exists(f"{src}/utt2uniq"):
        write(f"{dst}/utt2uniq", [up + first(x) + us + b" " + first(x) for x in lines(f"{src}/utt2spk")])
    else:
        out = []
        for line in lines(f"{src}/utt2uniq"):
            f = awk_fields(line) + [b"", b""]
            out.append(up + f[0] + us + b" " + f[1])
        write(f"{dst}/utt2uniq", out)
    utt2spk = apply_map(apply_map(lines(f"{src}/utt2spk"), utt_map, field=1, map_name=umap), spk_map, field=2,
                        map_name=smap)
    write(f"{dst}/utt2spk", utt2spk)
    write(f"{dst}/spk2utt", utt2spk_to_spk2utt(utt2spk))
    if exists(f"{src}/segments"):
        segs = apply_map(apply_map(lines(f"{src}/segments"), utt_map, field=1, map_name=umap), reco_map, field=2,
                         map_name=rmap)
        out = []
        for line in segs:
            f = awk_fields(line) + [b""] * 4
            s = awk_to_number(f[2]) / fac
            e = awk_to_number(f[3]) / fac
            if e > s + 0.01:
                out.append(b"%s %s %.2f %.2f" % (f[0], f[1], s, e))
        write(f"{dst}/segments", out)
        write(f"{dst}/wav.scp", _rewrite_wav(apply_map(wav_src, reco_map, field=1, map_name=rmap), factor))
        if exists(f"{src}/reco2file_and_channel"):
            write(f"{dst}/reco2file_and_channel",
                  apply_map(lines(f"{src}/reco2file_and_channel"), reco_map, field=1, map_name=rmap))
    elif exists(f"{src}/wav.scp"):
        write(f"{dst}/wav.scp", _rewrite_wav(apply_map(wav_src, utt_map, field=1, map_name=umap), factor))
    if exists(f"{src}/text"):
        write(f"{dst}/text", apply_map(lines(f"{src}/text"), utt_map, field=1, map_name=umap))
    if exists(f"{src}/spk2gender"):
        write(f"{dst}/spk2gender", apply_map(lines(f"{src}/spk2gender"), spk_map, field=1, map_name=smap))
    if exists(f"{src}/utt2lang"):
        write(f"{dst}/utt2lang", apply_map(lines(f"{src}/utt2lang"), utt_map, field=1, map_name=umap))
    if not exists(f"{src}/utt2dur"):
        get_utt2dur(src, console=con, prog=f"{sub}get_utt2dur.sh")
    write(f"{dst}/utt2dur", _divide(apply_map(lines(f"{src}/utt2dur"), utt_map, field=1, map_name=umap), fac))
    if not exists(f"{src}/reco2dur"):
        get_reco2dur(src, console=con, prog=f"{sub}get_reco2dur.sh")
    write(f"{dst}/reco2dur", _divide(apply_map(lines(f"{src}/reco2dur"), reco_map, field=1, map_name=rmap), fac))
    for m in (smap, umap, rmap):
        os.remove(m)
    con.out(f"{prog}: generated speed-perturbed version of data in {src}, in {dst}")
    fix(dst, console=con)
    return validate(dst, no_feats=True, no_text=True, console=con)


def perturb_speed_3way(
    srcdir: str,
    destdir: str,
    *,
    always_include_prefix: bool = False,
    include_spk_prefix: bool = True,
    console: Console | None = None,
    prog: str = "utils/data/perturb_data_dir_speed_3way.sh",
) -> int:
    """The standard 0.9 / 1.0 / 1.1 speed perturbation, combined into ``destdir``.

    Runs fix_data_dir.sh on the source first and adds utt2dur/reco2dur to it, as the
    script does.

    Returns:
        The script's exit status.

    Kaldi: ``utils/data/perturb_data_dir_speed_3way.sh``.
    """
    from kaldibridge.kaldi.datadir.durations import get_reco2dur, get_utt2dur
    from kaldibridge.kaldi.datadir.fix import fix
    from kaldibridge.kaldi.datadir.ops import combine, copy
    from kaldibridge.kaldi.datadir.validate import validate

    con = console or Console()
    src, dst = srcdir, destdir
    if not exists(f"{src}/wav.scp"):
        con.out(f"{prog}: expected {src}/wav.scp to exist")
        return 1
    if exists(f"{dst}/feats.scp"):
        con.out(f"{prog}: {dst}/feats.scp already exists: refusing to run this (please delete {dst}/feats.scp if "
                "you want this to run)")
        return 1
    if fix(src, console=con) != 0:
        return 1
    con.out(f"{prog}: making sure the utt2dur and the reco2dur files are present")
    con.out(f"... in {src}, because obtaining it after speed-perturbing")
    con.out("... would be very slow, and you might need them.")
    get_utt2dur(src, console=con)
    get_reco2dur(src, console=con)
    for fac in ("0.9", "1.1"):
        if perturb_speed(fac, src, f"{dst}_speed{fac}", include_spk_prefix=include_spk_prefix, console=con,
                         prog="utils/data/perturb_data_dir_speed.sh") != 0:
            return 1
    cprog = "utils/data/combine_data.sh"
    if always_include_prefix:
        copy(src, f"{dst}_speed1.0", spk_prefix="sp1.0-", utt_prefix="sp1.0-", console=con)
        if not exists(f"{src}/utt2uniq"):
            write(f"{dst}_speed1.0/utt2uniq", [b"sp1.0-" + awk_fields(x)[0] + b" " + awk_fields(x)[0]
                                                for x in lines(f"{src}/utt2spk") if awk_fields(x)])
        else:
            write(f"{dst}_speed1.0/utt2uniq", [b"sp1.0-" + awk_fields(x)[0] + b" " + (awk_fields(x) + [b""])[1]
                                                for x in lines(f"{src}/utt2uniq") if awk_fields(x)])
        parts = [f"{dst}_speed1.0", f"{dst}_speed0.9", f"{dst}_speed1.1"]
    else:
        parts = [src, f"{dst}_speed0.9", f"{dst}_speed1.1"]
    con.out(" ".join([cprog, dst, *parts]))
    if combine(dst, parts, console=con, prog=cprog) != 0:
        return 1
    for p in parts:
        if p != src:
            shutil.rmtree(p, ignore_errors=True)
    con.out(f"{prog}: generated 3-way speed-perturbed version of data in {src}, in {dst}")
    if validate(dst, no_feats=True, no_text=True, console=con) != 0:
        con.out(f"{prog}: Validation failed.  If it is a sorting issue, try the option '--always-include-prefix true'.")
        return 1
    return 0

