"""subset, split, combine and copy of data directories, as Kaldi's scripts do them.

Kaldi: ``utils/subset_data_dir.sh`` (with ``subset_scp.pl`` and ``shuffle_list.pl``),
``utils/split_data.sh`` (with ``split_scp.pl`` and ``filter_scps.pl``),
``utils/combine_data.sh``, ``utils/copy_data_dir.sh``. Same outputs byte for byte,
same messages, same exit status.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from kaldibridge.kaldi.datadir._base import (
    Console,
    PerlDie,
    ScriptExit,
    apply_map,
    awk_col,
    dec,
    enc,
    exists,
    filter_scp,
    lines,
    nonempty,
    perl_die_status,
    read_bytes,
    spk2utt_to_utt2spk,
    utt2spk_to_spk2utt,
    wc_l,
    write,
)
from kaldibridge.kaldi.datadir._text import (
    awk_fields,
    first_token,
    perl_fields,
    sort_lines,
    sort_numeric_k2,
    uniq,
)

__all__ = [
    "subset",
    "split",
    "split_scp_per_speaker",
    "split_scp_per_line",
    "combine",
    "copy",
    "subset_scp_select",
    "shuffle_list",
    "perl_drand48",
]


# ----------------------------------------------------------------------------- subset


def subset_scp_select(items: Sequence[bytes], n: int) -> list[bytes]:
    """``subset_scp.pl`` without ``--first``/``--last``: ``n`` lines spread by recursive halving."""
    out: list[bytes] = []

    def select(start: int, end: int, needed: int) -> None:
        diff = end - start
        if diff == 1:
            if needed > 0:
                out.append(items[start])
            return
        half, half_needed = diff // 2, needed // 2
        select(start, start + half, half_needed)
        select(start + half, end, needed - half_needed)

    if n > 0 and items:
        select(0, len(items), n)
    return out


def perl_drand48(seed: int, count: int) -> list[float]:
    """The first ``count`` values of Perl's ``rand()`` after ``srand(seed)`` (drand48)."""
    x = ((seed & 0xFFFFFFFF) << 16) | 0x330E
    vals = []
    for _ in range(count):
        x = (0x5DEECE66D * x + 0xB) & ((1 << 48) - 1)
        vals.append(x / float(1 << 48))
    return vals


def _perl_num_str(x: float) -> str:
    s = "%.15g" % x
    return s


def shuffle_list(items: Sequence[bytes], seed: int = 0) -> list[bytes]:
    """``utils/shuffle_list.pl``: lines sorted by the *string* of a Perl ``rand()`` each."""
    r = perl_drand48(seed, len(items))
    keyed = [(_perl_num_str(v), i) for i, v in enumerate(r)]
    keyed.sort(key=lambda t: t[0])
    return [items[i] for _, i in keyed]


def subset(
    srcdir: str,
    destdir: str,
    num_utt: int | None = None,
    *,
    mode: str = "default",
    utt_list: str | None = None,
    spk_list: str | None = None,
    console: Console | None = None,
    prog: str = "utils/subset_data_dir.sh",
) -> int:
    """Writes a subset of a data directory as ``subset_data_dir.sh`` does.

    Args:
        srcdir: source directory.
        destdir: destination directory (created).
        num_utt: number of utterances (or per speaker for ``mode="per-spk"``); unused
            with ``utt_list``/``spk_list``.
        mode: ``"default"`` (spread by recursive halving), ``"first"``, ``"last"``,
            ``"per-spk"``, ``"shortest"``, ``"speakers"`` (random speakers, Perl's
            ``srand(0)``).
        utt_list: file of utterance ids to keep.
        spk_list: file of speaker ids to keep.
        console: receives the messages.
        prog: the script name used in the messages.

    Returns:
        The script's exit status.

    Kaldi: ``utils/subset_data_dir.sh``.
    """
    con = console or Console()
    try:
        _subset(srcdir, destdir, num_utt, mode, utt_list, spk_list, con, prog)
    except ScriptExit as e:
        return e.status
    except PerlDie as e:
        con.err(e.message)
        return 1
    return 0


