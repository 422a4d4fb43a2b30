"""kaldibridge.sox: argument rules, chain semantics, errors, batching, layouts."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

from kaldibridge.errors import OptionError
from kaldibridge.sox import EffectRefusedError, EffectUsageError, apply_effects_tensor, effect_names
from kaldibridge.sox._args import parse_frequency, parse_position, parse_samples


def _tone(n: int = 16000, rate: int = 16000, freq: float = 440.0, amp: float = 0.5) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / rate
    return (amp * torch.sin(2 * math.pi * freq * t)).to(torch.float32).unsqueeze(0)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0", 0), ("1", 10000), ("0s", 0), ("1s", 1), ("1e6s", 1000000), ("1.1t", 11000),
        (".1", 1000), ("1:1.1", 611000), ("1:1:1.1", 36611000), ("1:", 600000),
        ("0.555555", 5556), ("1:23+37", 1200000), ("12t+12s", 120012), ("1e6s-10", 900000), ("10-2:00", 0),
    ],
)
def test_parse_samples_follows_sox_rules(text: str, expected: int) -> None:
    got = parse_samples(10000, text, "t")
    assert got is not None and got[1] == ""
    assert got[0] == expected


@pytest.mark.parametrize("text", ["x", "1e6t", "", "1.2.3s"])
def test_parse_samples_rejects(text: str) -> None:
    got = parse_samples(10000, text, "t")
    assert got is None or got[1] != ""


def test_parse_position_anchors() -> None:
    assert parse_position(100, "=1", 50, 1000, "+") == (100, "")
    assert parse_position(100, "1", 50, 1000, "+") == (150, "")
    assert parse_position(100, "-1", 50, 1000, "+") == (900, "")
    assert parse_position(100, "-0", 0, None, "=") == (None, "")
    assert parse_position(100, "-1", 0, None, "=") is None


def test_parse_frequency_units() -> None:
    assert parse_frequency("1.5k") == (1500.0, "")
    assert parse_frequency("%0")[0] == pytest.approx(440.0)
    assert parse_frequency("A5")[0] == pytest.approx(880.0)
    assert parse_frequency("-3")[0] == -1.0


def test_effect_names_lists_core_effects() -> None:
    names = effect_names()
    for n in ("gain", "rate", "speed", "trim", "highpass", "silence", "remix", "sinc"):
        assert n in names


def test_speed_gets_automatic_rate_back_to_input_rate() -> None:
    y, sr = apply_effects_tensor(_tone(), 16000, [["speed", "1.1"]])
    assert sr == 16000
    assert y.shape == (1, round(16000 / 1.1))


def test_output_sample_rate_like_sox_r() -> None:
    x = _tone(100)
    y, sr = apply_effects_tensor(x, 16000, [["upsample", "2"]], output_sample_rate=32000)
    assert sr == 32000
    assert torch.equal(y[0, 0::2], x[0])
    assert torch.count_nonzero(y[0, 1::2]) == 0


def test_rate_argument_sets_output_rate() -> None:
    y, sr = apply_effects_tensor(_tone(), 16000, [["rate", "8k"]])
    assert sr == 8000 and y.shape == (1, 8000)


def test_remix_and_channels_change_channel_count() -> None:
    x = torch.stack([_tone()[0], _tone(freq=300.0)[0]])
    y, _ = apply_effects_tensor(x, 16000, [["remix", "-"]])
    assert y.shape == (1, 16000)
    np.testing.assert_allclose(y[0].numpy(), ((x[0].double() + x[1].double()) / 2).numpy(), atol=1e-7)
    y2, _ = apply_effects_tensor(_tone(), 16000, [["channels", "2"]])
    assert y2.shape == (2, 16000) and torch.equal(y2[0], y2[1])


def test_usage_errors_name_effect_and_are_value_errors() -> None:
    with pytest.raises(EffectUsageError, match="speed"):
        apply_effects_tensor(_tone(), 16000, [["speed", "0"]])
    with pytest.raises(EffectUsageError, match="vol"):
        apply_effects_tensor(_tone(), 16000, [["vol", "2", "0.05"]])
    with pytest.raises(EffectUsageError, match="nosuch"):
        apply_effects_tensor(_tone(), 16000, [["nosuch"]])
    with pytest.raises(ValueError):
        apply_effects_tensor(_tone(), 16000, [["trim", "abc"]])
    with pytest.raises(OptionError):
        apply_effects_tensor(_tone(), 16000, [["highpass", "300", "2x"]])


def test_refusals() -> None:
    with pytest.raises(EffectRefusedError, match="deemph"):
        apply_effects_tensor(_tone(), 16000, [["deemph"]])
    with pytest.raises(EffectRefusedError, match="too few input channels"):
        apply_effects_tensor(_tone(), 16000, [["remix", "2"]])
    with pytest.raises(EffectRefusedError):
        apply_effects_tensor(_tone(), 16000, [["highpass", "9000"]])


def test_clipping_is_saturated_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kaldibridge.sox"):
        y, _ = apply_effects_tensor(_tone(amp=0.9), 16000, [["gain", "6"]])
    assert float(y.max()) <= 1.0 and float(y.min()) >= -1.0
    assert any("gain clipped" in r.getMessage() for r in caplog.records)


def test_gain_n_normalises_each_batch_item() -> None:
    x = torch.stack([_tone(amp=0.25), _tone(amp=0.5)])  # (2, 1, T)
    y, _ = apply_effects_tensor(x, 16000, [["gain", "-n"]])
    assert y.shape == x.shape
    for i in range(2):
        assert float(y[i].abs().max()) == pytest.approx(1.0, abs=1e-6)


def test_batch_equals_per_item() -> None:
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 2, 4000, generator=g) - 0.5) * 0.5
    chain = [["highpass", "200"], ["speed", "0.9"], ["fade", "q", "0.05"]]
    whole, sr = apply_effects_tensor(x, 16000, chain)
    for i in range(3):
        one, sr1 = apply_effects_tensor(x[i], 16000, chain)
        assert sr1 == sr
        torch.testing.assert_close(whole[i], one)


def test_channels_last_layout_round_trip() -> None:
    x = torch.stack([_tone()[0], _tone(freq=300.0)[0]])
    a, _ = apply_effects_tensor(x, 16000, [["swap"]])
    b, _ = apply_effects_tensor(x.T.contiguous(), 16000, [["swap"]], channels_first=False)
    torch.testing.assert_close(a, b.T)
    torch.testing.assert_close(a[0], x[1], atol=5e-10, rtol=0)  # int32 grid of sox


def test_int16_input_is_scaled() -> None:
    x = torch.tensor([[0, 16384, -32768, 32767]], dtype=torch.int16)
    y, _ = apply_effects_tensor(x, 8000, [["vol", "1"]])
    np.testing.assert_allclose(y[0].numpy(), [0.0, 0.5, -1.0, 32767 / 32768], atol=1e-7)


def test_trim_and_pad_lengths() -> None:
    y, _ = apply_effects_tensor(_tone(), 16000, [["trim", "0.25", "0.5"], ["pad", "100s", "0.5"]])
    assert y.shape == (1, 8000 + 100 + 8000)
    assert torch.count_nonzero(y[0, :100]) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu() -> None:
    x = _tone()
    chain = [["highpass", "100"], ["speed", "1.1"], ["gain", "-n"]]
    cpu, _ = apply_effects_tensor(x, 16000, chain)
    gpu, _ = apply_effects_tensor(x.cuda(), 16000, chain)
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)
