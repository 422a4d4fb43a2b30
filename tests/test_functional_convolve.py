"""kaldibridge.functional.convolve against numpy.convolve and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kaldibridge.functional.convolve import (
    block_fft_convolve,
    convolve,
    fftconvolve,
    next_power_of_two,
)


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("n,m", [(100, 7), (7, 100), (1, 1), (64, 64)])
def test_convolve_modes_match_numpy(mode: str, n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    x, y = rng.normal(size=(3, n)), rng.normal(size=m)
    if mode == "same":  # scipy/torchaudio: as long as x, centred in the full output
        full = np.stack([np.convolve(a, y) for a in x])
        start = (n + m - 1 - n) // 2
        ref = full[:, start : start + n]
    else:
        ref = np.stack([np.convolve(a, y, mode=mode) for a in x])
    for fn in (fftconvolve, convolve):
        got = fn(torch.from_numpy(x), torch.from_numpy(y), mode).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


def test_convolve_broadcasts_leading_dims() -> None:
    x = torch.randn(2, 1, 50, dtype=torch.float64)
    y = torch.randn(1, 3, 9, dtype=torch.float64)
    out = fftconvolve(x, y)
    assert out.shape == (2, 3, 58)
    torch.testing.assert_close(out[1, 2], convolve(x[1, 0], y[0, 2]))


@pytest.mark.parametrize("n,m,fft", [(1000, 50, None), (37, 5, None), (5, 37, None), (300, 20, 32)])
def test_block_convolve_is_exact(n: int, m: int, fft: int | None) -> None:
    rng = np.random.default_rng(n)
    x, h = rng.normal(size=n), rng.normal(size=m)
    got = block_fft_convolve(torch.from_numpy(x), torch.from_numpy(h), fft_length=fft).numpy()
    np.testing.assert_allclose(got, np.convolve(x, h), rtol=1e-9, atol=1e-9)


def test_block_convolve_dc_nyquist_quirk_closed_form() -> None:
    # one block (fft 8 >= n + m - 1): the quirk changes bin 0 by -a1*b1 and bin N/2 to a0*b1+a1*b0
    x = torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=torch.float64)
    h = torch.tensor([0.5, -0.25], dtype=torch.float64)
    size = 8
    got = block_fft_convolve(x, h, fft_length=size, dc_nyquist_as_complex=True)
    exact = block_fft_convolve(x, h, fft_length=size)
    a0, a1 = float(x.sum()), float((x * torch.tensor([1.0, -1, 1, -1], dtype=torch.float64)).sum())
    b0, b1 = float(h.sum()), float((h * torch.tensor([1.0, -1], dtype=torch.float64)).sum())
    k = torch.arange(5, dtype=torch.float64)
    dc_err = -a1 * b1
    ny_err = a0 * b1 + a1 * b0 - a1 * b1
    expected_err = (dc_err + ny_err * torch.cos(torch.pi * k)) / size
    torch.testing.assert_close(got - exact, expected_err)


def test_block_convolve_errors() -> None:
    with pytest.raises(ValueError):
        block_fft_convolve(torch.ones(10), torch.ones(2, 2))
    with pytest.raises(ValueError):
        block_fft_convolve(torch.ones(10), torch.ones(16), fft_length=8)


def test_next_power_of_two() -> None:
    assert [next_power_of_two(n) for n in (0, 1, 2, 3, 4, 5, 1023, 1024, 1025)] == [1, 1, 2, 4, 4, 8, 1024, 1024, 2048]