def _subset(
    src: str, dst: str, numutt: int | None, mode: str, utt_list: str | None, spk_list: str | None,
    con: Console, prog: str,
) -> None:
    if not exists(f"{src}/utt2spk"):
        con.out(f"{prog}: no such file {src}/utt2spk")
        raise ScriptExit(1)
    if numutt is not None and utt_list is None and spk_list is None and numutt > wc_l(f"{src}/utt2spk"):
        con.out(f"{prog}: cannot subset to more utterances than you originally had.")
        raise ScriptExit(1)
    if mode == "shortest" and not exists(f"{src}/feats.scp"):
        con.out(f"{prog}: you selected --shortest but no feats.scp exist.")
        raise ScriptExit(1)
    os.makedirs(dst, exist_ok=True)
    for lst, target in ((spk_list, "spk2utt"), (utt_list, "utt2spk")):
        if lst and not os.path.isfile(lst):
            write(f"{dst}/{target}", [])  # the shell's redirection creates it before perl dies
            con.err(f"Could not open id-list file {lst} at utils/filter_scp.pl line 57.")
            raise ScriptExit(1)
    if spk_list:
        spk2utt = filter_scp(lines(spk_list), lines(f"{src}/spk2utt"))
        write(f"{dst}/spk2utt", spk2utt)
        write(f"{dst}/utt2spk", spk2utt_to_utt2spk(spk2utt))
    elif utt_list:
        utt2spk = filter_scp(lines(utt_list), lines(f"{src}/utt2spk"))
        write(f"{dst}/utt2spk", utt2spk)
        write(f"{dst}/spk2utt", utt2spk_to_spk2utt(utt2spk))
    elif mode == "speakers":
        assert numutt is not None
        chosen: list[bytes] = []
        tot = 0
        for line in shuffle_list(lines(f"{src}/spk2utt")):
            if tot < numutt:
                chosen.append(line)
            tot += len(awk_fields(line)) - 1
        spk2utt = sort_lines(chosen)
        write(f"{dst}/spk2utt", spk2utt)
        write(f"{dst}/utt2spk", spk2utt_to_utt2spk(spk2utt))
    elif mode == "per-spk":
        assert numutt is not None
        out = []
        for line in lines(f"{src}/spk2utt"):
            f = awk_fields(line)
            nf = len(f)
            skip = 1
            while numutt * (skip + 1) <= nf - 1:
                skip += 1
            parts = [(f[0] if f else b"") + b" "]
            x = 2
            while x <= nf and x <= numutt * skip + 1:
                parts.append(f[x - 1] + b" ")
                x += skip
            out.append(b"".join(parts))
        write(f"{dst}/spk2utt", out)
        write(f"{dst}/utt2spk", spk2utt_to_utt2spk(out))
    else:
        assert numutt is not None
        utt2spk_src = lines(f"{src}/utt2spk")
        if mode == "shortest":
            if exists(f"{src}/utt2num_frames"):
                lens = lines(f"{src}/utt2num_frames")
            else:
                con.err(f"feat-to-len scp:{src}/feats.scp ark,t:{dst}/tmp.len ")
                from kaldibridge.kaldi.datadir.durations import feat_lengths

                lens = [enc(k) + b" " + str(n).encode() + b" " for k, n in feat_lengths(f"{src}/feats.scp")]
            uttlist = awk_col(sort_numeric_k2(lens))[:numutt]
            sel = filter_scp(uttlist, utt2spk_src)
        else:
            n_in = len(utt2spk_src)
            if numutt == 0:
                write(f"{dst}/utt2spk", [])
                raise PerlDie(f'First command-line parameter to subset_scp.pl must be an integer, got "{numutt}"',
                              "utils/subset_scp.pl line 55")
            if numutt > n_in:
                write(f"{dst}/utt2spk", [])
                raise PerlDie(f"You requested from subset_scp.pl more elements than available: {numutt} > {n_in}",
                              f"utils/subset_scp.pl line 69, <I> line {n_in}")
            if mode == "first":
                sel = utt2spk_src[:numutt]
            elif mode == "last":
                sel = utt2spk_src[n_in - numutt:]
            else:
                sel = subset_scp_select(utt2spk_src, numutt)
        write(f"{dst}/utt2spk", sel)
        write(f"{dst}/spk2utt", utt2spk_to_spk2utt(sel))

    utt2spk = lines(f"{dst}/utt2spk")
    spk2utt = lines(f"{dst}/spk2utt")
    for f in ("feats.scp", "vad.scp", "utt2lang", "utt2dur", "utt2num_frames", "utt2uniq", "wav.scp", "utt2warp", "text"):
        if exists(f"{src}/{f}"):
            write(f"{dst}/{f}", filter_scp(utt2spk, lines(f"{src}/{f}")))
    for f in ("spk2warp", "spk2gender", "cmvn.scp"):
        if exists(f"{src}/{f}"):
            write(f"{dst}/{f}", filter_scp(spk2utt, lines(f"{src}/{f}")))
    if exists(f"{src}/segments"):
        segs = filter_scp(utt2spk, lines(f"{src}/segments"))
        write(f"{dst}/segments", segs)
        reco = uniq(sort_lines(awk_col(segs, 2)))
        if exists(f"{src}/wav.scp"):
            write(f"{dst}/wav.scp", filter_scp(reco, lines(f"{src}/wav.scp")))
    else:
        reco = uniq(sort_lines(awk_col(lines(f"{dst}/wav.scp")))) if exists(f"{dst}/wav.scp") else []
        if not exists(f"{dst}/wav.scp"):
            con.err(f"awk: cannot open {dst}/wav.scp (No such file or directory)")
    for f in ("reco2file_and_channel", "reco2dur"):
        if exists(f"{src}/{f}"):
            write(f"{dst}/{f}", filter_scp(reco, lines(f"{src}/{f}")))
    if exists(f"{src}/stm"):
        stm = lines(f"{src}/stm")
        write(f"{dst}/stm", [x for x in stm if x.startswith(b";;")] + filter_scp(reco, stm))
    if exists(f"{src}/frame_shift"):
        shutil.copyfile(f"{src}/frame_shift", f"{dst}/frame_shift")
    con.out(f"{prog}: reducing #utt from {wc_l(f'{src}/utt2spk')} to {wc_l(f'{dst}/utt2spk')}")


