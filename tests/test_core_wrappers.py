"""Resample, SlidingWindowCmn, ComputeDeltas and SpeedPerturbation modules."""

from __future__ import annotations

import math

import pytest
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser"])
@pytest.mark.parametrize(("orig", "new"), [(48000, 16000), (16000, 22050), (8000, 16000)])
def test_resample_equals_functional_and_loop(method: str, orig: int, new: int) -> None:
    x = torch.randn(3, 2, 1000, generator=_gen(), dtype=torch.float64)
    module = T.Resample(orig, new, resampling_method=method, lowpass_filter_width=8, rolloff=0.95, beta=12.0)
    y = module(x)
    ref = F.resample(x, orig, new, 8, 0.95, method, 12.0)
    torch.testing.assert_close(y, ref, rtol=0, atol=0)
    assert y.shape[-1] == math.ceil(1000 * new / orig)
    loop = torch.stack([torch.stack([module(x[i, j]) for j in range(2)]) for i in range(3)])
    torch.testing.assert_close(y, loop, rtol=1e-12, atol=1e-12)


def test_resample_keeps_a_low_tone() -> None:
    # a 440 Hz tone survives 48k -> 16k: compare with the analytic tone away from the edges
    t_in = torch.arange(4800, dtype=torch.float64) / 48000
    y = T.Resample(48000, 16000)(torch.sin(2 * math.pi * 440 * t_in))
    t_out = torch.arange(y.shape[-1], dtype=torch.float64) / 16000
    expected = torch.sin(2 * math.pi * 440 * t_out)
    assert torch.max(torch.abs(y[100:-100] - expected[100:-100])) < 1e-3


def test_resample_dtype_and_options() -> None:
    x = torch.randn(2, 500, generator=_gen(1))
    assert T.Resample(16000, 8000)(x).dtype == torch.float32
    assert T.Resample(16000, 8000)(x.double()).dtype == torch.float64
    torch.testing.assert_close(T.Resample(16000, 16000)(x), x)
    with pytest.raises(OptionError):
        T.Resample(16000, 8000, resampling_method="linear")  # type: ignore[arg-type]
    with pytest.raises(OptionError):
        T.Resample(16000, 8000, lowpass_filter_width=0)


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("norm_vars", [False, True])
def test_sliding_window_cmn_equals_functional_and_loop(center: bool, norm_vars: bool) -> None:
    x = torch.randn(4, 120, 13, generator=_gen(2), dtype=torch.float64) * 3 + 1
    module = T.SlidingWindowCmn(cmn_window=50, min_cmn_window=20, center=center, norm_vars=norm_vars)
    y = module(x)
    ref = F.sliding_window_cmn(x, 50, 20, center, norm_vars)
    torch.testing.assert_close(y, ref, rtol=0, atol=0)
    loop = torch.stack([module(x[i]) for i in range(4)])
    torch.testing.assert_close(y, loop, rtol=1e-12, atol=1e-12)


def test_sliding_window_cmn_closed_form_full_window() -> None:
    # a window longer than the sequence, centred: every frame sees the whole sequence
    x = torch.randn(30, 5, generator=_gen(3), dtype=torch.float64)
    y = T.SlidingWindowCmn(cmn_window=1000, center=True)(x)
    torch.testing.assert_close(y, x - x.mean(dim=0, keepdim=True))


@pytest.mark.parametrize("mode", ["replicate", "reflect", "constant", "circular"])
@pytest.mark.parametrize("win_length", [3, 5, 9])
def test_compute_deltas_equals_functional_and_loop(mode: str, win_length: int) -> None:
    x = torch.randn(2, 3, 10, 40, generator=_gen(4), dtype=torch.float64)
    module = T.ComputeDeltas(win_length=win_length, mode=mode)  # type: ignore[arg-type]
    y = module(x)
    torch.testing.assert_close(y, F.compute_deltas(x, win_length, mode), rtol=0, atol=0)  # type: ignore[arg-type]
    loop = torch.stack([torch.stack([module(x[i, j]) for j in range(3)]) for i in range(2)])
    torch.testing.assert_close(y, loop, rtol=1e-12, atol=1e-12)


