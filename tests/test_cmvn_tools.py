"""CMVN command-line tools run in-process, including kaldibridge's deliberate deviations."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.cli.registry import load_tool
from kaldibridge.kaldi.table import SequentialTableReader

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
pytestmark = pytest.mark.skipif(not (GOLDEN / "kaldi" / "manifest.json").exists(), reason="golden data not present")


def run(tool: str, *argv: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(GOLDEN)
    return load_tool(tool).main(list(argv))


def load(path: Path, holder: str = "matrix") -> dict:
    return dict(SequentialTableReader(f"ark:{path}", holder))


def test_cmvn_stats_empty_matrix_is_skipped_not_fatal(tmp_path: Path, monkeypatch, capsys) -> None:
    # Kaldi aborts (134) on the 0x0 matrix of edge-short300 and loses all output.
    out = tmp_path / "cmvn.ark"
    code = run("compute-cmvn-stats", "ark:kaldi/fbank_edge/out.ark", f"ark:{out}", monkeypatch=monkeypatch)
    err = capsys.readouterr().err
    assert code == 0
    assert "WARNING" in err and "edge-short300" in err
    assert "Done accumulating CMVN stats for 4 utterances; 1 had errors." in err
    stats = load(out, "double_matrix")
    feats = load(GOLDEN / "kaldi" / "fbank_edge" / "out.ark")
    assert list(stats) == [k for k, v in feats.items() if v.shape[0] > 0]
    for k, s in stats.items():
        assert s[0, -1] == feats[k].shape[0]


def test_cmvn_stats_spk_and_global_text(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "spk.ark"
    assert run("compute-cmvn-stats", "--spk2utt=ark:kaldi/cmvn_stats_spk/spk2utt", "ark:kaldi/fbank_default/out.ark",
               f"ark:{out}", monkeypatch=monkeypatch) == 0
    ref = load(GOLDEN / "kaldi" / "cmvn_stats_spk" / "cmvn.ark", "double_matrix")
    got = load(out, "double_matrix")
    assert list(got) == list(ref)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12)
    txt = tmp_path / "g.txt"
    assert run("compute-cmvn-stats", "--binary=false", "ark:kaldi/fbank_default/out.ark", str(txt), monkeypatch=monkeypatch) == 0
    assert txt.read_bytes() == (GOLDEN / "kaldi" / "cmvn_stats_global_text" / "global_cmvn.txt").read_bytes()


def test_apply_cmvn_per_speaker_and_missing_stats(tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "o.ark"
    case = GOLDEN / "kaldi" / "apply_cmvn_spk_vars"
    assert run("apply-cmvn", "--norm-vars=true", "--utt2spk=ark:kaldi/apply_cmvn_spk_vars/utt2spk",
               "ark:kaldi/cmvn_stats_spk/cmvn.ark", "ark:kaldi/fbank_default/out.ark", f"ark:{out}",
               monkeypatch=monkeypatch) == 0
    ref, got = load(case / "out.ark"), load(out)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-5)
    # per-utterance stats of the edge set lack edge-short300 (skipped above): warning, no output
    stats = tmp_path / "s.ark"
    run("compute-cmvn-stats", "ark:kaldi/fbank_edge/out.ark", f"ark:{stats}", monkeypatch=monkeypatch)
    capsys.readouterr()
    assert run("apply-cmvn", f"ark:{stats}", "ark:kaldi/fbank_edge/out.ark", f"ark:{out}", monkeypatch=monkeypatch) == 0
    err = capsys.readouterr().err
    assert "No normalization statistics available for key edge-short300" in err
    assert "errors on 1" in err


def test_apply_cmvn_norm_means_false_copies(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "o.ark"
    assert run("apply-cmvn", "--norm-means=false", "kaldi/cmvn_stats_global/global_cmvn.mat",
               "ark:kaldi/fbank_default/out.ark", f"ark:{out}", monkeypatch=monkeypatch) == 0
    assert out.read_bytes() == (GOLDEN / "kaldi" / "fbank_default" / "out.ark").read_bytes()
    assert run("apply-cmvn", "--norm-means=false", "--norm-vars=true", "kaldi/cmvn_stats_global/global_cmvn.mat",
               "ark:kaldi/fbank_default/out.ark", f"ark:{out}", monkeypatch=monkeypatch) == 255


def test_modify_cmvn_stats_tool(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "m.ark"
    assert run("modify-cmvn-stats", "0:1:2", "ark:kaldi/cmvn_stats_utt/cmvn.ark", f"ark:{out}", monkeypatch=monkeypatch) == 0
    assert out.read_bytes() == (GOLDEN / "kaldi" / "modify_cmvn_stats" / "cmvn.ark").read_bytes()
    assert run("modify-cmvn-stats", "a:b", "ark:kaldi/cmvn_stats_utt/cmvn.ark", f"ark:{out}", monkeypatch=monkeypatch) == 255


def test_sliding_tool_skips_empty(tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "o.ark"
    assert run("apply-cmvn-sliding", "--max-warnings=0", "--norm-vars=true", "--center=true",
               "ark:kaldi/fbank_edge/out.ark", f"ark:{out}", monkeypatch=monkeypatch) == 0
    err = capsys.readouterr().err
    assert "Empty feature matrix for utterance edge-short300" in err
    assert "Flooring when normalizing variance" not in err  # max-warnings=0: only the note
    assert "Suppressing the remaining variance flooring warnings" in err
    assert "4 utterances, 1 had errors." in err
    assert len(load(out)) == 4


def test_two_channel_stats(tmp_path: Path, monkeypatch, capsys) -> None:
    from kaldibridge.kaldi.table import TableWriter

    ch0 = next(iter(load(GOLDEN / "kaldi" / "fbank_stereo_ch0" / "out.ark").values()))
    ch1 = next(iter(load(GOLDEN / "kaldi" / "fbank_stereo_ch1" / "out.ark").values()))
    mono = load(GOLDEN / "kaldi" / "fbank_default" / "out.ark")["spkA-001"]
    feats = tmp_path / "f.ark"
    with TableWriter(f"ark:{feats}") as w:
        w.write("call1-A", ch0)
        w.write("call1-B", ch1)
        w.write("call2-A", mono)
    (tmp_path / "r2fc").write_text("call1-A call1 A\ncall1-B call1 B\ncall2-A call2 A\nlost-A call3 A\nlost-B call3 B\n")
    out = tmp_path / "s.ark"
    code = run("compute-cmvn-stats-two-channel", "--quieter-channel-weight=0.25", str(tmp_path / "r2fc"),
               f"ark:{feats}", f"ark:{out}", monkeypatch=monkeypatch)
    err = capsys.readouterr().err
    assert code == 0
    assert "Call call2 has 1 utterances, expected two; treating them singly." in err
    assert "No feature data for utterance lost-A" in err
    assert "Done accumulating CMVN stats for 3 utterances; 2 had errors." in err
    stats = load(out, "double_matrix")
    assert list(stats) == ["call1-A", "call1-B", "call2-A"]
    # reference, frame by frame: weight 1 for the louder side, 0.25 for the quieter one
    ref_a, ref_b = np.zeros((2, 24)), np.zeros((2, 24))
    for a, b in zip(ch0.astype(np.float64), ch1.astype(np.float64)):
        wa, wb = (1.0, 0.25) if a[0] > b[0] else (0.25, 1.0)
        ref_a[0, :23] += wa * a
        ref_a[1, :23] += wa * a * a
        ref_a[0, 23] += wa
        ref_b[0, :23] += wb * b
        ref_b[1, :23] += wb * b * b
        ref_b[0, 23] += wb
    np.testing.assert_allclose(stats["call1-A"], ref_a, rtol=1e-6)
    np.testing.assert_allclose(stats["call1-B"], ref_b, rtol=1e-6)
    assert stats["call2-A"][0, 23] == mono.shape[0]
