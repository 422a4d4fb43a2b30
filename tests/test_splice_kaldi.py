"""splice-feats: library and tool against Kaldi's goldens, and the empty-matrix deviation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.cli.registry import load_tool
from kaldibridge.errors import FormatError
from kaldibridge.kaldi.features.splice import splice_feats
from kaldibridge.kaldi.table import SequentialTableReader

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
K = GOLDEN / "kaldi"
pytestmark = pytest.mark.skipif(not (K / "manifest.json").exists(), reason="golden data not present")


def load(path: Path) -> dict:
    return dict(SequentialTableReader(f"ark:{path}", "matrix"))


def test_splice_bit_exact() -> None:
    feats = load(K / "fbank_default" / "out.ark")
    ref = load(K / "splice_3_3" / "out.ark")
    for key, x in feats.items():
        np.testing.assert_array_equal(splice_feats(x, 3, 3), ref[key])
    edge = load(K / "fbank_edge_snip_false" / "out.ark")
    ref = load(K / "splice_edge_nosnip" / "out.ark")
    for key, x in edge.items():
        np.testing.assert_array_equal(splice_feats(x, 2, 2), ref[key])


def test_splice_empty_raises() -> None:
    with pytest.raises(FormatError, match="SpliceFrames: empty input"):
        splice_feats(np.zeros((0, 0), np.float32), 2, 2)
    with pytest.raises(FormatError):
        splice_feats(np.zeros((3, 2), np.float32), -1, 2)


def test_splice_tool_skips_empty_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    # Kaldi dies at edge-short300 (exit 255) keeping only the two utterances before it.
    monkeypatch.chdir(GOLDEN)
    out = tmp_path / "o.ark"
    code = load_tool("splice-feats").main(["--left-context=2", "--right-context=2", "ark:kaldi/fbank_edge/out.ark", f"ark:{out}"])
    assert code == 0
    assert "edge-short300" in capsys.readouterr().err
    got = load(out)
    kaldi_partial = load(K / "splice_edge" / "out.ark")
    feats = load(K / "fbank_edge" / "out.ark")
    assert list(got) == [k for k, v in feats.items() if v.shape[0] > 0]
    for key, v in kaldi_partial.items():
        np.testing.assert_array_equal(got[key], v)
