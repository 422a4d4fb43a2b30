"""DCT matrix, lifter and IDFT bases against closed forms."""

from __future__ import annotations

import math

import numpy as np

from kaldibridge.functional.dct import dct_matrix, lifter_coeffs
from kaldibridge.functional.lpc import autocorr_bases


def test_dct_is_orthonormal():
    m = dct_matrix(23, 23).astype(np.float64)
    np.testing.assert_allclose(m @ m.T, np.eye(23), atol=1e-6)
    n = np.arange(23)
    np.testing.assert_allclose(m[3], math.sqrt(2 / 23) * np.cos(math.pi / 23 * (n + 0.5) * 3), atol=1e-7)
    assert dct_matrix(13, 23).shape == (13, 23)


def test_lifter():
    c = lifter_coeffs(22.0, 13)
    np.testing.assert_allclose(c, 1 + 11 * np.sin(math.pi * np.arange(13) / 22), rtol=1e-6)
    assert c[0] == 1.0


def test_autocorr_bases_give_autocorrelation_of_symmetric_spectrum():
    dim = 9  # spectrum samples from 0 to Nyquist
    rng = np.random.default_rng(0)
    spec = rng.uniform(0.5, 2.0, dim)
    full = np.concatenate([spec, spec[-2:0:-1]])  # symmetric power spectrum of length 2(dim-1)
    autocorr = np.fft.ifft(full).real[:5]
    np.testing.assert_allclose(autocorr_bases(5, dim).astype(np.float64) @ spec, autocorr, rtol=1e-5, atol=1e-6)
