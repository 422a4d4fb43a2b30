"""Analysis windows against their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kaldibridge.functional.window import WINDOW_TYPES, window_function


def test_formulas():
    n = 400
    i = np.arange(n)
    hann = 0.5 - 0.5 * np.cos(2 * math.pi * i / (n - 1))
    np.testing.assert_allclose(window_function("hanning", n, dtype=torch.float64).numpy(), hann, atol=1e-15)
    np.testing.assert_allclose(window_function("povey", n, dtype=torch.float64).numpy(), hann**0.85, atol=1e-15)
    ham = 0.54 - 0.46 * np.cos(2 * math.pi * i / (n - 1))
    np.testing.assert_allclose(window_function("hamming", n, dtype=torch.float64).numpy(), ham, atol=1e-15)
    sine = np.sin(math.pi * i / (n - 1))
    np.testing.assert_allclose(window_function("sine", n, dtype=torch.float64).numpy(), sine, atol=1e-15)
    assert torch.equal(window_function("rectangular", n), torch.ones(n))


def test_blackman_coefficient():
    n = 64
    w = window_function("blackman", n, 0.3, dtype=torch.float64).numpy()
    a = 2 * math.pi / (n - 1)
    i = np.arange(n)
    np.testing.assert_allclose(w, 0.3 - 0.5 * np.cos(a * i) + 0.2 * np.cos(2 * a * i), atol=1e-15)


@pytest.mark.parametrize("kind", WINDOW_TYPES)
def test_symmetric_and_dtype(kind):
    w = window_function(kind, 101, dtype=torch.float32)
    assert w.dtype == torch.float32 and w.shape == (101,)
    torch.testing.assert_close(w, w.flip(0), atol=1e-6, rtol=0)


def test_unknown_window():
    with pytest.raises(ValueError, match="Invalid window type"):
        window_function("kaiser", 10)
