"""lfilter / filtfilt / biquad designers against a plain recursion and known responses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kaldibridge.errors import OptionError
from kaldibridge.functional.filtering import (
    biquad_coeffs,
    deemph_coeffs,
    filtfilt,
    lfilter,
    lowpass_biquad,
    riaa_coeffs,
)


def _direct_form(x: np.ndarray, b: list[float], a: list[float]) -> np.ndarray:
    """Textbook difference equation, one sample at a time (reference only)."""
    y = np.zeros_like(x)
    for n in range(len(x)):
        acc = sum(b[k] * x[n - k] for k in range(len(b)) if n - k >= 0)
        acc -= sum(a[k] * y[n - k] for k in range(1, len(a)) if n - k >= 0)
        y[n] = acc / a[0]
    return y


@pytest.mark.parametrize(
    "b,a",
    [
        ([0.2, 0.3, 0.2], [1.0, -0.5, 0.2]),
        ([1.0], [1.0, -0.99]),
        ([0.5, 0.1], [2.0, -1.0, 0.3, -0.01]),
        ([1.0, 2.0, 1.0], [1.0]),
    ],
)
def test_lfilter_matches_difference_equation(b: list[float], a: list[float]) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(700)
    got = lfilter(torch.from_numpy(x), a, b, clamp=False).numpy()
    np.testing.assert_allclose(got, _direct_form(x, b, a), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 300), pole=st.floats(-0.95, 0.95))
def test_lfilter_any_length(n: int, pole: float) -> None:
    x = np.cos(np.arange(n) * 0.3)
    got = lfilter(torch.from_numpy(x), [1.0, -pole], [1.0, 0.5], clamp=False).numpy()
    np.testing.assert_allclose(got, _direct_form(x, [1.0, 0.5], [1.0, -pole]), atol=1e-10)


def test_lfilter_batched_equals_rows() -> None:
    x = torch.randn(3, 2, 500, dtype=torch.float64)
    b, a = biquad_coeffs("highpass", 16000, 300, 0.707, "q")
    whole = lfilter(x, a, b, clamp=False)
    for i in range(3):
        for c in range(2):
            torch.testing.assert_close(whole[i, c], lfilter(x[i, c], a, b, clamp=False))


def test_lfilter_gradients_flow_to_input_and_coefficients() -> None:
    x = torch.randn(200, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, -0.6], dtype=torch.float64, requires_grad=True)
    y = lfilter(x, a, [1.0, 0.0], clamp=False)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert a.grad is not None and float(a.grad.abs().sum()) > 0
    assert torch.autograd.gradcheck(lambda inp: lfilter(inp, [1.0, -0.5], [0.3, 0.1], clamp=False), (x[:20].detach().requires_grad_(),))


def test_lfilter_rejects_bad_coefficients() -> None:
    with pytest.raises(OptionError):
        lfilter(torch.zeros(4), [0.0, 1.0], [1.0], clamp=False)
    with pytest.raises(OptionError):
        lfilter(torch.zeros(4), [1.0], [], clamp=False)


def test_filtfilt_is_zero_phase() -> None:
    t = np.arange(4000) / 16000
    x = torch.from_numpy(np.sin(2 * np.pi * 200 * t))
    b, a = biquad_coeffs("lowpass", 16000, 2000, 0.707, "q")
    y = filtfilt(x, a, b, clamp=False)
    mid = slice(1000, 3000)
    # a 200 Hz tone passes a 2 kHz zero-phase low-pass unchanged in phase and (nearly) level
    np.testing.assert_allclose(y[mid].numpy(), x[mid].numpy(), atol=2e-3)


def test_lowpass_gain_at_dc_and_cutoff() -> None:
    b, a = biquad_coeffs("lowpass", 16000, 1000, 1 / math.sqrt(2), "q")

    def gain(f: float) -> float:
        z = np.exp(-2j * np.pi * f / 16000)
        return abs(np.polyval(b[::-1], z) / np.polyval(a[::-1], z))

    assert gain(0.0) == pytest.approx(1.0, abs=1e-12)
    assert 20 * math.log10(gain(1000.0)) == pytest.approx(-3.0103, abs=1e-3)


def test_lowpass_biquad_wrapper_matches_designer() -> None:
    x = torch.randn(300, dtype=torch.float64)
    b, a = biquad_coeffs("lowpass", 8000, 1000, 1 / math.sqrt(2), "q")
    torch.testing.assert_close(lowpass_biquad(x, 8000, 1000), lfilter(x, a, b, clamp=False))


def test_fixed_rate_designs_refuse_other_rates() -> None:
    with pytest.raises(OptionError):
        deemph_coeffs(16000)
    with pytest.raises(OptionError):
        riaa_coeffs(22050)
    b, a = riaa_coeffs(48000)
    z = np.exp(-2j * np.pi * 1000 / 48000)
    assert abs(np.polyval(b[::-1], z) / np.polyval(a[::-1], z)) == pytest.approx(1.0, abs=1e-9)


def test_frequency_above_nyquist_is_refused() -> None:
    with pytest.raises(OptionError):
        biquad_coeffs("highpass", 8000, 5000, 0.7, "q")


def test_lfilter_tensor_coefficients_still_checked_eagerly() -> None:
    with pytest.raises(OptionError, match="a\\[0\\]"):
        lfilter(torch.zeros(4), torch.tensor([0.0, 1.0]), torch.tensor([1.0]), clamp=False)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_lfilter_compiles_fullgraph(as_tensor: bool) -> None:
    torch._dynamo.reset()
    b, a = biquad_coeffs("lowpass", 16000, 1000, 0.707, "q")
    if as_tensor:
        b, a = torch.tensor(b, dtype=torch.float64), torch.tensor(a, dtype=torch.float64)
    x = torch.randn(2, 3, 333, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    compiled = torch.compile(lambda s: lfilter(s, a, b, clamp=False), fullgraph=True, backend="aot_eager")
    got = compiled(x)
    ref = _direct_form(x[1, 2].numpy(), [float(v) for v in b], [float(v) for v in a])
    np.testing.assert_allclose(got[1, 2].numpy(), ref, atol=1e-12)
    torch.testing.assert_close(got, lfilter(x, a, b, clamp=False), rtol=0, atol=1e-14)


def test_lfilter_compiled_gradients_match_eager() -> None:
    torch._dynamo.reset()
    x = torch.randn(2, 150, dtype=torch.float64, generator=torch.Generator().manual_seed(5))

    def run(fn):  # type: ignore[no-untyped-def]
        a = torch.tensor([1.0, -0.7, 0.2], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([0.4, 0.1], dtype=torch.float64, requires_grad=True)
        fn(x, b, a).square().sum().backward()
        return a.grad, b.grad

    def eager(s, b, a):  # type: ignore[no-untyped-def]
        return lfilter(s, a, b, clamp=False)

    compiled = torch.compile(eager, fullgraph=True, backend="aot_eager")
    for got, want in zip(run(compiled), run(eager)):
        torch.testing.assert_close(got, want)


def test_lfilter_exports() -> None:
    class Filter(torch.nn.Module):
        def forward(self, s: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
            return lfilter(s, a, b, clamp=False)

    x = torch.randn(3, 200, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    b = torch.tensor([0.3, 0.3], dtype=torch.float64)
    a = torch.tensor([1.0, -0.4], dtype=torch.float64)
    program = torch.export.export(Filter(), (x, b, a))
    torch.testing.assert_close(program.module()(x, b, a), lfilter(x, a, b, clamp=False))


def _bank() -> tuple[np.ndarray, np.ndarray]:
    b = np.array([[0.2, 0.3, 0.2], [1.0, 0.0, 0.0], [0.5, 0.1, 0.0]])
    a = np.array([[1.0, -0.5, 0.2], [1.0, -0.99, 0.0], [2.0, -1.0, 0.3]])
    return b, a


def test_lfilter_bank_filters_each_row_with_its_own_coefficients() -> None:
    b, a = _bank()
    x = np.random.default_rng(1).standard_normal((2, 3, 300))
    got = lfilter(torch.from_numpy(x), torch.from_numpy(a), torch.from_numpy(b), clamp=False).numpy()
    for i in range(2):
        for f in range(3):
            np.testing.assert_allclose(got[i, f], _direct_form(x[i, f], list(b[f]), list(a[f])), atol=1e-12)


def test_lfilter_bank_without_batching_applies_every_filter() -> None:
    b, a = _bank()
    x = np.random.default_rng(2).standard_normal((4, 250))
    got = lfilter(torch.from_numpy(x), a.tolist(), b.tolist(), batching=False, clamp=False).numpy()
    assert got.shape == (4, 3, 250)
    for f in range(3):
        np.testing.assert_allclose(got[2, f], _direct_form(x[2], list(b[f]), list(a[f])), atol=1e-12)
    shared = lfilter(torch.from_numpy(x[:3]), a.tolist(), [0.5, 0.5], clamp=False).numpy()  # 1-D b shared by the bank
    np.testing.assert_allclose(shared[1], _direct_form(x[1], [0.5, 0.5], list(a[1])), atol=1e-12)


def test_lfilter_bank_errors() -> None:
    b, a = _bank()
    with pytest.raises(OptionError, match="filters"):
        lfilter(torch.zeros(2, 100), torch.from_numpy(a), torch.from_numpy(b), clamp=False)  # dim -2 is 2, not 3
    with pytest.raises(OptionError, match="filters"):
        lfilter(torch.zeros(3, 100), torch.from_numpy(a), torch.from_numpy(b[:2]), clamp=False)
    with pytest.raises(OptionError, match="a\\[0\\]"):
        lfilter(torch.zeros(2, 10), [[1.0, 0.5], [0.0, 1.0]], [[1.0], [1.0]], clamp=False)
    with pytest.raises(OptionError):
        lfilter(torch.zeros(10), [1.0], torch.ones(1, 1, 2), clamp=False)


def test_lfilter_bank_gradients() -> None:
    x = torch.randn(2, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    a = torch.tensor([[1.0, -0.6], [1.0, 0.3]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[0.5, 0.2], [1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda bb, aa: lfilter(x, aa, bb, clamp=False), (b, a))


def test_lfilter_bank_compiles_fullgraph() -> None:
    torch._dynamo.reset()
    b, a = (torch.from_numpy(c) for c in _bank())
    x = torch.randn(2, 3, 200, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    compiled = torch.compile(lambda s: filtfilt(s, a, b, clamp=False), fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), filtfilt(x, a, b, clamp=False), rtol=0, atol=1e-12)


def test_lfilter_takes_torchaudio_argument_order_and_clamp_default() -> None:
    """torchaudio's ``lfilter(waveform, a_coeffs, b_coeffs, clamp=True)``: a recursive
    filter given denominator first, and output clamped to [-1, 1] unless asked otherwise."""
    x = torch.zeros(6, dtype=torch.float64)
    x[0] = 1.0
    a, b = [1.0, -0.5], [1.0]
    expected = torch.tensor([0.5**n for n in range(6)], dtype=torch.float64)  # 1 / (1 - 0.5 z^-1)
    torch.testing.assert_close(lfilter(x, a, b), expected)
    torch.testing.assert_close(lfilter(x, a_coeffs=a, b_coeffs=b), expected)
    loud = lfilter(4 * x, a, b)
    assert float(loud.max()) == 1.0 and float(loud[2]) == 1.0  # 4 * 0.25 clamped at 1
    torch.testing.assert_close(lfilter(4 * x, a, b, False), 4 * expected)
    torch.testing.assert_close(filtfilt(4 * x, a, b).abs().max(), torch.tensor(1.0, dtype=torch.float64))
