"""kaldibridge.functional.deltas: deltas, splicing and shifting against loop references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kaldibridge.functional.deltas import (
    add_deltas,
    compute_deltas,
    delta_filters,
    shift_frames,
    splice_frames,
)


def _deltas_reference(x: np.ndarray, order: int, window: int) -> np.ndarray:
    """Deltas of order 1..order by repeated regression with clamped frames (float64)."""
    n, d = x.shape
    norm = sum(j * j for j in range(-window, window + 1))
    # filters as explicit tap dictionaries built by convolution
    taps = [{0: 1.0}]
    for _ in range(order):
        prev, cur = taps[-1], {}
        for j in range(-window, window + 1):
            for k, w in prev.items():
                cur[j + k] = cur.get(j + k, 0.0) + j * w / norm
        taps.append(cur)
    out = np.zeros((n, d * (order + 1)))
    for i, tap in enumerate(taps):
        for t in range(n):
            for k, w in tap.items():
                out[t, i * d : (i + 1) * d] += w * x[min(max(t + k, 0), n - 1)]
    return out


def test_delta_filters_closed_form() -> None:
    f = delta_filters(2, 2)
    np.testing.assert_allclose(f[0], [1.0])
    np.testing.assert_allclose(f[1], [-0.2, -0.1, 0.0, 0.1, 0.2], rtol=1e-6)
    np.testing.assert_allclose(f[2], np.convolve(f[1], f[1]), rtol=1e-5, atol=1e-7)
    assert all(a.dtype == np.float32 for a in f)
    assert len(delta_filters(3, 1)[3]) == 7
    with pytest.raises(ValueError):
        delta_filters(-1, 2)
    with pytest.raises(ValueError):
        delta_filters(1, 0)


@pytest.mark.parametrize("order,window,n", [(2, 2, 30), (1, 2, 3), (3, 1, 12), (2, 3, 1), (0, 2, 5)])
def test_add_deltas_matches_reference(order: int, window: int, n: int) -> None:
    x = np.random.default_rng(n).normal(size=(n, 4)).astype(np.float32)
    got = add_deltas(torch.from_numpy(x), order, window).numpy()
    np.testing.assert_allclose(got, _deltas_reference(x, order, window), rtol=1e-5, atol=1e-5)


def test_add_deltas_linear_ramp_has_unit_slope() -> None:
    t = torch.arange(20, dtype=torch.float32).unsqueeze(1)
    d = add_deltas(t, order=2, window=2)
    # away from the edges: delta of a ramp is its slope, the second delta is zero
    torch.testing.assert_close(d[4:-4, 1], torch.ones(12))
    torch.testing.assert_close(d[4:-4, 2], torch.zeros(12), atol=1e-6, rtol=0)


def test_add_deltas_batch_with_lengths_equals_loop() -> None:
    torch.manual_seed(1)
    x = torch.randn(3, 25, 5)
    lengths = torch.tensor([25, 9, 1])
    batched = add_deltas(x, 2, 2, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(batched[b, :n], add_deltas(x[b, :n], 2, 2))
        assert torch.all(batched[b, n:] == 0)
    # without lengths, leading dims are a plain batch
    torch.testing.assert_close(add_deltas(x)[1], add_deltas(x[1]))


def test_compute_deltas_torchaudio_semantics() -> None:
    spec = torch.randn(2, 6, 40, dtype=torch.float64)
    n = 2
    pad = torch.nn.functional.pad(spec, (n, n), mode="replicate")
    ref = sum(k * pad[..., n + k : n + k + 40] for k in range(-n, n + 1)) / 10.0
    torch.testing.assert_close(compute_deltas(spec, 5), ref)
    # order 2 equals the time axis of add-deltas' second-order block
    x = torch.randn(30, 3)
    second = add_deltas(x, 2, 2)[:, 6:9]
    torch.testing.assert_close(compute_deltas(x.T, 5, order=2).T, second, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        compute_deltas(spec, 2)


def test_splice_frames_values() -> None:
    x = torch.arange(4, dtype=torch.float32).unsqueeze(1) * 10 + torch.tensor([0.0, 1.0])
    y = splice_frames(x, 1, 2)
    assert y.shape == (4, 8)
    # frame 0: frames -1(->0), 0, 1, 2
    torch.testing.assert_close(y[0], torch.tensor([0.0, 1, 0, 1, 10, 11, 20, 21]))
    # frame 3: frames 2, 3, 4(->3), 5(->3)
    torch.testing.assert_close(y[3], torch.tensor([20.0, 21, 30, 31, 30, 31, 30, 31]))
    with pytest.raises(ValueError):
        splice_frames(x, -1, 0)


def test_splice_and_shift_batch_with_lengths() -> None:
    x = torch.randn(2, 10, 3)
    lengths = torch.tensor([10, 4])
    s = splice_frames(x, 3, 3, lengths=lengths)
    torch.testing.assert_close(s[1, :4], splice_frames(x[1, :4], 3, 3))
    assert torch.all(s[1, 4:] == 0)
    sh = shift_frames(x, -2, lengths=lengths)
    torch.testing.assert_close(sh[1, :4], shift_frames(x[1, :4], -2))


def test_shift_frames_values() -> None:
    x = torch.arange(5, dtype=torch.float32).unsqueeze(1)
    assert shift_frames(x, 2).flatten().tolist() == [0, 0, 0, 1, 2]
    assert shift_frames(x, -3).flatten().tolist() == [3, 4, 4, 4, 4]


def test_gradcheck() -> None:
    x = torch.randn(7, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: add_deltas(t, 2, 1), (x,))
    assert torch.autograd.gradcheck(lambda t: splice_frames(t, 2, 1), (x,))
    assert torch.autograd.gradcheck(lambda t: compute_deltas(t.T, 3), (x,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_equals_cpu() -> None:
    x = torch.randn(2, 100, 13)
    lengths = torch.tensor([100, 60])
    torch.testing.assert_close(add_deltas(x.cuda(), lengths=lengths.cuda()).cpu(), add_deltas(x, lengths=lengths))
    torch.testing.assert_close(splice_frames(x.cuda(), 3, 3).cpu(), splice_frames(x, 3, 3))


def test_splice_frames_output_is_a_fresh_contiguous_tensor() -> None:
    x = torch.arange(2 * 3 * 5 * 2, dtype=torch.float32).reshape(2, 3, 5, 2)
    y = splice_frames(x, 1, 2)
    assert y.shape == (2, 3, 5, 8) and y.is_contiguous()
    # row t holds frames t-1 .. t+2 clamped to [0, 4]
    for t in range(5):
        idx = [min(max(t + k, 0), 4) for k in range(-1, 3)]
        torch.testing.assert_close(y[:, :, t], x[:, :, idx].reshape(2, 3, 8), rtol=0, atol=0)
    before = x.clone()
    y[0, 0, 0, 0] = -1.0
    assert torch.equal(x, before)
    assert y[0, 0, 1, 0] == x[0, 0, 0, 0]  # the same input element elsewhere in y is unchanged


def test_add_deltas_and_splice_capture_in_one_graph() -> None:
    x = torch.randn(2, 30, 4, generator=torch.Generator().manual_seed(5))
    for fn in (lambda t: add_deltas(t, 2, 2), lambda t: splice_frames(t, 2, 3)):
        torch._dynamo.reset()
        compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
        assert torch.equal(compiled(x), fn(x))
