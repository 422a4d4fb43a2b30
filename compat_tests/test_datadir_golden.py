"""Every case of ``../shared/golden/datadir/manifest.json`` through kaldibridge's scripts.

Each case is the Kaldi script (``utils/...``) with its argv, run as
``python -m kaldibridge SCRIPT ARGV...``. To keep the messages identical without
touching the golden folder, each case runs in a temporary root laid out like the
golden root: ``audio/`` is a symlink to the golden one, ``datadir/fixtures/`` a copy, and
``datadir/<case>/out`` / ``datadir/<case>/src`` are real folders there. The checks:

* exit status (exactly; the perl ``die`` cases only as non-zero, as the README says);
* the set of files under ``{out}``/``{src}`` (empty folders included) and every file's
  bytes, except run.pl logs (``log/*.log``), whose tool log lines are kaldibridge's: there
  only the command lines and the exit code are compared;
* stdout and stderr, after the README's normalization (``/tmp/kaldi.XXXX``, ``{mtime}``).

Deliberate deviations (``DEVIATIONS``): Kaldi's verdict on non-ASCII text depends on the
machine's locale; kaldibridge behaves like Kaldi in a UTF-8 locale, except that invalid
UTF-8 is always reported. So ``validate_text_utf8`` (recorded without a UTF-8 locale)
is expected to pass like ``validate_text_utf8_utf8_locale``, and
``validate_bad_non_utf8_utf8_locale`` is expected to fail like ``validate_bad_non_utf8``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", ROOT.parent / "shared" / "golden")).resolve()
MANIFEST = GOLDEN / "datadir" / "manifest.json"

#: case -> the case whose recorded outcome kaldibridge reproduces instead (and why).
DEVIATIONS: dict[str, tuple[str, str]] = {
    "validate_text_utf8": (
        "validate_text_utf8_utf8_locale",
        "valid UTF-8 text passes: kaldibridge behaves like Kaldi in a UTF-8 locale whatever the machine's locale",
    ),
    "validate_bad_non_utf8_utf8_locale": (
        "validate_bad_non_utf8",
        "invalid UTF-8 is always reported as non-printable (Kaldi's grep ignores encoding errors in a UTF-8 locale)",
    ),
}

#: Cases where the recorded status comes from perl's die (errno): only non-zero matters.
_PERL_DIE = re.compile(r"\.pl$")

_TMP = re.compile(r"/tmp/kaldi\.[A-Za-z0-9]{4}")
_MTIME = re.compile(r"^((?:---|\+\+\+) /tmp/kaldi\.XXXX/\S+)\t.*$", re.M)


def _cases() -> list[dict]:
    if not MANIFEST.is_file():
        return []
    return json.loads(MANIFEST.read_text())


def _normalize(text: str) -> str:
    text = _TMP.sub("/tmp/kaldi.XXXX", text)
    return _MTIME.sub(r"\1\t{mtime}", text)


def _listing(top: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        rel = Path(dirpath).relative_to(top)
        for f in filenames:
            out.append(str(rel / f) if str(rel) != "." else f)
        if not dirnames and not filenames and Path(dirpath) != top:
            out.append(str(rel) + "/")
    return sorted(out)


def _log_gist(text: str) -> list[str]:
    """The parts of a run.pl log that do not depend on the tool's implementation."""
    keep = []
    for line in text.splitlines():
        if line.startswith("# Ended"):
            keep.append(re.sub(r" at .*", "", line))
        elif line.startswith("# ") and not line.startswith(("# Started", "# Accounting")):
            keep.append(line)
    return keep


CASES = _cases()

#: Cases always run as a real subprocess (``python -m kaldibridge SCRIPT ARGV``), one or
#: more per script; the others call the same entry point (``kaldibridge.__main__.main``)
#: in-process, which keeps the suite fast (set KALDIBRIDGE_COMPAT_SUBPROCESS=1 to run
#: every case as a subprocess).
SUBPROCESS_CASES = {
    "validate_bad_missing_text", "fix_bad_spk2gender_missing", "subset_shortest_3", "split_segments_2",
    "combine_plain_segments", "copy_equals_form_rejected", "perturb_speed_0.9_segments", "get_utt2dur_plain",
    "get_reco2dur_segments", "get_utt2num_frames_feats", "filter_scp_stdin", "utt2spk_to_spk2utt_bad_line",
    "spk2utt_to_utt2spk_crlf",
}


def _run_subprocess(root: Path, script: str, argv: list[str], stdin_path: Path | None) -> tuple[int, bytes, bytes]:
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    env.pop("KALDIBRIDGE_NO_PIPES", None)
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kaldibridge", script, *argv],
            cwd=root, stdin=stdin, capture_output=True, env=env, timeout=300,
        )
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    return proc.returncode, proc.stdout, proc.stderr


