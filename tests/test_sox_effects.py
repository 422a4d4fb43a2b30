"""Behavioural checks of the ported SoX effects that do not need the goldens: lengths,
level preservation, slices, refusals (the goldens check the samples)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kaldibridge.sox import EffectRefusedError, EffectUsageError, apply_effects_tensor

_EXAMPLES = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))


def _tone(n: int, rate: int, freq: float, amp: float = 0.5) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / rate
    return (amp * torch.sin(2 * math.pi * freq * t)).unsqueeze(0)


def _speechlike(n: int = 16000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, dtype=torch.float64)
    x[n // 4 : 3 * n // 4] = (0.3 * torch.randn(n // 2, generator=g, dtype=torch.float64)).clamp(-0.9, 0.9)
    return x.unsqueeze(0)


@settings(max_examples=min(_EXAMPLES, 12), deadline=None)
@given(
    n=st.integers(50, 3000),
    pair=st.sampled_from([(8000, 16000), (16000, 8000), (16000, 22050), (44100, 16000), (48000, 44100), (16000, 11025)]),
)
def test_rate_length_is_rounded_ratio(n: int, pair: tuple[int, int]) -> None:
    src, dst = pair
    y, sr = apply_effects_tensor(torch.zeros(1, n), src, [["rate", str(dst)]])
    assert sr == dst
    assert y.shape[-1] == int(n * dst / src + 0.5)


@pytest.mark.parametrize("dst", [8000, 22050, 44100])
def test_rate_keeps_a_passband_tone(dst: int) -> None:
    n = 16000
    x = _tone(n, 16000, 440.0)
    y, _ = apply_effects_tensor(x, 16000, [["rate", str(dst)]])
    ref = _tone(y.shape[-1], dst, 440.0)[0].numpy()
    mid = slice(y.shape[-1] // 4, 3 * y.shape[-1] // 4)
    err = y[0, mid].double().numpy() - ref[mid]
    snr = 10 * math.log10(float(np.sum(ref[mid] ** 2)) / float(np.sum(err**2)))
    assert snr > 60


def test_rate_quick_is_cubic_and_exact_length() -> None:
    y, _ = apply_effects_tensor(_tone(1000, 16000, 100.0), 16000, [["rate", "-q", "12000"]])
    assert y.shape == (1, 750)


@pytest.mark.parametrize("factor", ["0.8", "1.25"])
def test_tempo_length(factor: str) -> None:
    y, sr = apply_effects_tensor(_speechlike(), 16000, [["tempo", factor]])
    assert sr == 16000 and y.shape[-1] == int(16000 / float(factor) + 0.5)


def test_pitch_keeps_length_and_rate() -> None:
    y, sr = apply_effects_tensor(_speechlike(), 16000, [["pitch", "300"]])
    assert sr == 16000 and y.shape[-1] == 16000


@pytest.mark.parametrize(
    "chain,extra",
    [
        ([["echo", "0.8", "0.9", "100", "0.3"]], 1600),
        ([["echos", "0.8", "0.7", "100", "0.25", "50", "0.3"]], 2400),
        ([["chorus", "0.7", "0.9", "55", "0.4", "0.25", "2", "-t"]], int(57 * 16)),
        ([["reverb", "50"]], 0),
        ([["phaser"]], 0),
        ([["flanger"]], 0),
    ],
)
def test_length_changes(chain: list[list[str]], extra: int) -> None:
    y, _ = apply_effects_tensor(_speechlike(), 16000, chain)
    assert y.shape == (1, 16000 + extra)


def test_silence_and_vad_return_slices_of_the_input() -> None:
    x = _speechlike()
    for chain in ([["silence", "1", "0.05", "1%"]], [["vad"]]):
        y, _ = apply_effects_tensor(x.float(), 16000, chain, precision=32)
        n = y.shape[-1]
        assert 0 < n < 16000
        src = x.float()[0].numpy()
        start = 16000 - n
        np.testing.assert_allclose(y[0].numpy(), src[start:], rtol=0, atol=5e-10)  # int32 grid


def test_compand_identity_transfer_keeps_signal() -> None:
    x = _tone(4000, 16000, 300.0, 0.25)
    y, _ = apply_effects_tensor(x, 16000, [["compand", "0.01,0.1", "-90,-90,0,0"]])
    np.testing.assert_allclose(y[0].double().numpy(), x[0].numpy(), atol=1e-6)


def test_compand_reduces_loud_parts() -> None:
    x = _tone(8000, 16000, 300.0, 0.9)
    y, _ = apply_effects_tensor(x, 16000, [["compand", "0.001,0.01", "-40,-40,0,-20"]])
    assert float(y[0, 4000:].abs().max()) < 0.2


def test_sinc_lowpass_removes_high_tone() -> None:
    x = _tone(8000, 16000, 6000.0)
    y, _ = apply_effects_tensor(x, 16000, [["sinc", "-2000"]])
    assert float(y[0, 1000:-1000].abs().max()) < 1e-4


def test_reverb_batch_equals_items() -> None:
    x = torch.stack([_speechlike(8000, 0), _speechlike(8000, 1)])
    whole, _ = apply_effects_tensor(x, 16000, [["reverb", "60"], ["tempo", "0.9"]])
    for i in range(2):
        one, _ = apply_effects_tensor(x[i], 16000, [["reverb", "60"], ["tempo", "0.9"]])
        torch.testing.assert_close(whole[i], one)


def test_mono_reverb_comes_back_mono_with_stale_length_quirk() -> None:
    y, _ = apply_effects_tensor(_speechlike(), 16000, [["reverb"], ["fade", "0.1", "0", "0.1"]])
    assert y.shape == (1, 8000)  # sox 14.4.2 sees half the duration after mono reverb


@pytest.mark.parametrize(
    "chain,error",
    [
        ([["mcompand", "0.1,0.2 -60,-40", "1000"]], EffectUsageError),
        ([["compand", "0.1", "-60,-40"]], EffectUsageError),
        ([["tempo", "0.01"]], EffectUsageError),
        ([["rate", "-x", "8000"]], EffectUsageError),
        ([["echo", "0.8", "0.9", "0.01", "0.3"]], EffectRefusedError),
        ([["earwax"]], EffectRefusedError),
        ([["vad", "-z", "1"]], EffectUsageError),
        ([["silence", "1", "0.1", "5x"]], EffectUsageError),
    ],
)
def test_effect_errors(chain: list[list[str]], error: type[Exception]) -> None:
    with pytest.raises(error):
        apply_effects_tensor(_speechlike(4000), 16000, chain)
