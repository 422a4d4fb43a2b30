"""The compiled and numpy Viterbi paths of Kaldi pitch give identical searches."""

from __future__ import annotations

import os

import numpy as np
import pytest

from kaldibridge.kaldi.features import pitch as P
from kaldibridge.kaldi.features import pitch_viterbi as V
from kaldibridge.kaldi.features.pitch import PitchExtractionOptions, compute_and_process_kaldi_pitch, compute_kaldi_pitch

EXAMPLES = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))
HAVE_COMPILED = V.compiled_path_available()
needs_compiled = pytest.mark.skipif(
    not HAVE_COMPILED, reason="numba not installed or disabled (KALDIBRIDGE_NO_NUMBA): only the numpy path exists"
)


def _numpy_frames(trans, row_base, local, forward):
    buf = np.empty(trans.shape, np.float32)
    prev = forward.copy()
    bps, fwds = [], []
    for row in local:
        bp, prev, _ = V.viterbi_step_numpy(trans, row_base, row, prev, buf)
        bps.append(bp)
        fwds.append(prev.copy())
    return np.stack(bps), np.stack(fwds)


def _kernel_frames(kernel, trans, local, forward):
    fwd = forward.copy()
    bp = np.zeros(local.shape, np.int32)
    fwds = []
    for f in range(local.shape[0]):  # frame by frame, to compare every forward vector
        removed = np.empty(1, np.float32)
        kernel(trans, local[f : f + 1], fwd, bp[f : f + 1], removed)
        fwds.append(fwd.copy())
    return bp, np.stack(fwds)


def _locals(su, rng, frames, kind):
    n = su.num_lags
    if kind == "smooth":
        x = np.arange(n)
        nccf = np.stack(
            [np.sin(x / rng.uniform(3, 40) + rng.uniform(0, 6)) + rng.normal(0, 0.2, n) for _ in range(frames)]
        )
    elif kind == "noise":
        nccf = rng.uniform(-1, 1, (frames, n))
    else:  # "ties": few distinct values, so that many sums tie exactly
        nccf = rng.integers(0, 3, (frames, n)) / 2.0
    return P._local_cost(su, np.clip(nccf, -1, 1).astype(np.float32))


OPTIONS = [
    PitchExtractionOptions(),
    PitchExtractionOptions(penalty_factor=0.001),
    PitchExtractionOptions(penalty_factor=0.0),
    PitchExtractionOptions(penalty_factor=5.0, delta_pitch=0.02),
    PitchExtractionOptions(min_f0=150.0, max_f0=400.0, delta_pitch=0.01, penalty_factor=0.5),
    PitchExtractionOptions(min_f0=399.0, max_f0=400.0),  # a one- or two-state grid
]


@needs_compiled
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: f"pf{o.penalty_factor}-dp{o.delta_pitch}-min{o.min_f0}")
@pytest.mark.parametrize("kind", ["smooth", "noise", "ties"])
def test_compiled_search_equals_dense_argmin(opts, kind):
    su = P._make_setup(opts)
    rng = np.random.default_rng([OPTIONS.index(opts), ["smooth", "noise", "ties"].index(kind)])
    local = _locals(su, rng, 40, kind)
    start = np.zeros(su.num_lags, np.float32)
    want_bp, want_fwd = _numpy_frames(su.trans, su.row_base, local, start)
    got_bp, got_fwd = _kernel_frames(V._viterbi_kernel.compiled(), su.trans, local, start)
    np.testing.assert_array_equal(got_bp, want_bp)
    np.testing.assert_array_equal(got_fwd.view(np.int32), want_fwd.view(np.int32))  # bit for bit


def test_python_kernel_equals_dense_argmin():
    # the kernel's own Python body (what numba compiles) on a small grid
    su = P._make_setup(PitchExtractionOptions(min_f0=200.0, max_f0=400.0, delta_pitch=0.02, penalty_factor=0.3))
    rng = np.random.default_rng(5)
    local = _locals(su, rng, 6, "smooth")
    start = np.zeros(su.num_lags, np.float32)
    want_bp, want_fwd = _numpy_frames(su.trans, su.row_base, local, start)
    got_bp, got_fwd = _kernel_frames(V._viterbi_kernel.func, su.trans, local, start)
    np.testing.assert_array_equal(got_bp, want_bp)
    np.testing.assert_array_equal(got_fwd, want_fwd)