def _run_in_process(
    root: Path, script: str, argv: list[str], stdin_path: Path | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, bytes, bytes]:
    from kaldibridge.__main__ import main

    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.chdir(root)
    monkeypatch.delenv("KALDIBRIDGE_NO_PIPES", raising=False)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, write_through=True))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, write_through=True))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin_path.read_bytes() if stdin_path else b"")))
    code = main([script, *argv])
    sys.stdout.flush()
    sys.stderr.flush()
    return code, out.getvalue(), err.getvalue()


@pytest.mark.skipif(not CASES, reason=f"no golden datadir manifest at {MANIFEST}")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_datadir_case(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = case["name"]
    expect = case
    if name in DEVIATIONS:
        other = next(c for c in CASES if c["name"] == DEVIATIONS[name][0])
        expect = {**case, "exit_code": other["exit_code"],
                  "stdout": other["stdout"].replace(other["input"], case["input"]),
                  "stderr": other["stderr"]}
    root = tmp_path / "root"
    (root / "datadir" / name).mkdir(parents=True)
    (root / "audio").symlink_to(GOLDEN / "audio")
    # a copy (1 MB), not a link: a script that writes into its source must not reach the golden folder
    shutil.copytree(GOLDEN / "datadir" / "fixtures", root / "datadir" / "fixtures")
    out = root / "datadir" / name / "out"
    src = root / "datadir" / name / "src"
    inputs = case["input"] if isinstance(case["input"], list) else [case["input"]]
    if case.get("in_place"):
        shutil.copytree(GOLDEN / inputs[0], out)
    if case.get("src"):
        if isinstance(case["input"], list):
            for i in inputs:
                shutil.copytree(GOLDEN / i, src / Path(i).name)
        else:
            shutil.copytree(GOLDEN / inputs[0], src)
    argv = [a.replace("{out}", f"datadir/{name}/out").replace("{src}", f"datadir/{name}/src") for a in case["argv"]]
    stdin_path = GOLDEN / case["stdin"] if case.get("stdin") else None
    if name in SUBPROCESS_CASES or os.environ.get("KALDIBRIDGE_COMPAT_SUBPROCESS"):
        returncode, out_b, err_b = _run_subprocess(root, case["script"], argv, stdin_path)
    else:
        returncode, out_b, err_b = _run_in_process(root, case["script"], argv, stdin_path, monkeypatch)
    stdout = _normalize(out_b.decode("utf-8", "replace"))
    stderr = _normalize(err_b.decode("utf-8", "replace"))
    problems = []
    if _PERL_DIE.search(case["script"]) and expect["exit_code"] not in (0, 1):
        if returncode == 0:
            problems.append(f"exit status 0, expected non-zero ({expect['exit_code']})")
    elif returncode != expect["exit_code"]:
        problems.append(f"exit status {returncode}, expected {expect['exit_code']}")
    if stdout != expect["stdout"]:
        problems.append(f"stdout differs:\n--- got\n{stdout}--- expected\n{expect['stdout']}")
    if stderr != expect["stderr"]:
        problems.append(f"stderr differs:\n--- got\n{stderr}--- expected\n{expect['stderr']}")
    for kind, top in (("out", out), ("src", src)):
        want = (case.get("files") or {}).get(kind)
        if kind not in (case.get("files") or {}):
            continue
        if want is None:
            if top.exists():
                problems.append(f"{kind}: created, Kaldi did not create it")
            continue
        got = _listing(top) if top.exists() else None
        if got != sorted(want):
            problems.append(f"{kind}: files {got}, expected {sorted(want)}")
            continue
        for rel in want:
            if rel.endswith("/"):
                continue
            ref = GOLDEN / "datadir" / name / kind / rel
            mine = top / rel
            if rel.startswith("log/") or "/log/" in rel:
                a = _log_gist(_normalize(mine.read_text(errors="replace")))
                b = _log_gist(ref.read_text(errors="replace"))
                if a != b:
                    problems.append(f"{kind}/{rel}: log differs: {a} != {b}")
            else:
                got_b = _normalize(mine.read_bytes().decode("utf-8", "surrogateescape"))
                ref_b = ref.read_bytes().decode("utf-8", "surrogateescape")
                if got_b != ref_b:
                    problems.append(f"{kind}/{rel} differs:\n--- got\n{got_b}--- expected\n{ref_b}")
    assert not problems, f"{name}: " + "\n".join(problems)