# ----------------------------------------------------------------------------- split


def split_scp_per_speaker(lines_in: Sequence[bytes], utt2spk: Sequence[bytes], num: int, *, utt2spk_name: str = "",
                          in_name: str = "") -> list[list[bytes]]:
    """``split_scp.pl --utt2spk``: whole speakers per piece, balanced as the script does.

    Args:
        lines_in: the lines to split (keyed by utterance).
        utt2spk: the utt2spk lines.
        num: number of pieces.

    Returns:
        ``num`` lists of lines (a speaker's lines grouped, speakers in order of first
        appearance).

    Raises:
        PerlDie: fewer speakers than pieces, or a bad line (the script's messages).
    """
    prog = "utils/split_scp.pl"
    u2s: dict[bytes, bytes] = {}
    for line in utt2spk:
        f = perl_fields(line)
        if len(f) != 2:
            raise PerlDie(f"{prog}: Bad line {dec(line)}\n in utt2spk file {utt2spk_name}\n")
        u2s[f[0]] = f[1]
    spkrs: list[bytes] = []
    count: dict[bytes, int] = {}
    data: dict[bytes, list[bytes]] = {}
    for line in lines_in:
        f = perl_fields(line)
        if not f:
            raise PerlDie(f"{prog}: Empty or space-only line in scp file {in_name}\n")
        s = u2s.get(f[0])
        if s is None:
            raise PerlDie(f"{prog}: No utterance {dec(f[0])} in utt2spk file {utt2spk_name}\n")
        if s not in count:
            spkrs.append(s)
            count[s] = 0
            data[s] = []
        count[s] += 1
        data[s].append(line)
    nspk = len(spkrs)
    if nspk < num:
        raise PerlDie(
            f"{prog}: Refusing to split data because number of speakers {nspk} "
            f"is less than the number of output .scp files {num}\n"
        )
    arr: list[list[bytes]] = [[] for _ in range(num)]
    cnt = [0] * num
    for i, s in enumerate(spkrs):
        j = (i * num) // nspk
        arr[j].append(s)
        cnt[j] += count[s]
    changed = True
    while changed:
        changed = False
        for j in range(num):
            if j < num - 1 and arr[j]:
                s = arr[j][-1]
                c = count[s]
                n1, n2 = cnt[j], cnt[j + 1]
                if abs((n2 + c) - (n1 - c)) < abs(n2 - n1):
                    cnt[j + 1] += c
                    cnt[j] -= c
                    arr[j].pop()
                    arr[j + 1].insert(0, s)
                    changed = True
            if j > 0 and arr[j]:
                s = arr[j][0]
                c = count[s]
                n1, n2 = cnt[j - 1], cnt[j]
                if abs((n2 - c) - (n1 + c)) < abs(n2 - n1):
                    cnt[j - 1] += c
                    cnt[j] -= c
                    arr[j].pop(0)
                    arr[j - 1].append(s)
                    changed = True
    return [[line for s in speakers for line in data[s]] for speakers in arr]


