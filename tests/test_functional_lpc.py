"""Levinson-Durbin, LPC to cepstrum, equal loudness, and the float32-faithful FFTs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kaldibridge.functional.lpc import durbin, equal_loudness, lpc_to_cepstrum
from kaldibridge.functional.spectral import half_complex_rfft
from kaldibridge.functional.srfft import mixed_radix_fft, split_radix_fft


def test_durbin_solves_yule_walker():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(2000)
    r = np.array([x[: len(x) - k] @ x[k:] for k in range(9)])
    a, err = durbin(torch.from_numpy(r)[None])
    toeplitz = np.array([[r[abs(i - j)] for j in range(8)] for i in range(8)])
    expected = -np.linalg.solve(toeplitz, r[1:9])  # predictor with sign convention 1 + sum a z^-k
    np.testing.assert_allclose(a[0].numpy(), expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(err.item(), r[0] + expected @ r[1:9], rtol=1e-8)


def test_lpc_to_cepstrum_first_order():
    # log(1 / (1 + a z^-1)) = sum_n -(-a)^n / n ... with the recursion's sign: c_n = -a (-a)^(n-1) / n
    a = 0.5
    c = lpc_to_cepstrum(torch.tensor([[a, 0.0, 0.0, 0.0]], dtype=torch.float64))[0].numpy()
    expected = [-a * (-a) ** (n - 1) / n for n in range(1, 5)]
    np.testing.assert_allclose(c, expected, rtol=1e-12)


def test_equal_loudness_curve():
    f = np.array([100.0, 1000.0, 4000.0], dtype=np.float32)
    fsq = f.astype(np.float64) ** 2
    expected = (fsq / (fsq + 1.6e5)) ** 2 * (fsq + 1.44e6) / (fsq + 9.61e6)
    np.testing.assert_allclose(equal_loudness(f), expected, rtol=1e-6)


@pytest.mark.parametrize("n", [2, 4, 8, 32, 256])
def test_split_radix_matches_fft(n):
    g = torch.Generator().manual_seed(n)
    re, im = torch.randn(n, 3, generator=g, dtype=torch.float64), torch.randn(n, 3, generator=g, dtype=torch.float64)
    yr, yi = split_radix_fft(re, im)
    ref = torch.fft.fft(torch.complex(re, im), dim=0)
    # float32 twiddle tables limit the accuracy even in float64
    torch.testing.assert_close(yr, ref.real, atol=1e-4, rtol=0)
    torch.testing.assert_close(yi, ref.imag, atol=1e-4, rtol=0)


@pytest.mark.parametrize("n", [3, 6, 12, 100, 200, 441])
def test_mixed_radix_matches_fft(n):
    g = torch.Generator().manual_seed(n)
    re, im = torch.randn(2, n, generator=g, dtype=torch.float64), torch.randn(2, n, generator=g, dtype=torch.float64)
    yr, yi = mixed_radix_fft(re, im)
    ref = torch.fft.fft(torch.complex(re, im))
    torch.testing.assert_close(yr, ref.real, atol=1e-3, rtol=0)
    torch.testing.assert_close(yi, ref.imag, atol=1e-3, rtol=0)


@pytest.mark.parametrize("n_fft,mode", [(512, "split_radix"), (400, "split_radix"), (512, "torch"), (6, "torch")])
def test_half_complex_rfft_matches_rfft(n_fft, mode):
    x = torch.randn(4, n_fft - 2, dtype=torch.float64)
    re, im = half_complex_rfft(x, n_fft, complex_fft=mode)
    ref = torch.fft.rfft(x, n=n_fft)
    scale = ref.abs().max().item()
    assert (re - ref.real).abs().max().item() < 1e-3 * scale
    assert (im - ref.imag).abs().max().item() < 1e-3 * scale