def test_non_finite_costs_give_the_numpy_result():
    # NaN costs (from NaN input) are left to the numpy path, whatever path is installed
    su = P._make_setup(PitchExtractionOptions(min_f0=200.0, max_f0=400.0, delta_pitch=0.02))
    n = su.num_lags
    local = np.zeros((3, n), np.float32)
    local[1, 7] = np.nan
    start = np.zeros(n, np.float32)
    want_bp, want_fwd = _numpy_frames(su.trans, su.row_base, local, start)
    fwd = start.copy()
    bp = np.zeros((3, n), np.int32)
    V.viterbi_frames(su.trans, su.row_base, local, fwd, bp)
    np.testing.assert_array_equal(bp, want_bp)
    assert np.isnan(fwd).all() and np.isnan(want_fwd[-1]).all()


@pytest.mark.slow
@needs_compiled
def test_compiled_search_fuzz():
    rng = np.random.default_rng(11)
    kernel = V._viterbi_kernel.compiled()
    for _ in range(max(2, EXAMPLES // 20)):
        opts = PitchExtractionOptions(
            min_f0=float(rng.uniform(40, 150)),
            max_f0=float(rng.uniform(200, 600)),
            delta_pitch=float(rng.choice([0.002, 0.005, 0.01])),
            penalty_factor=float(rng.choice([0.0, 1e-4, 0.01, 0.1, 1.0, 10.0])),
        )
        su = P._make_setup(opts)
        local = _locals(su, rng, 30, str(rng.choice(["smooth", "noise", "ties"])))
        start = rng.uniform(0, 3, su.num_lags).astype(np.float32)
        start -= start.min()
        want_bp, want_fwd = _numpy_frames(su.trans, su.row_base, local, start)
        got_bp, got_fwd = _kernel_frames(kernel, su.trans, local, start)
        np.testing.assert_array_equal(got_bp, want_bp)
        np.testing.assert_array_equal(got_fwd, want_fwd)


def _speechy(seconds, seed):
    rng = np.random.default_rng(seed)
    fs = 16000
    t = np.arange(int(seconds * fs)) / fs
    f0 = 150 + 60 * np.sin(2 * np.pi * 0.5 * t)
    voiced = np.sin(2 * np.pi * np.cumsum(f0) / fs) * 3000 * (np.sin(2 * np.pi * 1.3 * t) > -0.3)
    return (voiced + rng.standard_normal(t.size) * 100).astype(np.float32)


@needs_compiled
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"frames_per_chunk": 13},
        {"frames_per_chunk": 9, "simulate_first_pass_online": True, "max_frames_latency": 15},
        {"recompute_frame": 120, "frames_per_chunk": 50},
        {"penalty_factor": 0.01, "min_f0": 70.0},
    ],
)
def test_pipeline_numpy_path_equals_compiled(monkeypatch, overrides):
    monkeypatch.setattr(V, "COMPILE_AFTER_FRAMES", 0)
    x = _speechy(2.5, 3)
    x[:8000] *= 0.01  # a quiet start makes the energy estimate change (re-search)
    fast = compute_kaldi_pitch(x, **overrides).numpy()
    fast_proc = compute_and_process_kaldi_pitch(x, PitchExtractionOptions(**overrides)).numpy()
    monkeypatch.setattr(V._viterbi_kernel, "compiled", lambda: None)
    monkeypatch.setattr(V._traceback_kernel, "compiled", lambda: None)
    assert not V.compiled_path_available()
    slow = compute_kaldi_pitch(x, **overrides).numpy()
    slow_proc = compute_and_process_kaldi_pitch(x, PitchExtractionOptions(**overrides)).numpy()
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast_proc, slow_proc)


def test_traceback_stops_where_paths_merge():
    # backptr[t, s]: the state at frame t - 1 of the best path through state s at frame t
    backptr = np.array([[0, 0, 0], [0, 0, 1], [2, 1, 2], [0, 1, 2]], np.int16)
    cur_best = np.full(4, -1, np.int32)
    lag_idx = np.zeros(4, np.int32)
    assert V.traceback(backptr, cur_best, lag_idx, 2, 3) == 0
    assert lag_idx.tolist() == [1, 2, 2, 2]
    # a new end state whose path joins the old one at frame 1 rewrites frames 2 and 3 only
    assert V.traceback(backptr, cur_best, lag_idx, 0, 3) == 2
    assert lag_idx.tolist() == [1, 2, 0, 0]
    assert cur_best.tolist() == [1, 2, 0, 0]
