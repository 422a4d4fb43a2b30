"""``utils/fix_data_dir.sh``: sort, de-duplicate and cross-filter the files of a data dir.

Kaldi: ``egs/wsj/s5/utils/fix_data_dir.sh``. The steps, their order (recordings,
speakers, utterances, speakers, recordings), the ``.backup/`` copies and the messages
are the script's, including its quirks (the speaker list is filtered by spk2gender and
cmvn.scp before utterances are counted; segments are rewritten with single spaces).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from kaldibridge.kaldi.datadir._base import (
    Console,
    PerlDie,
    ScriptExit,
    awk_col,
    exists,
    fake_tmpdir,
    filter_scp,
    join_lines,
    lines,
    nonempty,
    perl_die_status,
    read_bytes,
    spk2utt_to_utt2spk,
    utt2spk_to_spk2utt,
    write,
)
from kaldibridge.kaldi.datadir._text import (
    awk_fields,
    awk_gt,
    cmp_first_difference,
    sort_k2,
    sort_key1_unique,
    sort_lines,
    uniq,
)

__all__ = ["fix"]

_SORTED_FILES = (
    "utt2spk", "spk2utt", "feats.scp", "text", "segments", "wav.scp", "cmvn.scp", "vad.scp",
    "reco2file_and_channel", "spk2gender", "utt2lang", "utt2uniq", "utt2dur", "reco2dur", "utt2num_frames",
)


class _Fixer:
    def __init__(self, data: str, utt_extra: Sequence[str], spk_extra: Sequence[str], con: Console, prog: str) -> None:
        self.d = data
        self.utt_extra = list(utt_extra)
        self.spk_extra = list(spk_extra)
        self.con = con
        self.prog = prog
        self.tmp = fake_tmpdir()
        self.tmpfiles: dict[str, list[bytes]] = {}

    # Files are either real (under the data dir) or virtual (the script's $tmpdir).
    def _get(self, name: str) -> list[bytes]:
        if name.startswith(self.tmp + "/"):
            return self.tmpfiles[name[len(self.tmp) + 1:]]
        return lines(name)

    def _put(self, name: str, content: list[bytes]) -> None:
        if name.startswith(self.tmp + "/"):
            self.tmpfiles[name[len(self.tmp) + 1:]] = content
        else:
            write(name, content)

    def filter_file(self, flt: str, target: str) -> None:
        before = self._get(target)
        after = filter_scp(self._get(flt), before)
        self._put(target, after)
        if after != before and len(before) != len(after):
            self.con.out(f"{self.prog}: filtered {target} from {len(before)} to {len(after)} lines based on filter {flt}.")

    def check_sorted(self, path: str) -> None:
        old = lines(path)
        new = sort_key1_unique(old)
        if join_lines(new) != read_bytes(path):
            self.con.out(f"{self.prog}: file {path} is not in sorted order or not unique, sorting it")
            write(path, new)

    def filter_recordings(self) -> None:
        d = self.d
        if not exists(f"{d}/segments"):
            return
        if not exists(f"{d}/wav.scp"):
            self.con.out(f"{self.prog}: {d}/segments exists but not {d}/wav.scp")
            raise ScriptExit(1)
        recs = uniq(sort_lines(awk_col(lines(f"{d}/segments"), 2)))
        if not recs:
            self.con.out(f"Empty list of recordings (bad file {d}/segments)?")
            raise ScriptExit(1)
        self.tmpfiles["recordings"] = filter_scp(lines(f"{d}/wav.scp"), recs)
        rec = f"{self.tmp}/recordings"
        swap = [b" ".join(_pad4(awk_fields(x), (1, 0, 2, 3))) for x in lines(f"{d}/segments")]
        write(f"{d}/segments", swap)
        self.filter_file(rec, f"{d}/segments")
        swap = [b" ".join(_pad4(awk_fields(x), (1, 0, 2, 3))) for x in lines(f"{d}/segments")]
        write(f"{d}/segments", swap)
        self.filter_file(rec, f"{d}/wav.scp")
        for f in ("reco2file_and_channel", "reco2dur"):
            if exists(f"{d}/{f}"):
                self.filter_file(rec, f"{d}/{f}")

    def filter_speakers(self) -> None:
        d = self.d
        try:
            spk2utt = utt2spk_to_spk2utt(lines(f"{d}/utt2spk"))
        except PerlDie as e:
            write(f"{d}/spk2utt", [])
            self.con.err(e.message)
            raise ScriptExit(perl_die_status()) from None
        write(f"{d}/spk2utt", spk2utt)
        self.tmpfiles["speakers"] = awk_col(spk2utt)
        spk = f"{self.tmp}/speakers"
        for s in ("cmvn.scp", "spk2gender"):
            if exists(f"{d}/{s}"):
                self.filter_file(f"{d}/{s}", spk)
        self.filter_file(spk, f"{d}/spk2utt")
        write(f"{d}/utt2spk", spk2utt_to_utt2spk(lines(f"{d}/spk2utt")))
        for s in ("cmvn.scp", "spk2gender", *self.spk_extra):
            if exists(f"{d}/{s}"):
                self.filter_file(spk, f"{d}/{s}")

    def _cmp_sorted(self, path: str, sorted_lines: list[bytes]) -> bool:
        """``cat FILE | sort... | cmp - FILE``: prints cmp's line, True when they differ."""
        a = join_lines(sorted_lines)
        b = read_bytes(path)
        if a == b:
            return False
        where = cmp_first_difference(a, b)
        if where is None:
            shorter, n = ("-", len(a)) if len(a) < len(b) else (path, len(b))
            self.con.err(f"cmp: EOF on {shorter} after byte {n}")
        else:
            self.con.out(f"- {path} differ: char {where[0]}, line {where[1]}")
        return True

    def filter_utts(self) -> None:
        d = self.d
        utt2spk = lines(f"{d}/utt2spk")
        utts = awk_col(utt2spk)
        if self._cmp_sorted(f"{d}/utt2spk", sort_lines(utt2spk)):
            self.con.out("utt2spk is not in sorted order (fix this yourself)")
            raise ScriptExit(1)
        if self._cmp_sorted(f"{d}/utt2spk", sort_k2(utt2spk)):
            self.con.out("utt2spk is not in sorted order when sorted first on speaker-id ")
            self.con.out("(fix this by making speaker-ids prefixes of utt-ids)")
            raise ScriptExit(1)
        if self._cmp_sorted(f"{d}/spk2utt", sort_lines(lines(f"{d}/spk2utt"))):
            self.con.out("spk2utt is not in sorted order (fix this yourself)")
            raise ScriptExit(1)
        if exists(f"{d}/utt2uniq") and self._cmp_sorted(f"{d}/utt2uniq", sort_lines(lines(f"{d}/utt2uniq"))):
            self.con.out("utt2uniq is not in sorted order (fix this yourself)")
            raise ScriptExit(1)

        has_segments = exists(f"{d}/segments")
        maybe_wav = [] if has_segments else ["wav.scp"]
        maybe_reco2dur = ["reco2dur"] if nonempty(f"{d}/reco2dur") and not has_segments else []
        filters: list[tuple[str, list[bytes]]] = []
        for x in ("feats.scp", "text", "segments", "utt2lang", *maybe_wav):
            if exists(f"{d}/{x}"):
                filters.append((x, lines(f"{d}/{x}")))
        for x in ("utt2dur", "utt2num_frames"):
            if exists(f"{d}/{x}"):
                ok = []
                for line in lines(f"{d}/{x}"):
                    f = awk_fields(line)
                    if len(f) == 2 and awk_gt(f[1], 0):
                        ok.append(line)
                filters.append((x + ".ok", ok))
        for _, flt in filters:
            utts = filter_scp(flt, utts)
        if not utts:
            self.con.out("fix_data_dir.sh: no utterances remained: not proceeding further.")
            raise ScriptExit(1)
        old_n = len(lines(f"{d}/utt2spk"))
        if len(utts) != old_n:
            self.con.out(f"fix_data_dir.sh: kept {len(utts)} utterances out of {old_n}")
        else:
            self.con.out(f"fix_data_dir.sh: kept all {old_n} utterances.")
        for x in ("utt2spk", "utt2uniq", "feats.scp", "vad.scp", "text", "segments", "utt2lang", "utt2dur",
                  "utt2num_frames", *maybe_wav, *maybe_reco2dur, *self.utt_extra):
            path = f"{d}/{x}"
            if exists(path):
                shutil.copyfile(path, f"{d}/.backup/{x}")
                cur = lines(path)
                new = filter_scp(utts, cur)
                if join_lines(new) != read_bytes(path):
                    write(path, new)

    def run(self) -> None:
        d = self.d
        os.makedirs(f"{d}/.backup", exist_ok=True)
        if not exists(f"{d}/utt2spk"):
            self.con.out(f"{self.prog}: no such file {d}/utt2spk")
            raise ScriptExit(1)
        for x in (*_SORTED_FILES, *self.utt_extra, *self.spk_extra):
            if exists(f"{d}/{x}"):
                shutil.copyfile(f"{d}/{x}", f"{d}/.backup/{x}")
                self.check_sorted(f"{d}/{x}")
        self.filter_recordings()
        self.filter_speakers()
        self.filter_utts()
        self.filter_speakers()
        self.filter_recordings()
        write(f"{d}/spk2utt", utt2spk_to_spk2utt(lines(f"{d}/utt2spk")))
        self.con.out(f"fix_data_dir.sh: old files are kept in {d}/.backup")


def _pad4(f: list[bytes], order: tuple[int, int, int, int]) -> list[bytes]:
    f = f + [b""] * (4 - len(f)) if len(f) < 4 else f
    return [f[i] for i in order]


def fix(
    data: str,
    *,
    utt_extra_files: Sequence[str] = (),
    spk_extra_files: Sequence[str] = (),
    console: Console | None = None,
    prog: str = "utils/fix_data_dir.sh",
) -> int:
    """Fixes a data directory in place as ``fix_data_dir.sh`` does.

    Args:
        data: the directory (as it should appear in messages).
        utt_extra_files: more utterance-indexed files to filter.
        spk_extra_files: more speaker-indexed files to filter.
        console: receives the messages; default: logged.
        prog: the script name used in the messages.

    Returns:
        The script's exit status (1 when nothing remains or utt2spk cannot be sorted
        consistently by speaker).

    Kaldi: ``utils/fix_data_dir.sh``.
    """
    con = console or Console()
    try:
        _Fixer(data, utt_extra_files, spk_extra_files, con, prog).run()
    except ScriptExit as e:
        return e.status
    except PerlDie as e:
        con.err(e.message)
        return perl_die_status()
    return 0
