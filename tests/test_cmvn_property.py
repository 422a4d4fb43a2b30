"""Property tests: the numpy and torch paths of the post-processing functions agree with
each other and with frame-by-frame references, for random shapes and options.

Slow (hypothesis); the number of examples scales with KALDIBRIDGE_FUZZ_EXAMPLES.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaldibridge.functional.deltas import add_deltas, splice_frames
from kaldibridge.kaldi.features.cmvn import apply_cmvn_sliding
from kaldibridge.kaldi.features.deltas import compute_deltas_kaldi
from kaldibridge.kaldi.features.splice import splice_feats

EXAMPLES = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sliding_reference(x: np.ndarray, window: int, min_window: int, center: bool, norm_vars: bool) -> np.ndarray:
    n = x.shape[0]
    out = np.empty(x.shape, dtype=np.float64)
    for t in range(n):
        s, e = (t - window // 2, t - window // 2 + window) if center else (t - window, t + 1)
        if s < 0:
            e, s = e - s, 0
        if not center:
            e = max(t + 1, min_window)
        if e > n:
            s, e = max(0, s - (e - n)), n
        seg = x[s:e].astype(np.float64)
        mean = seg.mean(0)
        out[t] = x[t] - mean
        if norm_vars:
            out[t] = 0.0 if e - s == 1 else out[t] / np.sqrt(np.maximum((seg**2).mean(0) - mean**2, 1e-10))
    return out


@pytest.mark.slow
@SETTINGS
@given(
    n=st.integers(1, 60),
    dim=st.integers(1, 4),
    window=st.integers(1, 70),
    min_window=st.integers(1, 70),
    center=st.booleans(),
    norm_vars=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_sliding_numpy_torch_reference(n, dim, window, min_window, center, norm_vars, seed) -> None:
    if center and min_window > window:
        min_window = window
    x = (np.random.default_rng(seed).normal(size=(n, dim)) * 3).astype(np.float32)
    kw = dict(cmn_window=window, min_cmn_window=min_window, center=center, norm_vars=norm_vars, max_warnings=0)
    ref = _sliding_reference(x, window, min_window, center, norm_vars)
    got_np = apply_cmvn_sliding(x, **kw)
    got_t = apply_cmvn_sliding(torch.from_numpy(x), **kw).numpy()
    np.testing.assert_allclose(got_np, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_t, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@SETTINGS
@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    order=st.integers(0, 3),
    window=st.integers(1, 3),
    left=st.integers(0, 4),
    right=st.integers(0, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_deltas_and_splice_batch_equals_loop(lengths, order, window, left, right, seed) -> None:
    rng = np.random.default_rng(seed)
    t_max = max(lengths)
    x = torch.from_numpy(rng.normal(size=(len(lengths), t_max, 3)).astype(np.float32))
    lens = torch.tensor(lengths)
    d = add_deltas(x, order, window, lengths=lens)
    s = splice_frames(x, left, right, lengths=lens)
    for b, n in enumerate(lengths):
        single = x[b, :n].numpy()
        np.testing.assert_allclose(d[b, :n].numpy(), compute_deltas_kaldi(single, delta_order=order, delta_window=window),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(s[b, :n].numpy(), splice_feats(single, left, right))
