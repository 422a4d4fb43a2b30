"""kaldibridge.functional.cmvn: sliding-window CMN against a frame-by-frame reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kaldibridge.functional.cmvn import normalize_mean_var, sliding_window_bounds, sliding_window_cmn


def _reference(x: np.ndarray, window: int, min_window: int, center: bool, norm_vars: bool) -> np.ndarray:
    """Frame-by-frame sliding CMN written from the algorithm's description (float64)."""
    n = x.shape[0]
    out = np.empty_like(x, dtype=np.float64)
    for t in range(n):
        if center:
            s = t - window // 2
            e = s + window
        else:
            s = t - window
            e = t + 1
        if s < 0:
            e -= s
            s = 0
        if not center and e > t:
            e = max(t + 1, min_window)
        if e > n:
            s = max(0, s - (e - n))
            e = n
        seg = x[s:e].astype(np.float64)
        mean = seg.mean(axis=0)
        out[t] = x[t] - mean
        if norm_vars:
            if e - s == 1:
                out[t] = 0.0
            else:
                var = np.maximum((seg**2).mean(axis=0) - mean**2, 1e-10)
                out[t] = out[t] / np.sqrt(var)
    return out


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("norm_vars", [False, True])
@pytest.mark.parametrize("n,window,min_window", [(1, 600, 100), (7, 4, 2), (50, 10, 3), (50, 600, 100), (130, 31, 40)])
def test_sliding_matches_reference(center: bool, norm_vars: bool, n: int, window: int, min_window: int) -> None:
    rng = np.random.default_rng(n * 7 + window)
    x = rng.normal(size=(n, 5)).astype(np.float32) * 3 + 1
    got = sliding_window_cmn(torch.from_numpy(x), window, min_window, center, norm_vars).numpy()
    ref = _reference(x, window, min_window, center, norm_vars).astype(np.float32)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_bounds_closed_form() -> None:
    start, end = sliding_window_bounds(10, cmn_window=4, min_cmn_window=3, center=False)
    # frame 0: window [0, 3) (min window), frame 5: [1, 6), frame 9: [5, 10)
    assert (int(start[0]), int(end[0])) == (0, 3)
    assert (int(start[5]), int(end[5])) == (1, 6)
    assert (int(start[9]), int(end[9])) == (5, 10)
    start, end = sliding_window_bounds(10, cmn_window=4, center=True)
    assert (int(start[0]), int(end[0])) == (0, 4)
    assert (int(start[5]), int(end[5])) == (3, 7)
    assert (int(start[9]), int(end[9])) == (6, 10)


def test_constant_input_gives_zero_and_whole_window_is_global_cmn() -> None:
    x = torch.full((20, 3), 4.5)
    assert torch.all(sliding_window_cmn(x, 5, 2) == 0)
    y = torch.randn(30, 4)
    got = sliding_window_cmn(y, cmn_window=1000, min_cmn_window=1000, center=True)
    torch.testing.assert_close(got, y - y.double().mean(0).float(), rtol=1e-5, atol=1e-5)


def test_batch_with_lengths_equals_loop() -> None:
    torch.manual_seed(0)
    lengths = torch.tensor([40, 17, 1, 33])
    x = torch.randn(4, 40, 6)
    for norm_vars in (False, True):
        batched = sliding_window_cmn(x, 12, 5, False, norm_vars, lengths=lengths)
        for b, n in enumerate(lengths.tolist()):
            single = sliding_window_cmn(x[b, :n], 12, 5, False, norm_vars)
            torch.testing.assert_close(batched[b, :n], single)
            assert torch.all(batched[b, n:] == 0)


def test_leading_dims_broadcast() -> None:
    x = torch.randn(2, 3, 25, 4)
    got = sliding_window_cmn(x, 8, 3, True, True)
    torch.testing.assert_close(got[1, 2], sliding_window_cmn(x[1, 2], 8, 3, True, True))


def test_num_floored_counts_constant_columns() -> None:
    x = torch.randn(10, 3)
    x[:, 1] = 2.0
    _, floored = sliding_window_cmn(x, 4, 2, True, True, return_num_floored=True)
    assert floored.tolist() == [1] * 10


def test_gradcheck() -> None:
    x = torch.randn(9, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: sliding_window_cmn(t, 4, 2, False, True), (x,))
    assert torch.autograd.gradcheck(lambda t: sliding_window_cmn(t, 5, 2, True, False), (x,))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        sliding_window_cmn(torch.zeros(5, 2), cmn_window=0)
    with pytest.raises(ValueError):
        sliding_window_cmn(torch.zeros(5), cmn_window=3)
    with pytest.raises(ValueError):
        sliding_window_cmn(torch.zeros(2, 5, 2), lengths=torch.tensor([5]))


def test_normalize_mean_var_roundtrip() -> None:
    x = torch.randn(50, 4, dtype=torch.float64)
    mean, var = torch.tensor([1.0, -2.0, 0.5, 3.0]), torch.tensor([4.0, 0.25, 1.0, 9.0])
    y = normalize_mean_var(x, mean, var)
    torch.testing.assert_close(y, (x - mean) / var.sqrt())
    torch.testing.assert_close(normalize_mean_var(y, mean, var, reverse=True), x)
    torch.testing.assert_close(normalize_mean_var(x, mean), x - mean)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_equals_cpu() -> None:
    x = torch.randn(3, 200, 13)
    lengths = torch.tensor([200, 150, 20])
    cpu = sliding_window_cmn(x, 50, 10, False, True, lengths=lengths)
    gpu = sliding_window_cmn(x.cuda(), 50, 10, False, True, lengths=lengths.cuda())
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)


def test_bounds_of_one_length_equal_the_batched_bounds() -> None:
    from kaldibridge.functional.cmvn import sliding_window_bounds

    for n in (1, 5, 49, 50, 51, 99, 300, 301, 700):
        for window, min_window, center in ((300, 50, False), (300, 50, True), (10, 100, False), (7, 3, True)):
            start, end = sliding_window_bounds(n, window, min_window, center)
            bstart, bend = sliding_window_bounds(torch.tensor([n, n + 3]), window, min_window, center, max_frames=n)
            assert start.dtype == torch.int64 and start.shape == (n,)
            assert torch.equal(start, bstart[0]) and torch.equal(end, bend[0]), (n, window, min_window, center)
            assert bool(((end - start) >= 1).all())