def split_scp_per_line(lines_in: Sequence[bytes], num: int, *, in_name: str = "") -> list[list[bytes]]:
    """``split_scp.pl`` without ``--utt2spk``: consecutive blocks, the first ``n % num`` longer.

    Raises:
        PerlDie: more pieces than lines.
    """
    n = len(lines_in)
    per = n // num
    if per < 1:
        pre = f"utils/split_scp.pl: error: empty input scp file {in_name}\n" if n == 0 else ""
        raise PerlDie(
            pre + f"utils/split_scp.pl: You are splitting into too many pieces! [reduce $nj ({num}) to be smaller "
            f"than the number of lines ({n}) in {in_name}]\n"
        )
    rem = n - per * num
    out = []
    pos = 0
    for j in range(num):
        k = per + (1 if j < rem else 0)
        out.append(list(lines_in[pos:pos + k]))
        pos += k
    return out


def _filter_scps(idlists: list[list[bytes]], lines_in: Sequence[bytes], con: Console | None = None,
                 warn: bool = True) -> list[list[bytes]]:
    """``filter_scps.pl``: each input line goes to every piece whose id list has its key."""
    id2jobs: dict[bytes, list[int]] = {}
    for j, idl in enumerate(idlists):
        for line in idl:
            tok = first_token(line)
            if tok is None:
                raise PerlDie(f"Invalid line {dec(line)}\n in id-list file")
            id2jobs.setdefault(tok, []).append(j)
    out: list[list[bytes]] = [[] for _ in idlists]
    uncovered = multiple = False
    for line in lines_in:
        key = first_token(line)
        if key is None:
            raise PerlDie(f"Bad line {dec(line)}\n, could not get first field.")
        jobs = id2jobs.get(key)
        if jobs is None:
            uncovered = True
            continue
        if len(jobs) > 1:
            multiple = True
        for j in jobs:
            out[j].append(line)
    if con is not None and warn:
        if uncovered:
            con.err("filter_scps.pl: warning: some input lines did not get output")
        if multiple:
            con.err("filter_scps.pl: warning: some input lines were output to multiple files [OK if splitting per utt] ")
    return out


_SPLIT_CHECK = ("utt2spk", "spk2utt", "spk2warp", "feats.scp", "text", "wav.scp", "cmvn.scp", "spk2gender",
                "vad.scp", "segments", "reco2file_and_channel", "utt2lang")