def test_compute_deltas_of_a_ramp_is_its_slope() -> None:
    # the regression slope of a linear ramp is the ramp's slope away from the edges
    x = (0.25 * torch.arange(50, dtype=torch.float64)).expand(3, 50)
    y = T.ComputeDeltas(win_length=5)(x)
    torch.testing.assert_close(y[:, 2:-2], torch.full((3, 46), 0.25, dtype=torch.float64))


def test_speed_perturbation_draws_among_factors() -> None:
    factors = [0.9, 1.0, 1.1]
    module = T.SpeedPerturbation(16000, factors)
    x = torch.randn(2, 1600, generator=_gen(5), dtype=torch.float64)
    lengths = torch.tensor([1600, 1000])
    torch.manual_seed(0)
    seen = set()
    for _ in range(30):
        y, out_len = module(x, lengths)
        assert out_len is not None
        # the output is exactly one of the candidate speed() calls
        matches = [f for f in factors if F.speed(x, 16000, f, lengths)[0].shape == y.shape]
        assert len(matches) == 1
        ref, ref_len = F.speed(x, 16000, matches[0], lengths)
        torch.testing.assert_close(y, ref, rtol=0, atol=0)
        assert ref_len is not None
        assert torch.equal(out_len, ref_len)
        seen.add(matches[0])
    assert seen == set(factors)
    y, out_len = module(x)
    assert out_len is None
    with pytest.raises(OptionError):
        T.SpeedPerturbation(16000, [])
    with pytest.raises(OptionError):
        T.SpeedPerturbation(16000, [1.0, -0.5])


def test_speed_perturbation_batch_equals_loop() -> None:
    module = T.SpeedPerturbation(16000, [1.1])
    x = torch.randn(3, 800, generator=_gen(6), dtype=torch.float64)
    y, _ = module(x)
    loop = torch.stack([module(x[i])[0] for i in range(3)])
    torch.testing.assert_close(y, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("module", "shape"),
    [
        (T.Resample(48000, 16000), (2, 960)),
        (T.SlidingWindowCmn(cmn_window=20, min_cmn_window=5, norm_vars=True), (2, 40, 6)),
        (T.ComputeDeltas(win_length=5), (2, 6, 40)),
    ],
    ids=["Resample", "SlidingWindowCmn", "ComputeDeltas"],
)
def test_compile_smoke(module: torch.nn.Module, shape: tuple[int, ...]) -> None:
    torch._dynamo.reset()
    x = torch.randn(*shape, generator=_gen(7))
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), module(x), rtol=1e-5, atol=1e-5)


# torchaudio 2.x parameter names and order, as documented (torchaudio cannot be installed here)
TORCHAUDIO_PARAMS = {
    T.Resample: "orig_freq new_freq resampling_method lowpass_filter_width rolloff beta",
    T.SlidingWindowCmn: "cmn_window min_cmn_window center norm_vars",
    T.ComputeDeltas: "win_length mode",
    T.SpeedPerturbation: "orig_freq factors",
    F.contrast: "waveform enhancement_amount",
    F.dcshift: "waveform shift limiter_gain",
    F.overdrive: "waveform gain colour",
    F.dither: "waveform density_function noise_shaping",
}


@pytest.mark.parametrize("obj", list(TORCHAUDIO_PARAMS), ids=lambda o: o.__name__)
def test_torchaudio_parameter_order(obj: object) -> None:
    import inspect

    params = [
        p.name
        for p in inspect.signature(obj).parameters.values()  # type: ignore[arg-type]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert params == TORCHAUDIO_PARAMS[obj].split()  # type: ignore[index]


def test_resample_exports() -> None:
    module = T.Resample(48000, 16000)
    x = torch.randn(2, 960, generator=_gen(8))
    program = torch.export.export(module, (x,))
    torch.testing.assert_close(program.module()(x), module(x))
