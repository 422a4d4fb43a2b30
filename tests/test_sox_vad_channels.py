"""SoX's ``vad`` on several channels: once one channel triggers, every later channel of
the same measure also takes part in choosing where the output starts (``hasTriggered |=``
in SoX's vad.c), whether or not its own level reached the trigger."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile as sf
import torch

import kaldibridge.functional as F
from kaldibridge.sox import apply_effects_tensor

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
SPEECH = GOLDEN / "sox" / "audio" / "speech_16k_mono.wav"

pytestmark = pytest.mark.skipif(not SPEECH.exists(), reason=f"golden audio not found: {SPEECH}")


def _speech() -> tuple[torch.Tensor, int]:
    x, rate = sf.read(SPEECH, dtype="float32", always_2d=True)
    return torch.from_numpy(x.T.copy())[0], rate


def test_silent_later_channel_extends_the_look_back() -> None:
    x, rate = _speech()
    silent = torch.zeros_like(x)
    mono, _ = apply_effects_tensor(x[None], rate, [["vad"]])
    first_speaks, _ = apply_effects_tensor(torch.stack([x, silent]), rate, [["vad"]])
    second_speaks, _ = apply_effects_tensor(torch.stack([silent, x]), rate, [["vad"]])
    # a silent channel BEFORE the speaking one has not triggered when it is measured
    assert second_speaks.shape[-1] == mono.shape[-1]
    # a silent channel AFTER it joins in: its all-zero history moves the start back by
    # whole measure periods (16000 / 20 = 800 samples)
    extra = first_speaks.shape[-1] - mono.shape[-1]
    assert extra > 0 and extra % 800 == 0
    torch.testing.assert_close(first_speaks[0, extra:], mono[0])


def test_sox_effect_and_functional_vad_agree_on_channels() -> None:
    x, rate = _speech()
    silent = torch.zeros_like(x)
    for pair in (torch.stack([x, silent]), torch.stack([silent, x]), torch.stack([x, x.flip(-1)])):
        got, _ = apply_effects_tensor(pair, rate, [["vad"]])
        assert got.shape[-1] == F.vad(pair, rate).shape[-1]