def split(
    data: str, num: int, *, per_utt: bool = False, console: Console | None = None, prog: str = "utils/split_data.sh"
) -> int:
    """Splits a data directory into ``data/splitN/1..N`` (``splitNutt`` with ``per_utt``).

    Args:
        data: the directory.
        num: number of pieces.
        per_utt: split by utterance instead of by speaker.
        console: receives the messages.
        prog: the script name used in the messages.

    Returns:
        The script's exit status. Nothing is done when the split exists and is newer
        than every source file (the script's check).

    Kaldi: ``utils/split_data.sh``.
    """
    con = console or Console()
    try:
        _split(data, num, per_utt, con, prog)
    except ScriptExit as e:
        return e.status
    return 0


def _split(data: str, num: int, per_utt: bool, con: Console, prog: str) -> None:
    if num <= 0:
        con.out(f"Invalid num-split argument {num}")
        raise ScriptExit(1)
    if not exists(f"{data}/utt2spk"):
        con.err(f"cat: {data}/utt2spk: No such file or directory")
    nu = wc_l(f"{data}/utt2spk")
    if exists(f"{data}/feats.scp") and nu != wc_l(f"{data}/feats.scp"):
        con.out(f"** split_data.sh: warning, #lines is (utt2spk,feats.scp) is ({nu},{wc_l(f'{data}/feats.scp')}); you can ")
        con.out(f"**  use utils/fix_data_dir.sh {data} to fix this.")
    if exists(f"{data}/text") and nu != wc_l(f"{data}/text"):
        con.out(f"** split_data.sh: warning, #lines is (utt2spk,text) is ({nu},{wc_l(f'{data}/text')}); you can ")
        con.out("** use utils/fix_data_dir.sh to fix this.")
    base = f"{data}/split{num}{'utt' if per_utt else ''}"
    s1 = f"{base}/1"
    if os.path.isdir(s1):
        need = False
        for f in _SPLIT_CHECK:
            src = f"{data}/{f}"
            if exists(src) and (not exists(f"{s1}/{f}") or os.path.getmtime(f"{s1}/{f}") < os.path.getmtime(src)):
                need = True
        if not need:
            return
    dirs = [f"{base}/{n}" for n in range(1, num + 1)]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    if not exists(f"{data}/utt2spk"):
        con.err(f"utils/split_scp.pl: Error opening {'input scp' if per_utt else 'utt2spk'} file {data}/utt2spk: "
                "No such file or directory")
        raise ScriptExit(1)
    utt2spk = lines(f"{data}/utt2spk")
    try:
        if per_utt:
            pieces = split_scp_per_line(utt2spk, num, in_name=f"{data}/utt2spk")
        else:
            pieces = split_scp_per_speaker(utt2spk, utt2spk, num, utt2spk_name=f"{data}/utt2spk",
                                           in_name=f"{data}/utt2spk")
    except PerlDie as e:
        con.err(e.message)
        raise ScriptExit(1) from None
    spk2utts = []
    for d, piece in zip(dirs, pieces):
        write(f"{d}/utt2spk", piece)
        try:
            s2u = utt2spk_to_spk2utt(piece)
        except PerlDie as e:
            con.err(e.message)
            raise ScriptExit(1) from None
        write(f"{d}/spk2utt", s2u)
        spk2utts.append(s2u)
    has_segments = exists(f"{data}/segments")
    try:
        for f in ("feats.scp", "text", "vad.scp", "utt2lang", *([] if has_segments else ["wav.scp"]),
                  "utt2dur", "utt2num_frames"):
            if exists(f"{data}/{f}"):
                for d, out in zip(dirs, _filter_scps(pieces, lines(f"{data}/{f}"), con)):
                    write(f"{d}/{f}", out)
        for f in ("spk2gender", "spk2warp", "cmvn.scp"):
            if exists(f"{data}/{f}"):
                for d, out in zip(dirs, _filter_scps(spk2utts, lines(f"{data}/{f}"), con, not per_utt)):
                    write(f"{d}/{f}", out)
        if has_segments:
            segs = _filter_scps(pieces, lines(f"{data}/segments"), con)
            recos = []
            for d, out in zip(dirs, segs):
                write(f"{d}/segments", out)
                recos.append(uniq(sort_lines(awk_col(out, 2))))
            for f in ("reco2file_and_channel", "wav.scp"):
                if exists(f"{data}/{f}"):
                    for d, out in zip(dirs, _filter_scps(recos, lines(f"{data}/{f}"), con, not per_utt)):
                        write(f"{d}/{f}", out)
    except PerlDie as e:
        con.err(e.message)
        raise ScriptExit(1) from None


