"""Frequency/time masking and SpecAugment: span shape, iid vs shared masks, batches."""

from __future__ import annotations

import pytest
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.errors import OptionError


def _masked_span(masked: torch.Tensor, axis: int) -> torch.Tensor:
    """Boolean vector of masked indices along axis (-2 or -1) of a 2-D matrix of ones."""
    hit = masked == 0
    return hit.all(dim=-1) if axis == -2 else hit.all(dim=-2)


@pytest.mark.parametrize("axis", [-2, -1])
def test_mask_along_axis_masks_one_contiguous_span_shared_by_the_batch(axis: int) -> None:
    x = torch.ones(3, 2, 40, 50)
    gen = torch.Generator().manual_seed(0)
    dim_axis = x.dim() + axis
    for _ in range(20):
        y = F.mask_along_axis(x, 15, 0.0, dim_axis, generator=gen)
        span = _masked_span(y[0, 0], axis)
        idx = span.nonzero().flatten()
        assert idx.numel() <= 15
        if idx.numel():
            assert idx.max() - idx.min() + 1 == idx.numel()
        assert torch.equal(y, y[:1, :1].expand_as(y))  # same mask everywhere
        assert int((y == 0).sum()) == int(span.sum()) * (x.numel() // x.shape[dim_axis])


def test_mask_along_axis_iid_differs_per_item() -> None:
    x = torch.ones(8, 3, 40, 60)
    gen = torch.Generator().manual_seed(1)
    y = F.mask_along_axis_iid(x, 30, 0.0, 3, generator=gen)
    spans = torch.stack([_masked_span(y[b, c], -1) for b in range(8) for c in range(3)])
    assert len({tuple(s.tolist()) for s in spans}) > 1
    for s in spans:
        idx = s.nonzero().flatten()
        assert idx.numel() < 30
        if idx.numel():
            assert idx.max() - idx.min() + 1 == idx.numel()


def test_masking_modules_and_reproducibility() -> None:
    x = torch.ones(4, 40, 60)
    torch.manual_seed(3)
    a = T.TimeMasking(20, iid_masks=True)(x)
    torch.manual_seed(3)
    b = T.TimeMasking(20, iid_masks=True)(x)
    assert torch.equal(a, b)
    shared = T.FrequencyMasking(20)(x, mask_value=-1.0)
    assert torch.equal(shared, shared[:1].expand_as(shared))
    assert set(shared.unique().tolist()) <= {1.0, -1.0}
    single = T.FrequencyMasking(20, iid_masks=True)(torch.ones(40, 60))  # 2-D input accepted
    assert single.shape == (40, 60)


def test_p_limits_the_span() -> None:
    x = torch.ones(50, 100)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        y = F.mask_along_axis(x, 80, 0.0, 1, p=0.05, generator=gen)
        assert int((_masked_span(y, -1)).sum()) <= 5  # a span of width < 5 can cover 5 indices


def test_bad_axes_raise() -> None:
    with pytest.raises(OptionError):
        F.mask_along_axis(torch.ones(2, 3, 4), 2, 0.0, 0)
    with pytest.raises(OptionError):
        F.mask_along_axis_iid(torch.ones(3, 4), 2, 0.0, 1)
    with pytest.raises(OptionError):
        F.mask_along_axis(torch.ones(3, 4), 2, 0.0, 1, p=1.5)


def test_specaugment_fills_with_each_items_mean() -> None:
    torch.manual_seed(0)
    x = torch.stack([torch.full((30, 40), 2.0), torch.full((30, 40), 5.0)])
    x[:, 0, 0] = 0.0
    y = T.SpecAugment(n_time_masks=2, time_mask_param=10, n_freq_masks=2, freq_mask_param=10)(x)
    for i in range(2):
        changed = y[i] != x[i]
        if changed.any():
            assert torch.allclose(y[i][changed], x[i].mean().expand(int(changed.sum())))
    z = T.SpecAugment(2, 10, 2, 10, zero_masking=True, iid_masks=False)(x)
    assert set(z.unique().tolist()) <= {0.0, 2.0, 5.0}
    assert z.shape == x.shape


def test_masking_keeps_dtype_and_exports() -> None:
    x = torch.ones(2, 3, 20, 30, dtype=torch.float64)
    y = T.FrequencyMasking(8, iid_masks=True)(x)
    assert y.dtype == torch.float64 and y.shape == x.shape
    module = T.TimeMasking(8, iid_masks=True)
    program = torch.export.export(module, (x,))
    out = program.module()(x)
    assert out.shape == x.shape
    for b in range(2):
        for c in range(3):
            idx = _masked_span(out[b, c], -1).nonzero().flatten()
            assert idx.numel() < 8
            if idx.numel():
                assert idx.max() - idx.min() + 1 == idx.numel()
