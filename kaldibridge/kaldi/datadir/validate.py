"""``utils/validate_data_dir.sh``: every check, in the script's order, with its messages.

Kaldi: ``egs/wsj/s5/utils/validate_data_dir.sh`` and ``utils/validate_text.pl``.
Differences: the non-printable-character check behaves as Kaldi does in a UTF-8 locale
whatever the machine's locale, except that text which is not valid UTF-8 is always
reported (Kaldi's grep silently accepts encoding errors in a UTF-8 locale and rejects
every non-ASCII byte without one).
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata

from kaldibridge.kaldi.datadir._base import (
    Console,
    PerlDie,
    ScriptExit,
    awk_col,
    dec,
    diff_mtime,
    exists,
    fake_tmpdir,
    lines,
    nonempty,
    read_bytes,
    spk2utt_to_utt2spk,
    wc_l,
)
from kaldibridge.kaldi.datadir._text import (
    awk_fields,
    awk_gt,
    awk_looks_numeric,
    awk_num,
    awk_to_number,
    is_sorted_k2,
    join_lines,
    sort_lines,
    uniq,
)

__all__ = ["validate", "count_non_printable_lines"]

_SPACE_CC = set("\t\n\v\f\r")
_ASCII_BAD = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_PERL_UNI_SPACE = re.compile("[\u000b\u000c\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_WORD = rb"A-Za-z0-9_"


def count_non_printable_lines(data: bytes) -> int:
    """Lines of ``data`` that Kaldi's ``grep -c '[^[:print:][:space:]]'`` counts (UTF-8 locale).

    A line that is not valid UTF-8 always counts (see the module's "Differences").
    """
    if data.isascii() and not _ASCII_BAD.search(data):
        return 0
    n = 0
    for raw in data.split(b"\n"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            n += 1
            continue
        if raw.isascii():
            n += bool(_ASCII_BAD.search(raw))
            continue
        for ch in text:
            cat = unicodedata.category(ch)
            if cat in ("Cc", "Cs", "Cn") and ch not in _SPACE_CC:
                n += 1
                break
    return n


class _Validator:
    def __init__(self, data: str, con: Console, prog: str) -> None:
        self.data = data
        self.con = con
        self.prog = prog
        self.tmp = fake_tmpdir()
        self.tmpfiles: dict[str, list[bytes]] = {}

    def say(self, msg: str) -> None:
        self.con.out(f"{self.prog}: {msg}")

    def fail(self, *msgs: str) -> None:
        for m in msgs:
            self.say(m)
        raise ScriptExit(1)

    def check_sorted_and_uniq(self, path: str) -> None:
        raw = read_bytes(path)
        if raw and not raw.endswith(b"\n"):
            nlines = raw.count(b"\n") + 1
            self.con.err(f"file {path} has invalid newline at -e line 1, <> line {nlines}.")
            raise ScriptExit(1)
        keys = awk_col(lines(path))
        if any(a >= b for a, b in zip(keys, keys[1:])):
            self.fail(f"file {path} is not sorted or has duplicates")

    def partial_diff(self, a: str, b: str) -> None:
        la = [dec(x) for x in self.tmpfiles[a]]
        lb = [dec(x) for x in self.tmpfiles[b]]
        pa, pb = f"{self.tmp}/{a}", f"{self.tmp}/{b}"
        mt = diff_mtime()
        diff = list(difflib.unified_diff(la, lb, pa, pb, mt, mt, n=1, lineterm=""))
        for line in diff[:6]:
            self.con.out(line)
        self.con.out("...")
        self.con.out(f"[Lengths are {pa}={len(la)} versus {pb}={len(lb)}]")

    def compare(self, a: str, b: str, what: str) -> None:
        if self.tmpfiles[a] != self.tmpfiles[b]:
            self.say(f"Error: in {self.data}, {what}")
            self.say("differ, partial diff is:")
            self.partial_diff(a, b)
            raise ScriptExit(1)

    def check_r2fc(self, path: str, against: str, what: str) -> None:
        self.check_sorted_and_uniq(path)
        warned = False
        bad = False
        for line in lines(path):
            f = awk_fields(line)
            if len(f) != 3 or f[2] not in (b"A", b"B"):
                if len(f) == 3 and f[2] == b"1":
                    warned = True
                else:
                    self.con.out("Bad line  " + dec(line))
                    bad = True
                    break
        if warned:
            self.con.out("The channel should be marked as A or B, not 1! You should change it ASAP! ")
        if bad:
            self.fail("badly formatted reco2file_and_channel file")
        name = "recordings.r2fc" if against == "recordings" else "utts.r2fc"
        self.tmpfiles[name] = awk_col(lines(path))
        self.compare(against, name, what)

    def run(self, no_feats: bool, no_text: bool, no_wav: bool, no_spk_sort: bool, non_print: bool) -> None:
        d = self.data
        if not os.path.isdir(d):
            self.fail(f"no such directory {d}")
        for f in ("spk2utt", "utt2spk"):
            if not exists(f"{d}/{f}"):
                self.fail(f"no such file {f}")
            if not nonempty(f"{d}/{f}"):
                self.fail(f"empty file {f}")
        for line in lines(f"{d}/utt2spk"):
            if len(awk_fields(line)) != 2:
                self.say(f"{d}/utt2spk has wrong format.")
                raise ScriptExit(0)  # the script's `&& exit` keeps echo's status 0
        if wc_l(f"{d}/spk2utt") == 1:
            self.say("WARNING: you have only one speaker.  This probably a bad idea.")
            self.con.out("   Search for the word 'bold' in http://kaldi-asr.org/doc/data_prep.html")
            self.con.out("   for more information.")

        self.check_sorted_and_uniq(f"{d}/utt2spk")
        utt2spk = lines(f"{d}/utt2spk")
        if not no_spk_sort and not is_sorted_k2(utt2spk):
            self.say("utt2spk is not in sorted order when sorted first on speaker-id ")
            self.con.out("(fix this by making speaker-ids prefixes of utt-ids)")
            raise ScriptExit(1)
        self.check_sorted_and_uniq(f"{d}/spk2utt")
        left = join_lines(b" ".join(awk_fields(x)[:2]) for x in utt2spk)
        try:
            right = join_lines(spk2utt_to_utt2spk(lines(f"{d}/spk2utt")))
        except PerlDie as e:
            self.con.err(e.message)
            right = None
        if left != right:
            self.fail("spk2utt and utt2spk do not seem to match")
        self.tmpfiles["utts"] = awk_col(utt2spk)
        num_utts = len(utt2spk)

        if not exists(f"{d}/text") and not no_text:
            self.fail(f"no such file {d}/text (if this is by design, specify --no-text)")
        if not no_text:
            self.check_text(f"{d}/text", non_print)

        if exists(f"{d}/segments") and not exists(f"{d}/wav.scp"):
            self.fail(f"in directory {d}, segments file exists but no wav.scp")
        if not exists(f"{d}/wav.scp") and not no_wav:
            self.fail(f"no such file {d}/wav.scp (if this is by design, specify --no-wav)")
        if exists(f"{d}/wav.scp"):
            self.check_wav(num_utts)

        if not exists(f"{d}/feats.scp") and not no_feats:
            self.fail(f"no such file {d}/feats.scp (if this is by design, specify --no-feats)")
        if exists(f"{d}/feats.scp"):
            self.check_sorted_and_uniq(f"{d}/feats.scp")
            self.tmpfiles["utts.feats"] = awk_col(lines(f"{d}/feats.scp"))
            self.compare("utts", "utts.feats", "utterance-ids extracted from utt2spk and features")

        if exists(f"{d}/cmvn.scp"):
            self.check_sorted_and_uniq(f"{d}/cmvn.scp")
            self.tmpfiles["speakers.cmvn"] = awk_col(lines(f"{d}/cmvn.scp"))
            self.tmpfiles["speakers"] = awk_col(lines(f"{d}/spk2utt"))
            self.compare("speakers", "speakers.cmvn", "speaker lists extracted from spk2utt and cmvn")

        if exists(f"{d}/spk2gender"):
            self.check_sorted_and_uniq(f"{d}/spk2gender")
            for line in lines(f"{d}/spk2gender"):
                f = awk_fields(line)
                if not (len(f) == 2 and f[1] in (b"m", b"f")):
                    self.fail("Mal-formed spk2gender file")
            self.tmpfiles["speakers.spk2gender"] = awk_col(lines(f"{d}/spk2gender"))
            self.tmpfiles["speakers"] = awk_col(lines(f"{d}/spk2utt"))
            self.compare("speakers", "speakers.spk2gender", "speaker lists extracted from spk2utt and spk2gender")

        for name, ref, kind in (("spk2warp", "speakers", "speaker"), ("utt2warp", "utts", "utterance")):
            path = f"{d}/{name}"
            if not exists(path):
                continue
            self.check_sorted_and_uniq(path)
            for line in lines(path):
                f = awk_fields(line)
                ok = len(f) == 2 and awk_gt(f[1], 0.5) and _awk_lt(f[1], 1.5)
                if not ok:
                    self.con.out(dec(line))
                    self.fail(f"Mal-formed {name} file")
            self.tmpfiles[f"{ref}.{name}"] = awk_col(lines(path))
            if ref == "speakers":
                self.tmpfiles["speakers"] = awk_col(lines(f"{d}/spk2utt"))
                self.compare("speakers", "speakers.spk2warp", "speaker lists extracted from spk2utt and spk2warp")
            else:
                self.tmpfiles["utts"] = awk_col(lines(f"{d}/utt2spk"))
                self.compare("utts", "utts.utt2warp", "utterance lists extracted from utt2spk and utt2warp")

        for name in ("vad.scp", "utt2lang", "utt2uniq"):
            path = f"{d}/{name}"
            if exists(path):
                self.check_sorted_and_uniq(path)
                if awk_col(lines(f"{d}/utt2spk")) != awk_col(lines(path)):
                    self.fail(f"error: in {d}, {name} and utt2spk do not have identical utterance-id list")

        if exists(f"{d}/utt2dur"):
            self.check_sorted_and_uniq(f"{d}/utt2dur")
            self.tmpfiles["utts.utt2dur"] = awk_col(lines(f"{d}/utt2dur"))
            self.compare("utts", "utts.utt2dur", "utterance-ids extracted from utt2spk and utt2dur file")
            for nr, line in enumerate(lines(f"{d}/utt2dur"), 1):
                f = awk_fields(line)
                if len(f) != 2 or not awk_gt(f[1], 0):
                    self.con.out(f"Bad line utt2dur:{nr}:{dec(line)}")
                    raise ScriptExit(1)

        if exists(f"{d}/utt2num_frames"):
            self.check_sorted_and_uniq(f"{d}/utt2num_frames")
            self.tmpfiles["utts.utt2num_frames"] = awk_col(lines(f"{d}/utt2num_frames"))
            self.compare("utts", "utts.utt2num_frames", "utterance-ids extracted from utt2spk and utt2num_frames file")
            for nr, line in enumerate(lines(f"{d}/utt2num_frames"), 1):
                f = awk_fields(line)
                bad = len(f) != 2 or not awk_gt(f[1], 0)
                if not bad:
                    v = awk_to_number(f[1])
                    bad = (v != int(v)) if awk_looks_numeric(f[1]) else f[1] != str(int(v)).encode()
                if bad:
                    self.con.out(f"Bad line utt2num_frames:{nr}:{dec(line)}")
                    raise ScriptExit(1)

        if exists(f"{d}/reco2dur"):
            self.check_sorted_and_uniq(f"{d}/reco2dur")
            self.tmpfiles["recordings.reco2dur"] = awk_col(lines(f"{d}/reco2dur"))
            if "recordings" in self.tmpfiles:
                self.compare("recordings", "recordings.reco2dur", "recording-ids extracted from segments and reco2dur file")
            else:
                self.compare("utts", "recordings.reco2dur", "recording-ids extracted from wav.scp and reco2dur file")
            for line in lines(f"{d}/reco2dur"):
                f = awk_fields(line)
                if len(f) != 2 or not awk_gt(f[1], 0):
                    self.con.out("Bad line : " + dec(line))
                    raise ScriptExit(1)

        self.say(f"Successfully validated data-directory {d}")

    def check_text(self, path: str, non_print: bool) -> None:
        raw = read_bytes(path) if exists(path) else b""
        if not non_print:
            n = count_non_printable_lines(raw)
            if n:
                self.fail(f"text contains {n} lines with non-printable characters")
        self.validate_text(path, raw)
        self.check_sorted_and_uniq(path)
        body = read_bytes(path)
        for sym in (b"<s>", b"</s>", b"#0"):
            pat = re.compile(rb"(?<![" + _WORD + rb"])" + re.escape(sym) + rb"(?![" + _WORD + rb"])")
            if pat.search(body):
                self.fail(f"Error: in {self.data}, text contains illegal symbol {sym.decode()}")
        self.tmpfiles["utts.txt"] = awk_col(lines(path))
        self.compare("utts", "utts.txt", "utterance lists extracted from utt2spk and text")

    def validate_text(self, path: str, raw: bytes) -> None:
        prog = "utils/validate_text.pl"
        if not raw:
            self.con.err(f"{prog}: ERROR: file '{path}' is empty or does not exist")
            raise ScriptExit(1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return  # not UTF-8: validate_text.pl skips its checks
        parts = text.split("\n")
        if parts[-1] == "":
            parts.pop()
            body = [p + "\n" for p in parts]
        else:
            body = [p + "\n" for p in parts[:-1]] + [parts[-1]]
        for i, line in enumerate(body):
            problem = None
            if not line.endswith("\n"):
                problem = f"The current line (nr. {i}) has invalid newline"
            else:
                utt = line.split()[0] if line.split() else ""
                if "\r" in line:
                    problem = f"The line for utterance {utt} contains CR (0x0D) character"
                elif _PERL_UNI_SPACE.search(line):
                    problem = f"The line for utterance {utt} contains disallowed Unicode whitespaces"
            if problem:
                self.con.err(f"{prog}: {problem}")
                self.con.err(f"{prog}: ERROR: text file '{path}' contains disallowed UTF-8 whitespace character(s)")
                raise ScriptExit(1)

    def check_wav(self, num_utts: int) -> None:
        d = self.data
        self.check_sorted_and_uniq(f"{d}/wav.scp")
        if re.search(rb"(?m)^\S+[^\S\n]+~", read_bytes(f"{d}/wav.scp")):
            self.fail("Please do not use tilde (~) in your wav.scp.")
        if exists(f"{d}/segments"):
            self.check_sorted_and_uniq(f"{d}/segments")
            for line in lines(f"{d}/segments"):
                f = awk_fields(line)
                if len(f) != 4 or not _awk_gt_field(f[3], f[2]):
                    self.con.out("Bad line in segments file " + dec(line))
                    self.fail("badly formatted segments file")
            seg_lines = lines(f"{d}/segments")
            if exists(f"{d}/text") and self.tmpfiles["utts"] != awk_col(seg_lines):
                self.say(f"Utterance list differs between {d}/utt2spk and {d}/segments ")
                self.say(f"Lengths are {len(seg_lines)} vs {num_utts}")
                raise ScriptExit(1)
            self.tmpfiles["recordings"] = uniq(sort_lines(awk_col(seg_lines, 2)))
            self.tmpfiles["recordings.wav"] = awk_col(lines(f"{d}/wav.scp"))
            self.compare("recordings", "recordings.wav", "recording-ids extracted from segments and wav.scp")
            if exists(f"{d}/reco2file_and_channel"):
                self.check_r2fc(
                    f"{d}/reco2file_and_channel", "recordings",
                    "recording-ids extracted from segments and reco2file_and_channel",
                )
        else:
            self.tmpfiles["utts.wav"] = awk_col(lines(f"{d}/wav.scp"))
            self.compare("utts", "utts.wav", "utterance lists extracted from utt2spk and wav.scp")
            if exists(f"{d}/reco2file_and_channel"):
                self.check_r2fc(
                    f"{d}/reco2file_and_channel", "utts",
                    "utterance-ids extracted from segments and reco2file_and_channel",
                )


def _awk_lt(field: bytes, const: float) -> bool:
    if awk_looks_numeric(field):
        return awk_to_number(field) < const
    return field < awk_num(const).encode()


def _awk_gt_field(a: bytes, b: bytes) -> bool:
    """``$a > $b`` between two input fields (numeric when both look numeric)."""
    if awk_looks_numeric(a) and awk_looks_numeric(b):
        return awk_to_number(a) > awk_to_number(b)
    return a > b


def validate(
    data: str,
    *,
    no_feats: bool = False,
    no_text: bool = False,
    no_wav: bool = False,
    no_spk_sort: bool = False,
    non_print: bool = False,
    console: Console | None = None,
    prog: str = "utils/validate_data_dir.sh",
) -> int:
    """Runs the checks of ``validate_data_dir.sh`` on a data directory.

    Args:
        data: the directory, as a path string (it appears in the messages as given).
        no_feats: do not require feats.scp (still checked if present).
        no_text: skip every check of text.
        no_wav: do not require wav.scp.
        no_spk_sort: do not require utt2spk to be sorted by speaker too.
        non_print: skip the non-printable-character check of text.
        console: receives the messages; default: logged.
        prog: the script name used in the messages.

    Returns:
        The script's exit status: 0 valid, 1 invalid (and 0 for a malformed utt2spk,
        as the real script does).

    Kaldi: ``utils/validate_data_dir.sh``.
    """
    con = console or Console()
    v = _Validator(data, con, prog)
    try:
        v.run(no_feats, no_text, no_wav, no_spk_sort, non_print)
    except ScriptExit as e:
        return e.status
    return 0
