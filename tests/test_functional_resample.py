"""Tests of kaldibridge.functional.resample against direct readings of the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.resample import (
    arbitrary_resample_matrix,
    linear_resample,
    linear_resample_num_output,
    resample,
)


def _direct_linear(x: np.ndarray, fin: int, fout: int, cutoff: float, nz: int) -> np.ndarray:
    """Per-sample reading of the windowed-sinc formula, float64, no polyphase tricks."""
    n_in = len(x)
    # outputs at n/fout inside [0, n_in/fin)
    n_out = 0
    while n_out * fin < n_in * fout:  # n/fout < n_in/fin
        n_out += 1
    half = nz / (2.0 * cutoff)
    y = np.zeros(n_out)
    for n in range(n_out):
        t_out = n / fout
        lo = math.ceil((t_out - half) * fin)
        hi = math.floor((t_out + half) * fin)
        acc = 0.0
        for k in range(lo, hi + 1):
            if 0 <= k < n_in:
                dt = k / fin - t_out
                w = 0.5 * (1 + math.cos(2 * math.pi * cutoff / nz * dt)) if abs(dt) < half else 0.0
                f = math.sin(2 * math.pi * cutoff * dt) / (math.pi * dt) if dt != 0 else 2 * cutoff
                acc += x[k] * f * w / fin
        y[n] = acc
    return y


@pytest.mark.parametrize(
    "fin,fout,cutoff,nz",
    [(16000, 4000, 1000.0, 1), (8000, 4000, 1000.0, 1), (44100, 4000, 1000.0, 1),
     (44100, 16000, 0.99 * 0.5 * 16000, 6), (8000, 16000, 0.99 * 0.5 * 8000, 6), (16000, 16000, 7000.0, 3)],
)
def test_linear_resample_matches_direct_formula(fin, fout, cutoff, nz):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(997).astype(np.float32)
    got = linear_resample(torch.from_numpy(x), fin, fout, cutoff, nz).numpy()
    ref = _direct_linear(x.astype(np.float64), fin, fout, cutoff, nz)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_linear_resample_num_output_flush_and_streaming():
    # flush: count of n with n/fout < n_in/fin
    assert linear_resample_num_output(16000, 16000, 4000, 1000.0, 1, True) == 4000
    assert linear_resample_num_output(16001, 16000, 4000, 1000.0, 1, True) == 4001
    assert linear_resample_num_output(0, 16000, 4000, 1000.0, 1, True) == 0
    # not flushing: interval shortened by the half-width 1/(2*1000) s = 8 ticks of 1/16000 s
    assert linear_resample_num_output(16000, 16000, 4000, 1000.0, 1, False) == 3998
    assert linear_resample_num_output(8, 16000, 4000, 1000.0, 1, False) == 0


def test_linear_resample_batched_equals_rows():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((3, 2, 500)).astype(np.float32))
    y = linear_resample(x, 16000, 4000, 1000.0, 1)
    for i in range(3):
        for j in range(2):
            torch.testing.assert_close(y[i, j], linear_resample(x[i, j], 16000, 4000, 1000.0, 1))


def test_linear_resample_rejects_bad_cutoff():
    with pytest.raises(OptionError):
        linear_resample(torch.zeros(10), 16000, 4000, 3000.0, 1)
    with pytest.raises(OptionError):
        linear_resample(torch.zeros(10), 16000.5, 4000, 1000.0, 1)


def test_arbitrary_resample_matrix_matches_direct_formula():
    rate, cutoff, nz = 4000.0, 2000.0, 5
    pts = np.array([0.0, 0.00051, 0.0031, 0.0199, 0.0005], dtype=np.float32)
    w = arbitrary_resample_matrix(80, rate, cutoff, pts, nz)
    half = nz / (2 * cutoff)
    for i, t in enumerate(pts.astype(np.float64)):
        for k in range(80):
            dt = t - k / rate
            if abs(dt) < half:
                f = math.sin(2 * math.pi * cutoff * dt) / (math.pi * dt) if dt != 0 else 2 * cutoff
                ref = f * 0.5 * (1 + math.cos(2 * math.pi * cutoff / nz * dt)) / rate
            else:
                ref = 0.0
            assert abs(w[k, i] - ref) < 1e-5, (k, i)
    # a point exactly on a sample reproduces that sample
    x = np.random.default_rng(2).standard_normal(80).astype(np.float32)
    y = x @ arbitrary_resample_matrix(80, rate, cutoff, np.array([10 / rate], np.float32), nz)
    assert abs(y[0] - x[10]) < 1e-5


def test_resample_identity_and_length():
    x = torch.randn(2, 1000)
    assert resample(x, 16000, 16000) is x
    assert resample(x, 16000, 8000).shape == (2, 500)
    assert resample(x, 44100, 16000).shape == (2, math.ceil(1000 * 160 / 441))
    assert resample(torch.randn(7), 8000, 16000).shape == (14,)


@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser"])
def test_resample_preserves_low_frequency_sine(method):
    fin, fout, f0 = 16000, 12000, 440.0
    n = 4000
    x = torch.sin(2 * math.pi * f0 * torch.arange(n, dtype=torch.float64) / fin)
    y = resample(x, fin, fout, resampling_method=method)
    t = torch.arange(y.shape[-1], dtype=torch.float64) / fout
    ref = torch.sin(2 * math.pi * f0 * t)
    mid = slice(200, y.shape[-1] - 200)
    assert torch.max(torch.abs(y[mid] - ref[mid])) < 2e-3


def test_resample_removes_content_above_new_nyquist():
    fin, fout = 16000, 8000
    x = torch.sin(2 * math.pi * 6000.0 * torch.arange(8000, dtype=torch.float64) / fin)
    y = resample(x, fin, fout)
    assert torch.max(torch.abs(y[200:-200])) < 1e-2


def test_resample_batched_equals_rows():
    x = torch.randn(3, 4, 333)
    y = resample(x, 44100, 16000)
    torch.testing.assert_close(y[1, 2], resample(x[1, 2], 44100, 16000))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_resample_gpu_equals_cpu():
    x = torch.randn(2, 1000)
    torch.testing.assert_close(resample(x.cuda(), 16000, 8000).cpu(), resample(x, 16000, 8000), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        linear_resample(x.cuda(), 16000, 4000, 1000.0, 1).cpu(), linear_resample(x, 16000, 4000, 1000.0, 1),
        rtol=1e-4, atol=1e-5)


def _direct_torchaudio_formula(x: np.ndarray, fin: int, fout: int, lpw: int, rolloff: float) -> np.ndarray:
    """torchaudio's sinc_interp_hann resampling written as a plain sum over input samples."""
    g = math.gcd(fin, fout)
    orig, new = fin // g, fout // g
    base = min(orig, new) * rolloff
    n_out = math.ceil(new * len(x) / orig)
    y = np.zeros(n_out)
    for n in range(n_out):
        for k in range(len(x)):
            t = (k / orig - n / new) * base
            if abs(t) < lpw:
                s = 1.0 if t == 0 else math.sin(math.pi * t) / (math.pi * t)
                y[n] += x[k] * s * math.cos(math.pi * t / (2 * lpw)) ** 2 * base / orig
    return y


@pytest.mark.parametrize("fin,fout,lpw,rolloff", [(16000, 8000, 6, 0.99), (8000, 12000, 4, 0.9), (44100, 16000, 6, 0.99)])
def test_resample_matches_direct_formula(fin, fout, lpw, rolloff):
    x = np.random.default_rng(5).standard_normal(300)
    got = resample(torch.from_numpy(x), fin, fout, lowpass_filter_width=lpw, rolloff=rolloff).numpy()
    ref = _direct_torchaudio_formula(x, fin, fout, lpw, rolloff)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-9)
