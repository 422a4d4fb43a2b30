"""Running a tool in-process must leave the caller's torch settings as they were.

The compute-*-feats tools switch autograd off and compute on one thread (as Kaldi's
binaries do); a caller that runs them through ``kaldibridge.__main__.main`` keeps its own
settings afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from kaldibridge.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("tool", ["compute-fbank-feats", "compute-mfcc-feats"])
def test_feature_tools_restore_grad_mode_and_threads(tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threads = torch.get_num_threads()
    scp = tmp_path / "wav.scp"
    scp.write_text((ROOT / "data" / "train" / "wav.scp").read_text().splitlines()[0] + "\n")
    with torch.enable_grad():
        assert main([tool, "--dither=0", f"scp:{scp}", f"ark:{tmp_path / 'out.ark'}"]) == 0
        assert torch.is_grad_enabled()
    assert torch.get_num_threads() == threads
    assert (tmp_path / "out.ark").stat().st_size > 0
    assert os.environ.get("OMP_NUM_THREADS") is None
