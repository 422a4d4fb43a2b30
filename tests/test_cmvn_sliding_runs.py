"""The run-based sliding-window CMN internals against per-frame references.

``_window_runs`` describes every frame's window as a few linear runs; here it is expanded
frame by frame and compared with a direct transcription of Kaldi's per-frame window
logic. ``_np_prefix_sums`` (column pairs as complex numbers) must equal a plain float64
``np.cumsum`` exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from kaldibridge.errors import OptionError
from kaldibridge.kaldi.features import cmvn as C


def _kaldi_window(t: int, n: int, window: int, min_window: int, center: bool) -> tuple[int, int]:
    # transcription of SlidingWindowCmnInternal's window computation, written independently
    if center:
        start = t - window // 2
        end = start + window
    else:
        start = t - window
        end = t + 1
    if start < 0:
        end -= start
        start = 0
    if not center and end > t:
        end = max(t + 1, min_window)
    if end > n:
        start -= end - n
        end = n
        if start < 0:
            start = 0
    return start, end


CONFIGS = [
    (n, w, mw, c)
    for n in (1, 2, 3, 7, 16, 17, 64, 99, 100, 101, 299, 300, 301, 601, 1000)
    for w in (1, 2, 5, 17, 100, 300, 600)
    for mw in (1, 5, 100, 700)
    for c in (False, True)
    if not (c and not 0 < mw <= w)
]


def test_window_runs_expand_to_kaldi_windows() -> None:
    for n, w, mw, c in CONFIGS:
        o = C.SlidingWindowCmnOptions(cmn_window=w, min_cmn_window=mw, center=c)
        runs = C._window_runs(n, o)
        assert runs[0][0] == 0 and runs[-1][1] == n
        got = []
        prev_end = 0
        for a, b, s0, ss, e0, es in runs:
            assert a == prev_end and b > a
            prev_end = b
            got += [(s0 + ss * k, e0 + es * k) for k in range(b - a)]
        want = [_kaldi_window(t, n, w, mw, c) for t in range(n)]
        assert got == want, (n, w, mw, c)
        assert len(runs) <= 16


def test_invalid_centred_window_is_an_option_error() -> None:
    with pytest.raises(OptionError):
        C.SlidingWindowCmnOptions(cmn_window=1, min_cmn_window=2, center=True)


@pytest.mark.parametrize("n", [1, 5, 16, 63, 64, 65, 130, 1001])
@pytest.mark.parametrize("dim", [1, 7, 40])
@pytest.mark.parametrize("square", [False, True])
def test_prefix_sums_equal_cumsum_exactly(n: int, dim: int, square: bool) -> None:
    x = (np.random.default_rng(n).standard_normal((n, dim)) * 5 + 3).astype(np.float32)
    got = C._np_prefix_sums(x, "test_prefix", square=square).copy()
    y = x.astype(np.float64)
    want = np.concatenate([np.zeros((1, dim)), np.cumsum(y * y if square else y, axis=0)])
    assert got.shape == (n + 1, dim)
    np.testing.assert_array_equal(got, want)


def test_sliding_means_match_direct_window_means() -> None:
    rng = np.random.default_rng(3)
    for n, w, mw, c in [(1000, 600, 100, False), (250, 100, 300, False), (77, 30, 10, True), (5, 600, 100, True)]:
        x = (rng.standard_normal((n, 4)) + 10).astype(np.float32)
        got = C.apply_cmvn_sliding(x, cmn_window=w, min_cmn_window=mw, center=c)
        x64 = x.astype(np.float64)
        want = np.empty_like(x64)
        for t in range(n):
            s, e = _kaldi_window(t, n, w, mw, c)
            want[t] = x64[t] - x64[s:e].mean(axis=0)
        np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=1e-6)


def test_results_do_not_share_the_reused_work_buffers() -> None:
    from kaldibridge.kaldi.features.cmvn import apply_cmvn, compute_cmvn_stats
    from kaldibridge.kaldi.features.deltas import compute_deltas_kaldi
    from kaldibridge.kaldi.features.splice import splice_feats

    rng = np.random.default_rng(11)
    a = (rng.standard_normal((300, 6)) * 2 + 5).astype(np.float32)
    b = (rng.standard_normal((300, 6)) * 3 - 1).astype(np.float32)
    for fn in (
        lambda x: C.apply_cmvn_sliding(x, cmn_window=50, min_cmn_window=10),
        lambda x: C.apply_cmvn_sliding(x, cmn_window=50, norm_vars=True),
        compute_deltas_kaldi,
        lambda x: splice_feats(x, 2, 2),
        lambda x: apply_cmvn(x, compute_cmvn_stats(a), True),
    ):
        first = fn(a)
        kept = first.copy()
        second = fn(b)
        np.testing.assert_array_equal(first, kept)
        assert not np.shares_memory(first, second)


def test_non_contiguous_and_double_inputs_give_the_same_results() -> None:
    from kaldibridge.kaldi.features.cmvn import apply_cmvn, compute_cmvn_stats
    from kaldibridge.kaldi.features.deltas import compute_deltas_kaldi
    from kaldibridge.kaldi.features.splice import splice_feats

    rng = np.random.default_rng(12)
    wide = (rng.standard_normal((257, 20)) + 3).astype(np.float32)
    view = wide[:, ::2]  # non-contiguous (257, 10)
    dense = np.ascontiguousarray(view)
    stats = compute_cmvn_stats(dense)
    for fn in (
        lambda x: C.apply_cmvn_sliding(x, cmn_window=40, min_cmn_window=7),
        lambda x: C.apply_cmvn_sliding(x, cmn_window=40, min_cmn_window=7, center=True, norm_vars=True),
        compute_deltas_kaldi,
        lambda x: splice_feats(x, 3, 1),
        lambda x: apply_cmvn(x, stats, True),
        lambda x: apply_cmvn(x, stats, False),
    ):
        want = fn(dense)
        np.testing.assert_array_equal(fn(view), want)
        np.testing.assert_array_equal(fn(dense.astype(np.float64)), want)


def test_apply_cmvn_memo_keeps_results_and_repeats_floor_warnings(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from kaldibridge.kaldi.features.cmvn import apply_cmvn

    rng = np.random.default_rng(13)
    x = (rng.standard_normal((50, 3)) * 2 + 1).astype(np.float32)
    s1 = np.array([[10.0, 20.0, -5.0, 10.0], [40.0, 90.0, 12.0, 0.0]])
    s2 = np.array([[30.0, -3.0, 6.0, 12.0], [200.0, 50.0, 9.0, 0.0]])

    def expected(s: np.ndarray) -> np.ndarray:
        # Kaldi's ApplyCmvn, written out: float32 scale and offset from double stats
        count = s[0, -1]
        mean = s[0, :-1] / count
        var = np.maximum(s[1, :-1] / count - mean * mean, 1e-20)
        scale = 1.0 / np.sqrt(var)
        y = x * scale.astype(np.float32)
        return y + (-(mean * scale)).astype(np.float32)

    for s in (s1, s2, s1, s2, s1):
        np.testing.assert_array_equal(apply_cmvn(x, s, True), expected(s))
    flat = np.array([[10.0, 20.0, 30.0, 10.0], [10.0, 90.0, 90.0, 0.0]])  # dim 0 and 2: variance 0
    with caplog.at_level(logging.WARNING, logger="kaldibridge"):
        apply_cmvn(x, flat, True)
        apply_cmvn(x, flat, True)
    floors = [r for r in caplog.records if "Flooring cepstral variance" in r.getMessage()]
    assert len(floors) == 4
