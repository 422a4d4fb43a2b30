"""Unit and property tests of the script-exact data-directory operations."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from kaldibridge.kaldi.datadir import (
    Console,
    combine,
    copy,
    filter_scp,
    fix,
    get_reco2dur,
    get_utt2dur,
    get_utt2num_frames,
    perturb_speed,
    spk2utt_to_utt2spk,
    split,
    split_scp_per_line,
    split_scp_per_speaker,
    subset,
    utt2spk_to_spk2utt,
    validate,
)
from kaldibridge.kaldi.datadir._base import PerlDie
from kaldibridge.kaldi.datadir._text import (
    awk_fields,
    awk_num,
    cmp_first_difference,
    is_sorted_k2,
    perl_fields,
    sort_k2,
    sort_key1_unique,
    sort_numeric_k2,
)
from kaldibridge.kaldi.datadir.ops import perl_drand48, shuffle_list, subset_scp_select
from kaldibridge.kaldi.datadir.perturb import speed_wav_entry

EXAMPLES = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))


def _w(path: Path, text: str) -> None:
    path.write_bytes(text.encode())


def _r(path: Path) -> str:
    return path.read_bytes().decode()


def _make(d: Path, files: dict[str, str]) -> str:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        _w(d / name, text)
    return str(d)


PLAIN = {
    "utt2spk": "a-1 a\na-2 a\nb-1 b\nb-2 b\nc-1 c\n",
    "spk2utt": "a a-1 a-2\nb b-1 b-2\nc c-1\n",
    "text": "a-1 HELLO\na-2 WORLD\nb-1 FOO BAR\nb-2 BAZ\nc-1 QUX\n",
    "wav.scp": "a-1 a1.wav\na-2 a2.wav\nb-1 b1.wav\nb-2 b2.wav\nc-1 c1.wav\n",
}


# ----------------------------------------------------------------------- text tools


def test_sort_key1_unique_keeps_first_duplicate_and_c_order() -> None:
    lines = [b"b x", b"a second", b"B upper", b"a third"]
    assert sort_key1_unique(lines) == [b"B upper", b"a second", b"b x"]


def test_sort_k2_orders_by_speaker_then_line() -> None:
    lines = [b"u1 spkB", b"u2 spkA", b"u0 spkB"]
    assert sort_k2(lines) == [b"u2 spkA", b"u0 spkB", b"u1 spkB"]
    assert not is_sorted_k2(lines)
    assert is_sorted_k2([b"a-1 a", b"a-2 a", b"b-1 b"])


def test_sort_numeric_k2() -> None:
    assert sort_numeric_k2([b"x 10", b"y 9", b"z 9.5", b"w 9"]) == [b"w 9", b"y 9", b"z 9.5", b"x 10"]


def test_awk_and_perl_fields_differ_on_cr() -> None:
    assert awk_fields(b"a  b\r") == [b"a", b"b\r"]
    assert perl_fields(b"a  b\r") == [b"a", b"b"]


def test_awk_num_prints_like_awk() -> None:
    assert [awk_num(x) for x in (900.0, 2.1, 1 / 3, 7.0184333, 1e-7)] == ["900", "2.1", "0.333333", "7.01843", "1e-07"]


def test_cmp_first_difference() -> None:
    assert cmp_first_difference(b"abc\ndef\n", b"abc\ndxf\n") == (6, 2)
    assert cmp_first_difference(b"same", b"same") is None


def test_perl_rand_matches_perl_srand0() -> None:
    # values printed by `perl -e 'srand(0); print rand()'` (perl 5.36, drand48)
    got = ["%.15g" % x for x in perl_drand48(0, 4)]
    assert got == ["0.17082803610629", "0.749901980484964", "0.0963716556235674", "0.870465227027076"]


def test_shuffle_list_sorts_by_rand_string() -> None:
    # the strings above sort as 0.0963..., 0.1708..., 0.7499..., 0.8704...
    assert shuffle_list([b"w", b"x", b"y", b"z"]) == [b"y", b"w", b"x", b"z"]


# ----------------------------------------------------------------------- perl helpers


def test_utt2spk_to_spk2utt_first_appearance_order() -> None:
    assert utt2spk_to_spk2utt([b"u1 B", b"u2 A", b"u3 B"]) == [b"B u1 u3", b"A u2"]
    with pytest.raises(PerlDie, match="Invalid line in utt2spk file"):
        utt2spk_to_spk2utt([b"u1 A extra"])


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=40, unique_by=lambda t: t[0]))
def test_utt2spk_spk2utt_round_trip(pairs: list[tuple[int, int]]) -> None:
    utt2spk = [b"u%d s%d" % p for p in pairs]
    back = spk2utt_to_utt2spk(utt2spk_to_spk2utt(utt2spk))
    # same lines, grouped by speaker in order of first appearance, stable within a speaker
    assert sorted(back) == sorted(utt2spk)
    order = list(dict.fromkeys(p[1] for p in pairs))
    assert back == [b"u%d s%d" % p for s in order for p in pairs if p[1] == s]
    # a grouped utt2spk is a fixed point
    assert spk2utt_to_utt2spk(utt2spk_to_spk2utt(back)) == back


def test_filter_scp_include_exclude_field() -> None:
    ids = [b"a extra", b"c"]
    lines = [b"a 1", b"b 2", b"c 3"]
    assert filter_scp(ids, lines) == [b"a 1", b"c 3"]
    assert filter_scp(ids, lines, exclude=True) == [b"b 2"]
    assert filter_scp([b"x"], [b"u1 x", b"u2 y"], field=2) == [b"u1 x"]


# ----------------------------------------------------------------------- subset / split


def test_subset_scp_select_spreads_by_halving() -> None:
    items = [b"%d" % i for i in range(6)]
    assert subset_scp_select(items, 4) == [b"0", b"2", b"3", b"5"]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 60), st.data())
def test_subset_scp_select_properties(n_items: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, n_items))
    items = [b"%03d" % i for i in range(n_items)]
    sel = subset_scp_select(items, n)
    assert len(sel) == n
    assert sel == sorted(sel)  # input order kept, no repeats
    assert len(set(sel)) == n


def test_split_per_speaker_balances_like_split_scp() -> None:
    lines = [b"a-1 a", b"a-2 a", b"b-1 b", b"b-2 b", b"c-1 c", b"c-2 c"]
    # speakers dealt by int(i*2/3): a, b -> 1; c -> 2; no move reduces the imbalance
    assert split_scp_per_speaker(lines, lines, 2) == [lines[:4], lines[4:]]
    lines = [b"a-%d a" % k for k in range(5)] + [b"b-1 b", b"c-1 c", b"d-1 d"]
    # dealt by int(i*2/4): a, b -> 1 (6 lines), c, d -> 2 (2 lines); moving b makes it 5/3
    assert split_scp_per_speaker(lines, lines, 2) == [lines[:5], lines[5:]]
    # a move must strictly reduce the difference: 1+3 vs 1 stays as dealt
    lines = [b"a-1 a", b"b-1 b", b"b-2 b", b"b-3 b", b"c-1 c"]
    assert split_scp_per_speaker(lines, lines, 2) == [lines[:4], lines[4:]]
    with pytest.raises(PerlDie, match="Refusing to split data because number of speakers 3"):
        split_scp_per_speaker(lines, lines, 4)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=12), st.data())
def test_split_per_speaker_partition(counts: list[int], data: st.DataObject) -> None:
    num = data.draw(st.integers(1, len(counts)))
    lines = [b"s%02d-%d s%02d" % (s, k, s) for s, c in enumerate(counts) for k in range(c)]
    pieces = split_scp_per_speaker(lines, lines, num)
    assert len(pieces) == num
    assert sorted(x for p in pieces for x in p) == sorted(lines)
    owner = {}
    for j, p in enumerate(pieces):
        for x in p:
            owner.setdefault(x.split()[1], set()).add(j)
    assert all(len(v) == 1 for v in owner.values())
    # speakers stay in their order across pieces (contiguous dealing)
    firsts = [min(owner[x.split()[1]]) for x in lines]
    assert firsts == sorted(firsts)
    assert pieces == split_scp_per_speaker(lines, lines, num)  # deterministic


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 50), st.data())
def test_split_per_line_blocks(n: int, data: st.DataObject) -> None:
    num = data.draw(st.integers(1, n))
    lines = [b"%d" % i for i in range(n)]
    pieces = split_scp_per_line(lines, num)
    assert [x for p in pieces for x in p] == lines
    sizes = [len(p) for p in pieces]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    with pytest.raises(PerlDie, match="too many pieces"):
        split_scp_per_line(lines, n + 1)


def test_split_writes_pieces_and_speaker_files(tmp_path: Path) -> None:
    d = _make(tmp_path / "d", {**PLAIN, "spk2gender": "a m\nb f\nc m\n"})
    con = Console()
    assert split(d, 2, console=con) == 0
    # dealt a, b | c (4 vs 1 lines); moving b to the second piece makes it 2 vs 3
    assert _r(tmp_path / "d/split2/1/utt2spk") == "a-1 a\na-2 a\n"
    assert _r(tmp_path / "d/split2/2/spk2gender") == "b f\nc m\n"
    assert _r(tmp_path / "d/split2/2/wav.scp") == "b-1 b1.wav\nb-2 b2.wav\nc-1 c1.wav\n"
    assert split(d, 4, console=con) == 1
    assert "Refusing to split data because number of speakers 3" in con.stderr[-1]
    assert split(d, 4, per_utt=True, console=con) == 0
    assert _r(tmp_path / "d/split4utt/1/text") == "a-1 HELLO\na-2 WORLD\n"
    assert _r(tmp_path / "d/split4utt/4/text") == "c-1 QUX\n"


def test_subset_modes(tmp_path: Path) -> None:
    d = _make(tmp_path / "d", PLAIN)
    con = Console()
    assert subset(d, str(tmp_path / "f"), 2, mode="first", console=con) == 0
    assert _r(tmp_path / "f/utt2spk") == "a-1 a\na-2 a\n"
    assert _r(tmp_path / "f/spk2utt") == "a a-1 a-2\n"
    assert con.stdout[-1] == "utils/subset_data_dir.sh: reducing #utt from 5 to 2"
    assert subset(d, str(tmp_path / "l"), 1, mode="last", console=con) == 0
    assert _r(tmp_path / "l/wav.scp") == "c-1 c1.wav\n"
    assert subset(d, str(tmp_path / "p"), 1, mode="per-spk", console=con) == 0
    assert _r(tmp_path / "p/spk2utt") == "a a-1 \nb b-1 \nc c-1 \n"
    _w(tmp_path / "list", "b-2\nzzz\na-1 ignored\n")
    assert subset(d, str(tmp_path / "u"), utt_list=str(tmp_path / "list"), console=con) == 0
    assert _r(tmp_path / "u/text") == "a-1 HELLO\nb-2 BAZ\n"
    assert subset(d, str(tmp_path / "x"), 9, mode="first", console=con) == 1
    assert con.stdout[-1].endswith("cannot subset to more utterances than you originally had.")
    assert not (tmp_path / "x").exists()


# ----------------------------------------------------------------------- validate


@pytest.mark.parametrize(
    "change, message",
    [
        ({"text": None}, "no such file {d}/text (if this is by design, specify --no-text)"),
        ({"utt2spk": "b-1 b\na-1 a\n"}, "file {d}/utt2spk is not sorted or has duplicates"),
        ({"spk2utt": "a a-1\nb b-1 b-2\nc c-1\n"}, "spk2utt and utt2spk do not seem to match"),
        ({"text": PLAIN["text"] + "c-1 AGAIN\n"}, "file {d}/text is not sorted or has duplicates"),
        ({"text": PLAIN["text"].replace("QUX", "<s> QUX")}, "Error: in {d}, text contains illegal symbol <s>"),
        ({"wav.scp": PLAIN["wav.scp"].replace("a1.wav", "~/a1.wav")}, "Please do not use tilde (~) in your wav.scp."),
        ({"spk2gender": "a m\nb x\nc f\n"}, "Mal-formed spk2gender file"),
        ({"text": PLAIN["text"].replace("QUX", "Q\x01X")}, "text contains 1 lines with non-printable characters"),
    ],
)
def test_validate_rules(tmp_path: Path, change: dict, message: str) -> None:
    files = dict(PLAIN)
    for k, v in change.items():
        if v is None:
            files.pop(k)
        else:
            files[k] = v
    d = _make(tmp_path / "d", files)
    con = Console()
    assert validate(d, no_feats=True, console=con) == 1
    assert con.stdout[-1] == "utils/validate_data_dir.sh: " + message.format(d=d)


def test_validate_success_and_partial_diff(tmp_path: Path) -> None:
    d = _make(tmp_path / "d", PLAIN)
    con = Console()
    assert validate(d, no_feats=True, console=con) == 0
    assert con.stdout == [f"utils/validate_data_dir.sh: Successfully validated data-directory {d}"]
    assert validate(d, console=con) == 1
    _w(tmp_path / "d/text", PLAIN["text"].replace("b-1 FOO BAR\n", ""))
    con = Console()
    assert validate(d, no_feats=True, console=con) == 1
    assert con.stdout[2].startswith("--- /tmp/kaldi.") and con.stdout[2].split("\t")[0].endswith("/utts")
    assert con.stdout[4:9] == ["@@ -2,3 +2,2 @@", " a-2", "-b-1", " b-2", "..."]
    assert con.stdout[9].endswith("/utts.txt=4]") and "/utts=5 versus" in con.stdout[9]
    assert validate(d, no_feats=True, no_text=True, console=Console()) == 0


def test_validate_segments_and_utf8(tmp_path: Path) -> None:
    files = {
        "utt2spk": "s-r1-1 s\ns-r1-2 s\n",
        "spk2utt": "s s-r1-1 s-r1-2\n",
        "text": "s-r1-1 CAFÉ\ns-r1-2 NAÏVE\n",
        "wav.scp": "r1 r1.wav\n",
        "segments": "s-r1-1 r1 0.0 1.5\ns-r1-2 r1 1.5 1.2\n",
    }
    d = _make(tmp_path / "d", files)
    con = Console()
    assert validate(d, no_feats=True, console=con) == 1
    assert con.stdout[-2:] == ["Bad line in segments file s-r1-2 r1 1.5 1.2",
                               "utils/validate_data_dir.sh: badly formatted segments file"]
    _w(tmp_path / "d/segments", "s-r1-1 r1 0.0 1.5\ns-r1-2 r1 1.5 3\n")
    assert validate(d, no_feats=True, console=Console()) == 0  # valid UTF-8 is printable
    (tmp_path / "d/text").write_bytes(b"s-r1-1 CAF\xc9\ns-r1-2 OK\n")
    con = Console()
    assert validate(d, no_feats=True, console=con) == 1  # invalid UTF-8 always reported
    assert validate(d, no_feats=True, non_print=True, console=Console()) == 0


# ----------------------------------------------------------------------- fix


def test_fix_sorts_dedups_filters_and_backs_up(tmp_path: Path) -> None:
    files = dict(PLAIN)
    files["text"] = "b-1 FOO\na-1 HELLO\na-1 DUP\na-2 WORLD\nc-1 QUX\nzz-9 EXTRA\n"  # b-2 missing
    files["utt2spk"] = "b-2 b\na-1 a\na-2 a\nb-1 b\nc-1 c\n"
    files["spk2gender"] = "a m\nb f\n"  # c missing: speaker c is dropped
    d = _make(tmp_path / "d", files)
    con = Console()
    assert fix(d, console=con) == 0
    assert _r(tmp_path / "d/utt2spk") == "a-1 a\na-2 a\nb-1 b\n"
    assert _r(tmp_path / "d/text") == "a-1 HELLO\na-2 WORLD\nb-1 FOO\n"
    assert _r(tmp_path / "d/spk2utt") == "a a-1 a-2\nb b-1\n"
    assert _r(tmp_path / "d/wav.scp") == "a-1 a1.wav\na-2 a2.wav\nb-1 b1.wav\n"
    assert (tmp_path / "d/.backup/text").is_file()
    assert f"utils/fix_data_dir.sh: file {d}/utt2spk is not in sorted order or not unique, sorting it" in con.stdout
    assert "fix_data_dir.sh: kept 3 utterances out of 4" in con.stdout
    assert con.stdout[-1] == f"fix_data_dir.sh: old files are kept in {d}/.backup"
    assert validate(d, no_feats=True, console=Console()) == 0


def test_fix_nothing_left_and_interleaved_speakers(tmp_path: Path) -> None:
    d = _make(tmp_path / "e", {**PLAIN, "wav.scp": ""})
    con = Console()
    assert fix(d, console=con) == 1
    assert con.stdout[-1] == "fix_data_dir.sh: no utterances remained: not proceeding further."
    d = _make(tmp_path / "i", {"utt2spk": "u1 B\nu2 A\n", "spk2utt": "A u2\nB u1\n", "text": "u1 X\nu2 Y\n"})
    con = Console()
    assert fix(d, console=con) == 1  # u1 B, u2 A: sorted by utterance but not by speaker
    assert con.stdout[-3:] == [f"- {d}/utt2spk differ: char 2, line 1",
                               "utt2spk is not in sorted order when sorted first on speaker-id ",
                               "(fix this by making speaker-ids prefixes of utt-ids)"]


@settings(max_examples=max(20, EXAMPLES // 10), deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 9), st.booleans()), min_size=1, max_size=15))
def test_fix_is_idempotent_and_validates(tmp_path_factory: pytest.TempPathFactory,
                                         spec: list[tuple[str, int, bool]]) -> None:
    d = tmp_path_factory.mktemp("fx")
    utt = [f"{s}-{n}" for s, n, _ in spec]
    _w(d / "utt2spk", "".join(f"{u} {u[0]}\n" for u in utt))
    _w(d / "text", "".join(f"{u} T\n" for (s, n, keep), u in zip(spec, utt) if keep))
    _w(d / "spk2utt", "")
    if fix(str(d), console=Console()) != 0:
        assert not any(keep for _, _, keep in spec)
        return
    first = {f: _r(d / f) for f in ("utt2spk", "spk2utt", "text")}
    assert validate(str(d), no_feats=True, no_wav=True, console=Console()) == 0
    assert fix(str(d), console=Console()) == 0
    assert {f: _r(d / f) for f in ("utt2spk", "spk2utt", "text")} == first


# ----------------------------------------------------------------------- combine / copy


def test_combine_then_fix_removes_duplicates(tmp_path: Path) -> None:
    a = _make(tmp_path / "a", PLAIN)
    b = _make(tmp_path / "b", {k: v.replace("a", "z") for k, v in PLAIN.items()})
    con = Console()
    assert combine(str(tmp_path / "ab"), [a, b, a], console=con) == 0
    text = _r(tmp_path / "ab/text")
    assert text.count("a-1 HELLO") == 1 and "z-1 HELLO" in text
    assert validate(str(tmp_path / "ab"), no_feats=True, console=Console()) == 0
    assert "utils/combine_data.sh: combined text" in con.stdout
    assert "utils/combine_data.sh [info]: not combining feats.scp as it does not exist" in con.stdout


def test_subset_combine_inverse(tmp_path: Path) -> None:
    d = _make(tmp_path / "d", {**PLAIN, "spk2gender": "a m\nb f\nc m\n"})
    _w(tmp_path / "l1", "a-1\nb-2\n")
    _w(tmp_path / "l2", "a-2\nb-1\nc-1\n")
    assert subset(d, str(tmp_path / "s1"), utt_list=str(tmp_path / "l1"), console=Console()) == 0
    assert subset(d, str(tmp_path / "s2"), utt_list=str(tmp_path / "l2"), console=Console()) == 0
    assert combine(str(tmp_path / "c"), [str(tmp_path / "s2"), str(tmp_path / "s1")], console=Console()) == 0
    for f in ("utt2spk", "spk2utt", "text", "wav.scp", "spk2gender"):
        assert _r(tmp_path / "c" / f) == _r(tmp_path / "d" / f), f


def test_copy_with_prefixes(tmp_path: Path) -> None:
    d = _make(tmp_path / "d", {**PLAIN, "spk2gender": "a m\nb f\nc m\n"})
    con = Console()
    assert copy(d, str(tmp_path / "c"), utt_prefix="x-", spk_prefix="x-", console=con) == 0
    assert _r(tmp_path / "c/utt2spk").splitlines()[0] == "x-a-1 x-a"
    assert _r(tmp_path / "c/spk2gender").splitlines()[1] == "x-b f"
    assert _r(tmp_path / "c/.backup/utt2uniq").splitlines()[0] == "x-a-1 a-1"
    assert con.stdout[-1].endswith("Successfully validated data-directory " + str(tmp_path / "c"))


# ----------------------------------------------------------------------- perturb / durations


def test_speed_wav_entry_forms() -> None:
    assert speed_wav_entry(b"sp0.9-u", [b"a.wav"], "0.9") == b"sp0.9-u sox -t wav a.wav -t wav - speed 0.9 |"
    assert (speed_wav_entry(b"k", [b"sox", b"b.wav", b"-t", b"wav", b"-", b"|"], "1.1")
            == b"k sox b.wav -t wav - | sox -t wav - -t wav - speed 1.1 |")
    assert speed_wav_entry(b"k", [b"x.ark:123"], "0.9") == b"k wav-copy x.ark:123 - | sox -t wav - -t wav - speed 0.9 |"


def _wav(path: Path, n: int, rate: int = 16000, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(-20000, 20000, size=(n, channels), dtype=np.int16)
    soundfile.write(str(path), x, rate, subtype="PCM_16")
    return x


def test_durations_from_segments_frames_and_wavs(tmp_path: Path) -> None:
    d = tmp_path / "seg"
    _make(d, {"utt2spk": "u1 s\nu2 s\n", "segments": "u1 r 0.10 1.33\nu2 r 2 3.5\n"})
    assert get_utt2dur(str(d), console=Console()) == 0
    assert _r(d / "utt2dur") == "u1 1.23\nu2 1.5\n"
    d = tmp_path / "nf"
    _make(d, {"utt2spk": "u1 s\n", "utt2num_frames": "u1 100\n", "frame_shift": "0.01\n"})
    assert get_utt2dur(str(d), console=Console()) == 0
    assert _r(d / "utt2dur") == "u1 1.015\n"
    d = tmp_path / "w"
    d.mkdir()
    _wav(d / "a.wav", 16000 + 7)
    _wav(d / "b.wav", 8000)
    _make(d, {"utt2spk": "a s\nb s\n", "wav.scp": f"a {d}/a.wav\nb cat {d}/b.wav |\n"})
    con = Console()
    assert get_utt2dur(str(d), nj=2, console=con) == 0
    assert _r(d / "utt2dur") == "a %.7g \nb 0.5 \n" % float(np.float32(16007) / np.float32(16000))
    assert (d / "split2utt/2/utt2dur").is_file() and (d / "log/get_durations.1.log").is_file()
    assert get_reco2dur(str(d), console=Console()) == 0
    assert _r(d / "reco2dur") == _r(d / "utt2dur")
    assert get_utt2num_frames(str(d), console=Console()) == 0
    assert _r(d / "utt2num_frames") == "a 98\nb 48\n"


def test_perturb_speed_rewrites_ids_and_times(tmp_path: Path) -> None:
    src = _make(tmp_path / "s", {
        "utt2spk": "s-1 s\ns-2 s\n", "spk2utt": "s s-1 s-2\n", "wav.scp": "r a.wav\n",
        "segments": "s-1 r 0.00 1.00\ns-2 r 1.00 1.005\n", "text": "s-1 A\ns-2 B\n",
        "utt2dur": "s-1 1\ns-2 0.005\n", "reco2dur": "r 2\n",
    })
    con = Console()
    assert perturb_speed("0.9", src, str(tmp_path / "o"), console=con) == 0
    assert _r(tmp_path / "o/segments") == "sp0.9-s-1 sp0.9-r 0.00 1.11\n"  # the 5 ms segment is dropped
    assert _r(tmp_path / "o/wav.scp") == "sp0.9-r sox -t wav a.wav -t wav - speed 0.9 |\n"
    assert _r(tmp_path / "o/reco2dur") == "sp0.9-r 2.22222\n"
    assert _r(tmp_path / "o/utt2uniq") == "sp0.9-s-1 s-1\n"
    assert _r(tmp_path / "o/spk2utt") == "sp0.9-s sp0.9-s-1\n"
