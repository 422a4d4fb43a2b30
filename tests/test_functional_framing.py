"""Framing: frame counts for both edge conventions and mirrored edges, against naive loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kaldibridge.functional.framing import (
    first_sample_of_frame,
    frame_signal,
    num_frames,
    num_frames_tensor,
)


def naive_frames(x: np.ndarray, length: int, shift: int, snip: bool) -> np.ndarray:
    n = len(x)
    if snip:
        count = 0 if n < length else 1 + (n - length) // shift
    else:
        count = int(np.floor(n / shift + 0.5))  # round half up, as (n + shift/2) / shift
        count = (n + shift // 2) // shift
    out = np.zeros((count, length), dtype=x.dtype)
    for t in range(count):
        start = t * shift if snip else t * shift + shift // 2 - length // 2
        for s in range(length):
            i = start + s
            while i < 0 or i >= n:  # mirror: -1 -> 0, n -> n - 1
                i = -i - 1 if i < 0 else 2 * n - 1 - i
            out[t, s] = x[i]
    return out


def test_known_counts():
    # 25 ms / 10 ms at 16 kHz, values from the golden README
    assert num_frames(51278, 400, 160, True) == 1 + (51278 - 400) // 160
    assert num_frames(300, 400, 160, True) == 0
    assert num_frames(300, 400, 160, False) == 2
    assert num_frames(400, 400, 160, True) == 1
    assert num_frames(400, 400, 160, False) == 3


def test_first_sample():
    assert first_sample_of_frame(3, 400, 160, True) == 480
    assert first_sample_of_frame(0, 400, 160, False) == 80 - 200


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 700),
    length=st.integers(1, 120),
    shift=st.integers(1, 60),
    snip=st.booleans(),
)
def test_frames_match_naive_loop(n, length, shift, snip):
    x = np.arange(n, dtype=np.float64) * 1.5 - 7
    expected = naive_frames(x, length, shift, snip)
    got = frame_signal(torch.from_numpy(x), length, shift, snip).numpy()
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    counts = num_frames_tensor(torch.tensor([n, max(n - 1, 0)]), length, shift, snip)
    assert counts.tolist() == [num_frames(n, length, shift, snip), num_frames(max(n - 1, 0), length, shift, snip)]


def test_batched_leading_dims():
    x = torch.randn(3, 1000)
    f = frame_signal(x, 400, 160, False)
    assert f.shape == (3, num_frames(1000, 400, 160, False), 400)
    torch.testing.assert_close(f[1], frame_signal(x[1], 400, 160, False))


@pytest.mark.parametrize("snip", [True, False])
def test_empty_signal(snip):
    assert frame_signal(torch.zeros(0), 400, 160, snip).shape == (0, 400)
