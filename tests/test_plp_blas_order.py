"""PLP's BLAS-order reductions and autocorrelation bases (numeric properties)."""

from __future__ import annotations

import math

import numpy as np
import torch

from kaldibridge.functional.lpc import autocorr_bases
from kaldibridge.kaldi.features.plp import _blas_sdot_bins, _blas_sgemv_rows


def test_autocorr_bases_round_each_entry_once():
    b = autocorr_bases(11, 25)
    assert b.shape == (11, 25) and b.dtype == np.float32
    angle = float(np.float32(math.pi / 24.0))
    s = float(np.float32(1.0 / 48.0))
    for i in range(11):
        for j in range(1, 24):
            arg = float(np.float32(np.float32(angle * i) * np.float32(j)))
            assert b[i, j] == np.float32(2.0 * s * math.cos(arg)), (i, j)
        assert b[i, 0] == np.float32(s)
    assert abs(float(b[3, 24]) + s) < 1e-6  # cos(3 pi) = -1


def test_sdot_short_bins_sum_float_products_in_double():
    rng = np.random.default_rng(0)
    spec = rng.uniform(0, 1e6, size=(3, 40)).astype(np.float32)
    w = rng.uniform(0, 1, size=(2, 64)).astype(np.float32)
    length = np.array([7, 20])
    w[0, 7:] = 0
    w[1, 20:] = 0
    first = np.array([0, 15])
    index = np.minimum(first[:, None] + np.arange(64)[None, :], 39)
    got = _blas_sdot_bins(torch.from_numpy(spec), torch.from_numpy(index), torch.from_numpy(w),
                          torch.from_numpy(length)).numpy()
    for f in range(3):
        for b in range(2):
            acc = 0.0
            for k in range(length[b]):
                acc += float(np.float32(spec[f, first[b] + k] * w[b, k]))
            assert got[f, b] == np.float32(acc)


def test_sdot_long_bins_close_to_exact():
    rng = np.random.default_rng(1)
    spec = rng.uniform(0, 1e4, size=(5, 300)).astype(np.float32)
    length = np.array([33, 64, 100, 150])
    width = 192
    w = np.where(np.arange(width)[None, :] < length[:, None], rng.uniform(0, 1, (4, width)), 0).astype(np.float32)
    first = np.array([0, 10, 50, 120])
    index = np.minimum(first[:, None] + np.arange(width)[None, :], 299)
    got = _blas_sdot_bins(torch.from_numpy(spec), torch.from_numpy(index), torch.from_numpy(w),
                          torch.from_numpy(length)).numpy()
    exact = np.einsum("fbk,bk->fb", spec[:, index].astype(np.float64), w.astype(np.float64))
    np.testing.assert_allclose(got, exact, rtol=2e-6)


def test_sgemv_rows_close_to_exact_for_all_shapes():
    rng = np.random.default_rng(2)
    for rows in (1, 2, 3, 5, 11, 13):
        for m in (5, 8, 13, 25, 27, 42):
            mat = rng.standard_normal((rows, m)).astype(np.float32)
            vec = rng.uniform(0, 10, (4, m)).astype(np.float32)
            got = _blas_sgemv_rows(torch.from_numpy(mat), torch.from_numpy(vec)).numpy()
            exact = vec.astype(np.float64) @ mat.T.astype(np.float64)
            scale = np.abs(vec).astype(np.float64) @ np.abs(mat.T).astype(np.float64)
            assert np.all(np.abs(got - exact) <= 4e-7 * scale + 1e-12), (rows, m)
