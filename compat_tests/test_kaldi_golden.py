"""Run every case of ``../shared/golden/kaldi/manifest.json`` through kaldibridge's tools.

Each case is the real Kaldi command (tool + argv) with ``{out}`` replaced by a temporary
folder, run as ``python -m kaldibridge TOOL ARGV...`` from the golden root. Outputs are
compared with what the real Kaldi binary wrote:

* binary archives are parsed entry by entry (keys in order, holder types, shapes);
  float values within ``rtol=RTOL, atol=ATOL`` (the golden README: float32 rounding
  only), compressed matrices, integer vectors and WAV bytes exactly;
* text outputs (``ark,t``, scalar tables, stdout) token by token, numbers with the same
  tolerance, ``.scp`` files after mapping the output folder;
* the exit status, and every ``WARNING``/``ERROR`` message Kaldi printed must also be
  printed by kaldibridge (same kind, same text, optionally followed by added context;
  line numbers and source files differ; messages about C++ exception plumbing are ignored).

Deliberate deviations from Kaldi are listed in ``DEVIATIONS`` with the reason and what is
checked instead; the README lists them for users. Cases whose tool kaldibridge does not
provide yet are skipped, naming the tool and the issue that adds it.

The parsers here are deliberately independent of ``kaldibridge.kaldi.table`` (small numpy
readers written from the golden README's format description), so a bug in the table
library cannot hide itself.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", ROOT.parent / "shared" / "golden")).resolve()
MANIFEST = GOLDEN / "kaldi" / "manifest.json"

#: Float tolerances. The golden README suggests "a relative tolerance of about 1e-4 plus an
#: absolute floor of about 1e-4"; the issues accept 1e-3 abs + 1e-3 rel per element. Both are
#: enforced: every value within the issues' bound, and at least 99% of the values of each
#: matrix within the README's (float32 rounding in resampling filters can push a few
#: isolated values just past 1e-4).
RTOL = 1e-4
ATOL = 1e-4
RTOL_MAX = 1e-3
ATOL_MAX = 1e-3
MAX_FRACTION_BEYOND_README = 0.01

PITCH_TOOLS = {"compute-kaldi-pitch-feats", "process-kaldi-pitch-feats", "compute-and-process-kaldi-pitch-feats"}
PITCH_CASES_PASTE = {"mfcc_pitch_paste", "mfcc_pitch_paste_nonoise"}
#: Pitch is a Viterbi search: a tiny numeric difference can switch the lag on an ambiguous
#: frame (README). Allow this fraction of frames to differ; everything else must match.
PITCH_MAX_BAD_FRAMES = 0.02

#: Tools and the issue that provides them, for the skip message of missing tools.
ISSUE_OF_TOOL = {
    **{t: 4 for t in ("compute-fbank-feats", "compute-mfcc-feats", "compute-spectrogram-feats", "compute-plp-feats")},
    **{t: 5 for t in PITCH_TOOLS},
}

_LOG_LINE = re.compile(r"^(LOG|WARNING|ERROR|ASSERTION_FAILED|VLOG\[\d+\]) \(([^()\[]*\[[^\]]*\]:[^()]*\(\):[^:]*:\d+)\) ?(.*)$")

#: Messages that only describe C++ internals (exception plumbing), not the problem.
_INTERNAL_MESSAGES = re.compile(r"^Exception caught in \w+::\w+\(\)\. kaldi::KaldiFatalError$")


@dataclass(frozen=True)
class Deviation:
    """A case where kaldibridge deliberately does better than Kaldi."""

    reason: str
    exit_code: int
    #: key of an input utterance that Kaldi chokes on and kaldibridge skips with a warning
    skipped_key: str | None = None
    #: kaldibridge writes every input key (Kaldi stopped early)
    all_keys_from: str | None = None
    #: the input archive whose keys (less ``skipped_key``) kaldibridge must write
    input_ark: str | None = None


DEVIATIONS: dict[str, Deviation] = {
    "err_pcm24_wav": Deviation(
        "Kaldi refuses 24-bit PCM; kaldibridge reads it (scaled to int16 range) as a documented superset, "
        "so every utterance gets features and the tool succeeds; the utterances Kaldi wrote are identical.",
        exit_code=0,
        all_keys_from="kaldi/err_pcm24_wav/wav.scp",
    ),
    "cmvn_stats_edge": Deviation(
        "Kaldi aborts on an assertion at the empty (0x0) matrix and loses its buffered output; kaldibridge "
        "warns, skips that utterance and writes the stats of the others (issue #6).",
        exit_code=0,
        skipped_key="edge-short300",
        input_ark="kaldi/fbank_edge/out.ark",
    ),
    "splice_edge": Deviation(
        "Kaldi dies at the empty (0x0) matrix; kaldibridge warns, skips it and splices the rest (issue #6).",
        exit_code=0,
        skipped_key="edge-short300",
        input_ark="kaldi/fbank_edge/out.ark",
    ),
}


def load_manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text())


CASES = load_manifest() if MANIFEST.exists() else []


# -- parsing Kaldi outputs (independent of the library) --------------------------------

@dataclass
class Entry:
    key: str
    kind: str  # FM DM FV DV CM CM2 CM3 IV WAV HTK TEXT
    value: object  # ndarray, bytes


def _read_token(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b" ", pos)
    return buf[pos:end].decode(), end + 1


def _parse_binary_value(buf: bytes, pos: int) -> tuple[str, object, int]:
    if buf[pos:pos + 4] == b"RIFF":
        size = struct.unpack_from("<I", buf, pos + 4)[0] + 8
        return "WAV", buf[pos:pos + size], pos + size
    if buf[pos:pos + 2] != b"\0B":
        raise ValueError(f"expected binary marker at byte {pos}")
    pos += 2
    if buf[pos] == 4:  # int32 vector: <4><size> then <4><v> per element
        size = struct.unpack_from("<i", buf, pos + 1)[0]
        raw = np.frombuffer(buf, dtype=np.uint8, count=size * 5, offset=pos + 5).reshape(size, 5)
        values = raw[:, 1:].copy().view("<i4").reshape(size)
        return "IV", values, pos + 5 + size * 5
    token, pos = _read_token(buf, pos)
    if token in ("FM", "DM"):
        rows, cols = struct.unpack_from("<xixi", buf, pos)
        dtype = "<f4" if token == "FM" else "<f8"
        n = rows * cols
        data = np.frombuffer(buf, dtype=dtype, count=n, offset=pos + 10).reshape(rows, cols)
        return token, data, pos + 10 + n * data.itemsize
    if token in ("FV", "DV"):
        (dim,) = struct.unpack_from("<xi", buf, pos)
        dtype = "<f4" if token == "FV" else "<f8"
        data = np.frombuffer(buf, dtype=dtype, count=dim, offset=pos + 5)
        return token, data, pos + 5 + dim * data.itemsize
    if token in ("CM", "CM2", "CM3"):
        _, _, rows, cols = struct.unpack_from("<ffii", buf, pos)
        if token == "CM":
            size = 16 + cols * 8 + rows * cols
        elif token == "CM2":
            size = 16 + 2 * rows * cols
        else:
            size = 16 + rows * cols
        return token, buf[pos:pos + size], pos + size
    raise ValueError(f"unknown binary token {token!r}")


def _parse_htk(buf: bytes, pos: int) -> tuple[str, object, int]:
    n, _period, samp_size, _kind = struct.unpack_from(">iihH", buf, pos)
    count = n * samp_size // 4
    data = np.frombuffer(buf, dtype=">f4", count=count, offset=pos + 12).reshape(n, samp_size // 4)
    return "HTK", data, pos + 12 + count * 4


def parse_binary(buf: bytes, htk: bool = False) -> list[Entry]:
    """Parse a binary archive, or a single binary object (key ``""``)."""
    if buf.startswith(b"\0B") or buf.startswith(b"RIFF"):
        kind, value, _ = _parse_binary_value(buf, 0)
        return [Entry("", kind, value)]
    entries = []
    pos = 0
    while pos < len(buf):
        key, pos = _read_token(buf, pos)
        if htk:
            kind, value, pos = _parse_htk(buf, pos)
        else:
            kind, value, pos = _parse_binary_value(buf, pos)
        entries.append(Entry(key, kind, value))
    return entries


def is_binary(buf: bytes) -> bool:
    head = buf[:300]
    return head.startswith(b"\0B") or head.startswith(b"RIFF") or b" \0B" in head or b" RIFF" in head


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def compare_text(ours: str, gold: str, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    a, b = ours.split(), gold.split()
    assert len(a) == len(b), f"{what}: {len(a)} tokens vs Kaldi's {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        if _is_number(x) and _is_number(y):
            fx, fy = float(x), float(y)
            assert abs(fx - fy) <= atol + rtol * abs(fy), f"{what}: token {i}: {x} vs Kaldi's {y}"
        else:
            raise AssertionError(f"{what}: token {i}: {x!r} vs Kaldi's {y!r}")


def compare_floats(ours: np.ndarray, gold: np.ndarray, what: str, pitch: bool = False) -> None:
    assert ours.shape == gold.shape, f"{what}: shape {ours.shape} vs Kaldi's {gold.shape}"
    if ours.size == 0:
        return
    o, g = ours.astype(np.float64), gold.astype(np.float64)
    # NaN where Kaldi wrote NaN counts as equal (Kaldi's PLP yields NaN on some frames).
    both_nan = np.isnan(o) & np.isnan(g)
    with np.errstate(invalid="ignore"):
        diff = np.abs(o - g)
        bad = ~((diff <= ATOL_MAX + RTOL_MAX * np.abs(g)) | both_nan)
        beyond_readme = ~((diff <= ATOL + RTOL * np.abs(g)) | both_nan)
    if not pitch:
        fraction = float(beyond_readme.mean())
        assert fraction <= MAX_FRACTION_BEYOND_README, (
            f"{what}: {int(beyond_readme.sum())} of {bad.size} values ({fraction:.2%}) differ by more than "
            f"{ATOL:g} + {RTOL:g}*|x|"
        )
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise AssertionError(
                f"{what}: {int(bad.sum())} of {bad.size} values differ; first at {idx}: "
                f"{o[idx]!r} vs Kaldi's {g[idx]!r} (max abs diff {np.nanmax(diff):.3g})"
            )
        return
    # Pitch: rows are judged at the issues' 1e-3 bound. A frame whose lag flips (a near tie
    # decided by float32 rounding) also shifts the pitch-weighted log-pitch mean of its
    # +-75-frame window by ~2.5e-4, which the README-level bound would count as a failure
    # of every neighbouring frame.
    bad_rows = bad.reshape(bad.shape[0], -1).any(axis=1) if bad.ndim > 1 else bad
    fraction = bad_rows.mean()
    assert fraction <= PITCH_MAX_BAD_FRAMES, (
        f"{what}: {int(bad_rows.sum())} of {bad_rows.size} frames differ ({fraction:.1%} > {PITCH_MAX_BAD_FRAMES:.0%})"
    )


def compare_entries(ours: Entry, gold: Entry, what: str, tool: str, pitch: bool) -> None:
    assert ours.key == gold.key, f"{what}: key {ours.key!r} vs Kaldi's {gold.key!r}"
    what = f"{what} [{gold.key}]"
    assert ours.kind == gold.kind, f"{what}: holder {ours.kind} vs Kaldi's {gold.kind}"
    if gold.kind in ("CM", "CM2", "CM3"):
        assert ours.value == gold.value, f"{what}: compressed bytes differ"
    elif gold.kind == "IV":
        np.testing.assert_array_equal(ours.value, gold.value, err_msg=what)
    elif gold.kind == "WAV":
        o, g = bytes(ours.value), bytes(gold.value)
        assert o[:44] == g[:44], f"{what}: WAV header differs"
        so = np.frombuffer(o, dtype="<i2", offset=44).astype(np.int32)
        sg = np.frombuffer(g, dtype="<i2", offset=44).astype(np.int32)
        assert so.shape == sg.shape, f"{what}: {so.size} samples vs Kaldi's {sg.size}"
        # wav-reverberate convolves in float: rare +-1 LSB differences (README).
        limit = 1 if tool == "wav-reverberate" else 0
        diff = np.abs(so - sg)
        assert diff.max(initial=0) <= limit, f"{what}: samples differ by up to {diff.max()}"
    else:
        compare_floats(np.asarray(ours.value), np.asarray(gold.value), what, pitch=pitch)


# -- running -------------------------------------------------------------------------

def kaldi_messages(stderr: str, kinds=("WARNING", "ERROR")) -> list[tuple[str, str]]:
    out = []
    for line in stderr.splitlines():
        m = _LOG_LINE.match(line)
        if m and m.group(1) in kinds and not _INTERNAL_MESSAGES.match(" ".join(m.group(3).split())):
            out.append((m.group(1), " ".join(m.group(3).split())))
    return out


def tool_available(tool: str) -> bool:
    from kaldibridge.cli.registry import TOOLS

    return tool in TOOLS


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


#: Run every case as a separate ``python -m kaldibridge`` process (slow: one interpreter and
#: torch import per case). By default cases run in this process through the very same entry
#: point (``kaldibridge.__main__.main``), and ``test_cli_subprocess_smoke`` runs one case
#: of every tool as a real subprocess.
SUBPROCESS = os.environ.get("KALDIBRIDGE_COMPAT_SUBPROCESS", "") not in ("", "0")


def run_case_subprocess(case: dict, out_dir: Path) -> Result:
    argv = [a.replace("{out}", str(out_dir)) for a in case["argv"]]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "kaldibridge", case["tool"], *argv],
        cwd=GOLDEN,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_case_in_process(case: dict, out_dir: Path, capfd, monkeypatch) -> Result:
    from kaldibridge.__main__ import main

    argv = [a.replace("{out}", str(out_dir)) for a in case["argv"]]
    monkeypatch.chdir(GOLDEN)
    capfd.readouterr()
    code = main([case["tool"], *argv])
    sys.stdout.flush()
    sys.stderr.flush()
    captured = capfd.readouterr()
    return Result(code, captured.out, captured.err)


def run_case(case: dict, out_dir: Path, capfd=None, monkeypatch=None) -> Result:
    if SUBPROCESS or capfd is None:
        return run_case_subprocess(case, out_dir)
    return run_case_in_process(case, out_dir, capfd, monkeypatch)


def _read_keys_of_scp(path: Path) -> list[str]:
    return [ln.split()[0] for ln in path.read_text().splitlines() if ln.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_kaldi_case(case: dict, tmp_path: Path, capfd, monkeypatch) -> None:
    check_case(case, tmp_path, capfd, monkeypatch)


def _smoke_cases() -> list[dict]:
    """The first case of each tool that exits 0 (one real subprocess per tool)."""
    seen: dict[str, dict] = {}
    for c in CASES:
        if c["exit_code"] == 0 and c["tool"] not in seen and c["name"] not in DEVIATIONS:
            seen[c["tool"]] = c
    return list(seen.values())


@pytest.mark.parametrize("case", _smoke_cases(), ids=[c["tool"] for c in _smoke_cases()])
def test_cli_subprocess_smoke(case: dict, tmp_path: Path) -> None:
    """One case per tool through a real ``python -m kaldibridge`` process."""
    check_case(case, tmp_path, None, None)


def check_case(case: dict, tmp_path: Path, capfd, monkeypatch) -> None:
    name, tool = case["name"], case["tool"]
    if not tool_available(tool):
        issue = ISSUE_OF_TOOL.get(tool)
        pytest.skip(f"kaldibridge does not provide {tool} yet" + (f" (issue #{issue})" if issue else ""))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = run_case(case, out_dir, capfd, monkeypatch)
    case_dir = GOLDEN / "kaldi" / name
    gold_stderr = (case_dir / case.get("stderr", "stderr.txt")).read_text()
    deviation = DEVIATIONS.get(name)
    context = f"{name}: {tool} exited {proc.returncode}; stderr:\n{proc.stderr[-3000:]}"

    expected_exit = deviation.exit_code if deviation else case["exit_code"]
    assert proc.returncode == expected_exit, context

    # Every WARNING/ERROR Kaldi printed is printed by kaldibridge too (unless deviating).
    if deviation is None:
        ours = kaldi_messages(proc.stderr.replace(str(out_dir), f"kaldi/{name}"))
        for kind, msg in kaldi_messages(gold_stderr):
            # Same text; kaldibridge may append context (e.g. the underlying OS error).
            found = any(k == kind and (m == msg or m.startswith(msg + " ")) for k, m in ours)
            assert found, f"{name}: missing {kind} line {msg!r}\n{context}"
    elif deviation.skipped_key:
        assert deviation.skipped_key in proc.stderr and "WARNING" in proc.stderr, context

    created = sorted(p.name for p in out_dir.iterdir())
    if deviation is None:
        assert created == sorted(case["outputs"]), f"{name}: created {created}, Kaldi created {case['outputs']}"

    pitch = tool in PITCH_TOOLS or name in PITCH_CASES_PASTE
    htk = any(a == "--output-format=htk" for a in case["argv"])
    for fname in case["outputs"]:
        ours_path, gold_path = out_dir / fname, case_dir / fname
        assert ours_path.exists(), f"{name}: {fname} not written\n{context}"
        ob, gb = ours_path.read_bytes(), gold_path.read_bytes()
        what = f"{name}/{fname}"
        if fname.endswith(".scp"):
            compare_text(ob.decode().replace(str(out_dir), f"kaldi/{name}"), gb.decode(), what)
            continue
        if name == "fbank_dither_default":
            _compare_dither(ob, what)
            continue
        if ob == gb:
            continue
        if is_binary(gb) or is_binary(ob) or htk:
            theirs = parse_binary(gb, htk=htk)
            mine = parse_binary(ob, htk=htk)
            if deviation is not None:
                _compare_deviation(deviation, mine, theirs, what, tool, pitch)
                continue
            assert [e.key for e in mine] == [e.key for e in theirs], f"{what}: keys differ"
            for o, g in zip(mine, theirs):
                compare_entries(o, g, what, tool, pitch)
        else:
            compare_text(ob.decode(), gb.decode(), what)

    if case.get("stdout"):
        compare_text(proc.stdout, (case_dir / case["stdout"]).read_text(), f"{name}/stdout")


def _compare_deviation(dev: Deviation, mine: list[Entry], theirs: list[Entry], what: str, tool: str, pitch: bool) -> None:
    by_key = {e.key: e for e in mine}
    for g in theirs:  # whatever Kaldi did write must be identical
        assert g.key in by_key, f"{what}: Kaldi wrote {g.key}, kaldibridge did not"
        compare_entries(by_key[g.key], g, what, tool, pitch)
    if dev.all_keys_from:
        expected = _read_keys_of_scp(GOLDEN / dev.all_keys_from)
        assert [e.key for e in mine] == expected, f"{what}: expected every key of {dev.all_keys_from}"
    if dev.skipped_key:
        assert dev.skipped_key not in by_key, f"{what}: {dev.skipped_key} should have been skipped"
    if dev.input_ark:
        inputs = parse_binary((GOLDEN / dev.input_ark).read_bytes())
        expected = [e.key for e in inputs if e.key != dev.skipped_key]
        assert [e.key for e in mine] == expected, f"{what}: expected every input key but {dev.skipped_key}"
        if tool == "compute-cmvn-stats":  # check the stats of the kept utterances directly
            for e in inputs:
                if e.key == dev.skipped_key:
                    continue
                x = e.value.astype(np.float64)
                stats = np.zeros((2, x.shape[1] + 1))
                stats[0, :-1], stats[1, :-1], stats[0, -1] = x.sum(0), (x * x).sum(0), x.shape[0]
                np.testing.assert_allclose(by_key[e.key].value, stats, rtol=1e-6, err_msg=f"{what} [{e.key}]")


def _compare_dither(ob: bytes, what: str) -> None:
    """Dither is random by design: frame counts exact, values close to the undithered run."""
    ref = {e.key: e for e in parse_binary((GOLDEN / "kaldi" / "fbank_default" / "out.ark").read_bytes())}
    gold = parse_binary((GOLDEN / "kaldi" / "fbank_dither_default" / "out.ark").read_bytes())
    mine = parse_binary(ob)
    assert [e.key for e in mine] == [e.key for e in gold], f"{what}: keys differ"
    for m, g in zip(mine, gold):
        r = ref[m.key]
        assert m.value.shape == g.value.shape, f"{what} [{m.key}]: shape differs"
        ours_mad = float(np.abs(m.value - r.value).mean())
        kaldi_mad = float(np.abs(g.value - r.value).mean())
        assert ours_mad > 0.0, f"{what} [{m.key}]: no dither was applied"
        # Same order of magnitude as Kaldi's own dither effect (README: about 3 in log-mel).
        assert 0.5 * kaldi_mad <= ours_mad <= 2.0 * kaldi_mad, (
            f"{what} [{m.key}]: mean |dithered - undithered| {ours_mad:.3f} vs Kaldi's {kaldi_mad:.3f}"
        )


# -- self-tests of the harness parsers (they must be able to fail) ----------------------

def test_harness_parses_golden_fbank_archive():
    entries = parse_binary((GOLDEN / "kaldi" / "fbank_default" / "out.ark").read_bytes())
    assert [e.key for e in entries] == ["spkA-001", "spkA-002", "spkB-001", "spkB-002", "spkC-001", "spkC-002"]
    assert all(e.kind == "FM" and e.value.shape[1] == 23 for e in entries)
    # 51278 samples, 25 ms / 10 ms frames with snip-edges: 1 + (51278 - 400) // 160 frames
    assert entries[0].value.shape[0] == 1 + (51278 - 400) // 160


def test_harness_detects_a_changed_value():
    entries = parse_binary((GOLDEN / "kaldi" / "fbank_default" / "out.ark").read_bytes())
    changed = entries[0].value.copy()
    changed[3, 4] += 0.5
    with pytest.raises(AssertionError, match="differ"):
        compare_floats(changed, entries[0].value, "self-test")
    with pytest.raises(AssertionError):
        compare_text("a 1.0 b", "a 1.1 b", "self-test")