# ----------------------------------------------------------------------------- combine

_COMBINE_FILES = ("utt2spk", "utt2lang", "utt2dur", "utt2num_frames", "reco2dur", "feats.scp", "text", "cmvn.scp",
                  "vad.scp", "reco2file_and_channel", "wav.scp", "spk2gender")


def combine(
    dest: str,
    sources: Sequence[str],
    *,
    extra_files: Sequence[str] = (),
    skip_fix: bool = False,
    console: Console | None = None,
    prog: str = "utils/combine_data.sh",
    fix_prog: str = "utils/fix_data_dir.sh",
) -> int:
    """Combines data directories into ``dest`` as ``combine_data.sh`` does.

    Files missing from some source are not combined (except utt2uniq and segments,
    which are generated); lines are concatenated and sorted (``sort -k1``), then
    ``fix_data_dir.sh`` runs unless ``skip_fix``.

    Args:
        dest: destination directory (removed first).
        sources: source directories.
        extra_files: more files to combine.
        skip_fix: do not run fix_data_dir.sh at the end.
        console: receives the messages.
        prog: the script name used in the messages (the command line echo is the
            caller's job).

    Returns:
        The script's exit status.

    Kaldi: ``utils/combine_data.sh``.
    """
    con = console or Console()
    try:
        return _combine(dest, list(sources), list(extra_files), skip_fix, con, prog, fix_prog)
    except ScriptExit as e:
        return e.status


def _combine(dest: str, srcs: list[str], extra: list[str], skip_fix: bool, con: Console, prog: str,
             fix_prog: str) -> int:
    from kaldibridge.kaldi.datadir.durations import get_utt2dur
    from kaldibridge.kaldi.datadir.fix import fix

    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest, exist_ok=True)
    for d in srcs:
        if not exists(f"{d}/utt2spk"):
            con.out(f"{prog}: no such file {d}/utt2spk")
            raise ScriptExit(1)
    with_fs = None
    for d in srcs:
        if exists(f"{d}/feats.scp") and exists(f"{d}/frame_shift"):
            if with_fs and read_bytes(f"{with_fs}/frame_shift") != read_bytes(f"{d}/frame_shift"):
                con.out(f"{prog}:error: different frame_shift in directories {d} and  {with_fs}. Cannot combine features.")
                raise ScriptExit(1)
            with_fs = d
    if any(exists(f"{d}/utt2uniq") for d in srcs):
        out: list[bytes] = []
        for d in srcs:
            if exists(f"{d}/utt2uniq"):
                out += lines(f"{d}/utt2uniq")
            else:
                out += [u + b" " + u for u in awk_col(lines(f"{d}/utt2spk"))]
        write(f"{dest}/utt2uniq", sort_lines(out))
        con.out(f"{prog}: combined utt2uniq")
    else:
        con.out(f"{prog} [info]: not combining utt2uniq as it does not exist")
    extra = [x.replace("utt2uniq", "") for x in extra]
    extra = [x for x in extra if x]
    if any(exists(f"{d}/segments") for d in srcs):
        out = []
        for d in srcs:
            if not exists(f"{d}/segments"):
                con.err(f"{prog} [info]: will generate missing segments for {d}")
                if not nonempty(f"{d}/utt2dur"):
                    sub = Console(out=con.err, err=con.err)
                    if get_utt2dur(d, console=sub, prog="utils/data/get_utt2dur.sh") != 0:
                        continue
                for line in lines(f"{d}/utt2dur"):
                    f = awk_fields(line)
                    f += [b""] * (2 - len(f))
                    out.append(b" ".join([f[0], f[0], b"0", f[1]]))
            else:
                out += lines(f"{d}/segments")
        write(f"{dest}/segments", sort_lines(out))
        con.out(f"{prog}: combined segments")
    else:
        con.out(f"{prog} [info]: not combining segments as it does not exist")
    for name in (*_COMBINE_FILES, *extra):
        present = [exists(f"{d}/{name}") for d in srcs]
        if all(present):
            out = []
            for d in srcs:
                out += lines(f"{d}/{name}")
            write(f"{dest}/{name}", sort_lines(out))
            con.out(f"{prog}: combined {name}")
        elif not any(present):
            con.out(f"{prog} [info]: not combining {name} as it does not exist")
        else:
            con.out(f"{prog} [info]: **not combining {name} as it does not exist everywhere**")
    try:
        write(f"{dest}/spk2utt", utt2spk_to_spk2utt(lines(f"{dest}/utt2spk")))
    except PerlDie as e:
        con.err(e.message)
    if with_fs:
        shutil.copyfile(f"{with_fs}/frame_shift", f"{dest}/frame_shift")
    if not skip_fix:
        if fix(dest, console=con, prog=fix_prog) != 0:
            return 1
    return 0


