"""The numpy split-radix FFT equals the generic torch one bit for bit, and equals a DFT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kaldibridge.functional.srfft import split_radix_fft, split_radix_fft_numpy


@pytest.mark.parametrize("n", [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_split_radix_bit_identical(n: int, dtype: type) -> None:
    rng = np.random.default_rng(n)
    re = (rng.standard_normal((n, 23)) * 3000).astype(dtype)
    im = (rng.standard_normal((n, 23)) * 3000).astype(dtype)
    r0, i0 = split_radix_fft(torch.from_numpy(re), torch.from_numpy(im))
    y = split_radix_fft_numpy(np.stack([re, im], axis=1))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y[:, 0], r0.numpy())
    np.testing.assert_array_equal(y[:, 1], i0.numpy())


def test_numpy_split_radix_is_a_dft() -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal((64, 5)) + 1j * rng.standard_normal((64, 5))
    y = split_radix_fft_numpy(np.stack([z.real, z.imag], axis=1))
    np.testing.assert_allclose(y[:, 0] + 1j * y[:, 1], np.fft.fft(z, axis=0), atol=1e-4)  # float32 tables


def test_numpy_split_radix_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match="power of two"):
        split_radix_fft_numpy(np.zeros((12, 2, 1)))


@pytest.mark.parametrize("n_fft,n", [(512, 400), (256, 256), (1024, 1000), (8, 5), (4, 4)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ordered", [True, False])
def test_numpy_real_fft_path_equals_torch_path(n_fft: int, n: int, dtype: torch.dtype, ordered: bool) -> None:
    from kaldibridge.functional import spectral

    rng = np.random.default_rng(n_fft + n)
    x = torch.from_numpy(rng.standard_normal((2, 300, n)) * 1000).to(dtype)  # > one chunk of frames
    fast = spectral.half_complex_rfft(x, n_fft, complex_fft="split_radix", ordered=ordered)
    x.requires_grad_(True)  # autograd input: the generic torch emulation runs
    slow = spectral.half_complex_rfft(x, n_fft, complex_fft="split_radix", ordered=ordered)
    for a, b in zip(fast, slow):
        assert a.shape == (2, 300, n_fft // 2 + 1)
        assert torch.equal(a, b.detach())
