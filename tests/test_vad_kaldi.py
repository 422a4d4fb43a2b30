"""Energy VAD and voiced-frame selection against Kaldi's goldens."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from kaldibridge.cli.registry import load_tool
from kaldibridge.errors import FormatError, OptionError
from kaldibridge.kaldi.features.vad import VadEnergyOptions, compute_vad_energy, select_voiced_frames
from kaldibridge.kaldi.table import SequentialTableReader

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
K = GOLDEN / "kaldi"
needs_golden = pytest.mark.skipif(not (K / "manifest.json").exists(), reason="golden data not present")


def load(spec: str, holder: str = "matrix") -> dict:
    return dict(SequentialTableReader(spec, holder))


@needs_golden
@pytest.mark.parametrize("case,kw", [
    ("compute_vad_default", {}),
    ("compute_vad_opts", {"vad_energy_threshold": 5.5, "vad_energy_mean_scale": 0.5,
                          "vad_frames_context": 2, "vad_proportion_threshold": 0.12}),
])
def test_vad_bit_exact(case: str, kw: dict) -> None:
    mfcc = load(f"ark:{K / 'mfcc_default' / 'out.ark'}")
    ref = load(f"ark:{K / case / 'vad.ark'}", "vector")
    for key, x in mfcc.items():
        np.testing.assert_array_equal(compute_vad_energy(x, **kw), ref[key])


@needs_golden
def test_select_voiced_bit_exact() -> None:
    mfcc = load(f"ark:{K / 'mfcc_default' / 'out.ark'}")
    vad = load(f"ark:{K / 'compute_vad_default' / 'vad.ark'}", "vector")
    ref = load(f"ark:{K / 'select_voiced_frames' / 'out.ark'}")
    for key, x in mfcc.items():
        np.testing.assert_array_equal(select_voiced_frames(x, vad[key]), ref[key])


def test_vad_closed_form() -> None:
    e = np.array([0, 0, 10, 10, 10, 0, 10, 0, 0, 0], np.float32)
    x = np.stack([e, np.zeros_like(e)], 1)
    # threshold 5 + 0.5 * mean(4) = 7: frames with energy 10 are voiced
    np.testing.assert_array_equal(compute_vad_energy(x), (e > 7).astype(np.float32))
    # context 1, proportion 0.5: a frame is voiced if >= half of its (clipped) window is loud
    got = compute_vad_energy(x, vad_frames_context=1, vad_proportion_threshold=0.5)
    np.testing.assert_array_equal(got, [0, 0, 1, 1, 1, 1, 0, 0, 0, 0])
    batch = compute_vad_energy(torch.from_numpy(np.stack([x, x[::-1].copy()])))
    assert batch.shape == (2, 10)
    np.testing.assert_array_equal(batch[1].numpy(), compute_vad_energy(x[::-1].copy()))


def test_errors() -> None:
    with pytest.raises(FormatError):
        compute_vad_energy(np.zeros((0, 13), np.float32))
    with pytest.raises(OptionError):
        VadEnergyOptions(vad_proportion_threshold=1.0).validate()
    with pytest.raises(FormatError, match="Mismatch"):
        select_voiced_frames(np.zeros((3, 2)), np.ones(4))
    t = select_voiced_frames(torch.arange(6.0).reshape(3, 2), np.array([1.0, 0.0, 1.0]))
    assert t.tolist() == [[0.0, 1.0], [4.0, 5.0]]


@needs_golden
def test_compute_vad_tool_edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(GOLDEN)
    out = tmp_path / "vad.txt"
    assert load_tool("compute-vad").main(["ark:kaldi/mfcc_edge/out.ark", f"ark,t:{out}"]) == 0
    assert out.read_bytes() == (K / "compute_vad_edge" / "vad.txt").read_bytes()
    err = capsys.readouterr().err
    assert "No frames were judged voiced for utterance silence-001" in err
    assert "Proportion of voiced frames was 0.706667 over 450 frames." in err
    assert load_tool("compute-vad").main(["--omit-unvoiced-utts=true", "ark:kaldi/mfcc_edge/out.ark", f"ark,t:{out}"]) == 0
    assert "silence-001" not in out.read_text()