# ----------------------------------------------------------------------------- copy


def _map_lines(src: Sequence[bytes], fmt: str, prefix: bytes, suffix: bytes) -> list[bytes]:
    out = []
    for line in src:
        f1 = awk_first(line)
        if fmt == "map":
            out.append(f1 + b" " + prefix + f1 + suffix)
        else:
            out.append(prefix + f1 + suffix + b" " + f1)
    return out


def awk_first(line: bytes) -> bytes:
    f = awk_fields(line)
    return f[0] if f else b""


def copy(
    srcdir: str,
    destdir: str,
    *,
    utt_prefix: str = "",
    utt_suffix: str = "",
    spk_prefix: str = "",
    spk_suffix: str = "",
    validate_opts: Sequence[str] = (),
    console: Console | None = None,
    prog: str = "utils/copy_data_dir.sh",
) -> int:
    """Copies a data directory, optionally renaming utterances and speakers.

    Recording ids are kept; with a utterance prefix/suffix utt2uniq maps the new ids to
    the old ones (moved to ``.backup/`` when the source had none, as the script does).
    Ends by validating the copy, whose status is returned.

    Kaldi: ``utils/copy_data_dir.sh``.
    """
    con = console or Console()
    try:
        return _copy(srcdir, destdir, enc(utt_prefix), enc(utt_suffix), enc(spk_prefix), enc(spk_suffix),
                     list(validate_opts), con, prog)
    except ScriptExit as e:
        return e.status
    except PerlDie as e:
        con.err(e.message)
        return e.status if e.status is not None else perl_die_status()


def _mapped(path: str, lines_in: Sequence[bytes], mapping: Sequence[bytes], field: int, map_name: str) -> None:
    """``apply_map.pl ... > path``: on a missing key the lines printed so far are written."""
    try:
        out = apply_map(lines_in, mapping, field=field, map_name=map_name)
    except PerlDie as e:
        write(path, e.partial)
        raise
    write(path, out)


