"""Mel scale, VTLN warp and triangular filter banks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kaldibridge.errors import OptionError
from kaldibridge.functional.mel import (
    inverse_mel_scale,
    mel_filterbank,
    mel_scale,
    vtln_warp_freq,
)


def test_mel_scale_values():
    f = np.array([0.0, 700.0, 1000.0, 8000.0])
    np.testing.assert_allclose(mel_scale(f), 1127.0 * np.log(1 + f / 700.0), rtol=1e-6)
    np.testing.assert_allclose(inverse_mel_scale(mel_scale(f)), f, rtol=1e-5, atol=1e-3)
    assert mel_scale(1.0).dtype == np.float32


def test_vtln_warp_properties():
    lo, hi, vl, vh = 20.0, 8000.0, 100.0, 7500.0
    for w in (0.85, 1.0, 1.15):
        f = np.linspace(lo, hi, 2001)
        g = vtln_warp_freq(vl, vh, lo, hi, w, f)
        assert abs(g[0] - lo) < 1e-3 and abs(g[-1] - hi) < 1e-2  # end points fixed
        assert np.all(np.diff(g) > 0)  # monotonic
        mid = (f > vl * max(1, w) + 1) & (f < vh * min(1, w) - 1)
        np.testing.assert_allclose(g[mid], f[mid] / w, rtol=1e-5)  # F(f) = f / w in the middle
    # outside the range: unchanged
    assert vtln_warp_freq(vl, vh, lo, hi, 0.9, 10.0) == np.float32(10.0)


def test_filterbank_shape_and_triangles():
    bank = mel_filterbank(23, 16000.0, 512, 20.0, 0.0)
    w = bank.weights
    assert w.shape == (23, 257) and w.dtype == np.float32
    assert np.all(w >= 0) and np.all(w <= 1)
    assert np.all(w[:, -1] == 0)  # the Nyquist column is never used
    # every bin is a contiguous run rising then falling
    for b in range(23):
        nz = np.nonzero(w[b])[0]
        assert nz[-1] - nz[0] + 1 == len(nz)
        peak = int(np.argmax(w[b]))
        assert np.all(np.diff(w[b, nz[0] : peak + 1]) >= 0) and np.all(np.diff(w[b, peak : nz[-1] + 1]) <= 0)
    # centres equally spaced on the mel scale between 20 Hz and 8 kHz
    m = 1127 * np.log(1 + np.array([20.0, 8000.0]) / 700)
    expect = 700 * (np.exp((m[0] + (np.arange(1, 24)) * (m[1] - m[0]) / 24) / 1127) - 1)
    np.testing.assert_allclose(bank.center_freqs, expect, rtol=1e-4)


def test_weight_formula_one_point():
    bank = mel_filterbank(10, 8000.0, 256, 100.0, 3800.0)
    ml, mh = 1127 * math.log(1 + 100 / 700), 1127 * math.log(1 + 3800 / 700)
    d = (mh - ml) / 11
    i = 20
    mel = 1127 * math.log(1 + i * 8000 / 256 / 700)
    b = int((mel - ml) // d)  # mel lies in [ml + b d, ml + (b+1) d]: the rising edge of bin b
    left, centre = ml + b * d, ml + (b + 1) * d
    assert bank.weights[b, i] == pytest.approx((mel - left) / (centre - left), abs=1e-5)


def test_bad_ranges():
    with pytest.raises(OptionError, match="Bad values in options: low-freq 20 and high-freq 9000 vs. nyquist 8000"):
        mel_filterbank(23, 16000.0, 512, 20.0, 9000.0)
    with pytest.raises(OptionError, match="vtln-low"):
        mel_filterbank(23, 16000.0, 512, 20.0, 0.0, vtln_low=10.0, vtln_warp=0.9)
    with pytest.raises(OptionError, match="at least 3"):
        mel_filterbank(2, 16000.0, 512)
    with pytest.raises(OptionError, match="contains no FFT bin"):
        mel_filterbank(200, 16000.0, 128)


def test_negative_high_freq_is_offset_from_nyquist():
    a = mel_filterbank(23, 16000.0, 512, 20.0, -400.0)
    b = mel_filterbank(23, 16000.0, 512, 20.0, 7600.0)
    np.testing.assert_array_equal(a.weights, b.weights)
