"""F.vad / F.vad_start / T.Vad: the sox goldens' cut points, the SoX effect port as a peer,
batches, channels, dtypes and torch.compile."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError
from kaldibridge.sox import apply_effects_tensor

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN") or Path(__file__).resolve().parents[1] / ".." / "shared" / "golden")
SOX = GOLDEN / "sox"


def _audio(name: str) -> tuple[torch.Tensor, int]:
    x, rate = sf.read(SOX / "audio" / name, dtype="float32", always_2d=True)
    return torch.from_numpy(x.T.copy()), rate


def _case(name: str) -> dict:
    return next(c for c in json.loads((SOX / "manifest.json").read_text()) if c["name"] == name)


def test_vad_matches_sox_golden() -> None:
    case = _case("vad")
    x, rate = _audio("speech_16k_mono.wav")
    want, _ = sf.read(GOLDEN / case["output"], dtype="float32")
    got = F.vad(x[0], rate)
    assert got.shape == (case["num_frames_out"],)
    np.testing.assert_array_equal(got.numpy(), want)
    assert int(F.vad_start(x[0], rate)) == case["num_frames_in"] - case["num_frames_out"]


def test_vad_both_ends_matches_sox_golden() -> None:
    case = _case("vad_both_ends")  # vad reverse vad reverse
    x, rate = _audio("speech_16k_mono.wav")
    want, _ = sf.read(GOLDEN / case["output"], dtype="float32")
    got = F.vad(F.vad(x[0], rate).flip(-1), rate).flip(-1)
    np.testing.assert_array_equal(got.numpy(), want)


PEER_CASES = [
    ([], {}),
    (["-p", "0.4"], {"pre_trigger_time": 0.4}),  # starts before the audio: leading zeros
    (["-t", "3", "-T", "0.1"], {"trigger_level": 3.0, "trigger_time": 0.1}),
    (["-s", "0.3", "-g", "0.1"], {"search_time": 0.3, "allowed_gap": 0.1}),
    (["-b", "0.2", "-N", "0.3", "-n", "0.05", "-r", "0.5"],
     {"boot_time": 0.2, "noise_up_time": 0.3, "noise_down_time": 0.05, "noise_reduction_amount": 0.5}),
    (["-f", "10", "-m", "0.15", "-M", "0.2"], {"measure_freq": 10.0, "measure_duration": 0.15, "measure_smooth_time": 0.2}),
    (["-h", "100", "-l", "3000", "-H", "100", "-L", "1000"],
     {"hp_filter_freq": 100.0, "lp_filter_freq": 3000.0, "hp_lifter_freq": 100.0, "lp_lifter_freq": 1000.0}),
]


@pytest.mark.parametrize("args,kwargs", PEER_CASES, ids=[" ".join(a) or "default" for a, _ in PEER_CASES])
@pytest.mark.parametrize("name", ["speech_16k_mono.wav", "speech_8k_mono.wav"])
def test_vad_matches_the_sox_effect(name: str, args: list[str], kwargs: dict) -> None:
    x, rate = _audio(name)
    for sig in (x[0], x[0].flip(-1)):
        want, _ = apply_effects_tensor(sig[None].double(), rate, [["vad", *args]])
        got = F.vad(sig.double(), rate, **kwargs)
        assert got.shape == want[0].shape
        np.testing.assert_allclose(got.numpy(), want[0].numpy(), rtol=0, atol=1e-9)


def test_pre_trigger_before_the_start_prepends_zeros() -> None:
    x, rate = _audio("speech_16k_mono.wav")
    start = int(F.vad_start(x[0], rate, pre_trigger_time=0.5))
    assert start == 4800 - 8000  # the trigger-found start (golden: 4800) less 0.5 s
    y = F.vad(x[0], rate, pre_trigger_time=0.5)
    assert y.shape == (x.shape[-1] + 3200,)
    assert not y[:3200].any()
    torch.testing.assert_close(y[3200:], x[0], rtol=0, atol=0)


def test_vad_start_is_batched_and_a_two_dim_input_is_a_batch() -> None:
    a, rate = _audio("speech_16k_mono.wav")
    b = a.flip(-1)
    c = torch.zeros_like(a)
    batch = torch.cat([a, b, c, a * 0.5])  # (4, time): four signals
    got = F.vad_start(batch, rate)
    assert got.shape == (4,) and got.dtype == torch.int64
    want = [int(F.vad_start(row, rate)) for row in batch]
    assert got.tolist() == want
    assert want[2] == a.shape[-1]  # silence never triggers
    nested = F.vad_start(batch.reshape(2, 2, -1), rate)
    assert nested.tolist() == [want[:2], want[2:]]


def test_multichannel_triggers_on_any_channel() -> None:
    x, rate = _audio("speech_16k_mono.wav")
    silent = torch.zeros_like(x[0])
    alone = int(F.vad_start(x[0], rate))
    pair = torch.stack([silent, x[0]])
    assert int(F.vad_start(pair, rate, multichannel=True)) == alone
    assert F.vad(pair, rate).shape == (2, x.shape[-1] - alone)
    assert F.vad_start(torch.stack([pair, pair]), rate, multichannel=True).tolist() == [alone, alone]
    # SoX keeps looking back on every channel after the one that triggered: a silent
    # channel's all-zero measures extend the look-back to all but one of the 20 measures
    # (1 s at 20 Hz), i.e. 800-sample periods further back than the speech alone gives.
    late = int(F.vad_start(torch.stack([x[0], silent]), rate, multichannel=True))
    assert late < alone and (alone - late) % 800 == 0


def test_float32_and_float64_cut_at_the_same_sample() -> None:
    x, rate = _audio("speech_8k_mono.wav")
    for sig in (x[0], x[0].flip(-1)):
        assert int(F.vad_start(sig, rate)) == int(F.vad_start(sig.double(), rate))
        assert F.vad(sig, rate).dtype == torch.float32


def test_short_or_silent_input_gives_empty_output() -> None:
    assert F.vad(torch.zeros(16000), 16000).shape == (0,)
    assert F.vad(torch.ones(2, 100) * 0.1, 16000).shape == (2, 0)  # shorter than one measure
    assert int(F.vad_start(torch.zeros(100), 16000)) == 100


def test_vad_module_matches_function() -> None:
    x, rate = _audio("speech_8k_mono.wav")
    module = T.Vad(rate, trigger_level=5.0)
    torch.testing.assert_close(module(x[0]), F.vad(x[0], rate, trigger_level=5.0))


def test_vad_start_compiles_fullgraph_and_exports() -> None:
    torch._dynamo.reset()
    x, rate = _audio("speech_16k_mono.wav")
    batch = torch.cat([x[..., :16000], x.flip(-1)[..., :16000]])
    want = F.vad_start(batch, rate).tolist()
    compiled = torch.compile(lambda s: F.vad_start(s, rate), fullgraph=True, backend="aot_eager")
    assert compiled(batch).tolist() == want

    class Start(torch.nn.Module):
        def forward(self, s: torch.Tensor) -> torch.Tensor:
            return F.vad_start(s, rate)

    assert torch.export.export(Start(), (batch,)).module()(batch).tolist() == want


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device in this environment")
def test_cuda_matches_cpu() -> None:
    x, rate = _audio("speech_16k_mono.wav")
    batch = torch.cat([x, x.flip(-1)]).double()
    assert F.vad_start(batch.cuda(), rate).cpu().tolist() == F.vad_start(batch, rate).tolist()


@pytest.mark.parametrize(
    "call",
    [
        lambda x: F.vad(x.reshape(1, 1, -1), 16000),  # a batch: use vad_start
        lambda x: F.vad(x, 16000, hp_lifter_freq=3000.0),  # empty lifter range
        lambda x: F.vad(x, 16000, measure_freq=0.0),
        lambda x: F.vad(x, 16000, search_time=-1.0),
        lambda x: F.vad_start(x, 16000, multichannel=True),  # 1-D has no channel dim
        lambda x: F.vad((x * 100).to(torch.int16), 16000),
    ],
)
def test_bad_arguments_raise_option_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OptionError):
        call(torch.zeros(4000))


def test_empty_batches_and_signals() -> None:
    assert F.vad_start(torch.zeros(0, 2, 5000), 8000).shape == (0, 2)
    assert F.vad_start(torch.zeros(0, 2, 5000), 8000, multichannel=True).shape == (0,)
    assert F.vad_start(torch.zeros(3, 0), 8000).tolist() == [0, 0, 0]
    assert F.vad(torch.zeros(0), 8000).shape == (0,)