def _copy(src: str, dst: str, up: bytes, us: bytes, sp: bytes, ss: bytes, vopts: list[str], con: Console,
          prog: str) -> int:
    from kaldibridge.kaldi.datadir.validate import validate

    if not exists(f"{src}/utt2spk"):
        con.out(f"copy_data_dir.sh: no such file {src}/utt2spk")
        raise ScriptExit(1)
    if dst == src:
        con.out(f"{prog}: this script requires <srcdir> and <destdir> to be different.")
        raise ScriptExit(1)
    os.makedirs(dst, exist_ok=True)
    utt2spk_src = lines(f"{src}/utt2spk")
    utt_map = _map_lines(utt2spk_src, "map", up, us)
    spk_map = _map_lines(lines(f"{src}/spk2utt"), "map", sp, ss)
    umap_name, smap_name = f"{dst}/utt_map", f"{dst}/spk_map"
    if not exists(f"{src}/utt2uniq"):
        if up or us:
            write(f"{dst}/utt2uniq", _map_lines(utt2spk_src, "uniq", up, us))
    else:
        out = []
        for line in lines(f"{src}/utt2uniq"):
            f = awk_fields(line) + [b"", b""]
            out.append(up + f[0] + us + b" " + f[1])
        write(f"{dst}/utt2uniq", out)
    write(umap_name, utt_map)
    write(smap_name, spk_map)
    try:
        first = apply_map(utt2spk_src, utt_map, field=1, map_name=umap_name)
    except PerlDie as e:  # a pipeline: the second stage maps what the first printed
        con.err(e.message)
        first = e.partial
    _mapped(f"{dst}/utt2spk", first, spk_map, 2, smap_name)
    write(f"{dst}/spk2utt", utt2spk_to_spk2utt(lines(f"{dst}/utt2spk")))
    for f in ("feats.scp", "vad.scp", "utt2lang"):
        if exists(f"{src}/{f}"):
            _mapped(f"{dst}/{f}", lines(f"{src}/{f}"), utt_map, 1, umap_name)
    if exists(f"{src}/segments"):
        _mapped(f"{dst}/segments", lines(f"{src}/segments"), utt_map, 1, umap_name)
        shutil.copyfile(f"{src}/wav.scp", f"{dst}/wav.scp")
    elif exists(f"{src}/wav.scp"):
        _mapped(f"{dst}/wav.scp", lines(f"{src}/wav.scp"), utt_map, 1, umap_name)
    if exists(f"{src}/reco2file_and_channel"):
        shutil.copyfile(f"{src}/reco2file_and_channel", f"{dst}/reco2file_and_channel")
    for f in ("text", "utt2dur", "utt2num_frames"):
        if exists(f"{src}/{f}"):
            _mapped(f"{dst}/{f}", lines(f"{src}/{f}"), utt_map, 1, umap_name)
    if exists(f"{src}/reco2dur"):
        if exists(f"{src}/segments"):
            shutil.copyfile(f"{src}/reco2dur", f"{dst}/reco2dur")
        else:
            _mapped(f"{dst}/reco2dur", lines(f"{src}/reco2dur"), utt_map, 1, umap_name)
    for f in ("spk2gender", "cmvn.scp"):
        if exists(f"{src}/{f}"):
            _mapped(f"{dst}/{f}", lines(f"{src}/{f}"), spk_map, 1, smap_name)
    for f in ("frame_shift", "stm", "glm", "ctm"):
        if exists(f"{src}/{f}"):
            shutil.copyfile(f"{src}/{f}", f"{dst}/{f}")
    os.remove(umap_name)
    os.remove(smap_name)
    con.out(f"{prog}: copied data from {src} to {dst}")
    for f in ("feats.scp", "cmvn.scp", "vad.scp", "utt2lang", "utt2uniq", "utt2dur", "utt2num_frames", "text",
              "wav.scp", "reco2file_and_channel", "frame_shift", "stm", "glm", "ctm"):
        if exists(f"{dst}/{f}") and not exists(f"{src}/{f}"):
            con.out(f"{prog}: file {f} exists in dest {dst} but not in src {src}.  Moving it to")
            con.out(f" ... {dst}/.backup/{f}")
            os.makedirs(f"{dst}/.backup", exist_ok=True)
            shutil.move(f"{dst}/{f}", f"{dst}/.backup/{f}")
    opts = list(vopts)
    if not exists(f"{src}/feats.scp"):
        opts.append("--no-feats")
    if not exists(f"{src}/text"):
        opts.append("--no-text")
    return validate(
        dst, no_feats="--no-feats" in opts, no_text="--no-text" in opts, no_wav="--no-wav" in opts,
        no_spk_sort="--no-spk-sort" in opts, non_print="--non-print" in opts, console=con,
    )
