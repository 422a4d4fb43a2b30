"""SpecAugment-style masking of a band of frequencies or of a span of frames."""

from __future__ import annotations

import torch
from torch import Tensor

from kaldibridge.errors import OptionError

__all__ = ["mask_along_axis", "mask_along_axis_iid"]


def _mask_param(mask_param: int, p: float, axis_length: int) -> int:
    if not 0.0 <= p <= 1.0:
        raise OptionError(f"p must be in [0, 1]; got {p}")
    if p == 1.0:
        return mask_param
    return min(mask_param, int(axis_length * p))


def _axis(axis: int, dim: int) -> int:
    """Accept ``dim - 2``/``dim - 1`` (torchaudio) or ``-2``/``-1``; return the negative form."""
    if axis in (dim - 2, -2):
        return -2
    if axis in (dim - 1, -1):
        return -1
    raise OptionError(
        f"axis must be one of the last two dimensions ({dim - 2} or {dim - 1}, or -2/-1); got {axis}"
    )


def _apply(specgrams: Tensor, start: Tensor, end: Tensor, mask_value: float | Tensor, axis: int) -> Tensor:
    """Fill ``start <= index < end`` along ``axis`` (-2 or -1); ``start``/``end`` broadcast
    against the leading dimensions with two trailing singleton dimensions."""
    size = specgrams.shape[axis]
    index = torch.arange(size, device=specgrams.device)
    if axis == -2:
        index = index.unsqueeze(-1)
    mask = (index >= start) & (index < end)
    if isinstance(mask_value, Tensor):
        return torch.where(mask, mask_value.to(specgrams.dtype), specgrams)
    return specgrams.masked_fill(mask, mask_value)


def mask_along_axis(
    specgram: Tensor,
    mask_param: int,
    mask_value: float,
    axis: int,
    p: float = 1.0,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mask one span, shared by every item, along the frequency or time axis.

    A width ``w`` is drawn uniformly from ``[0, mask_param)`` and a start from
    ``[0, size - w)``; the span ``[start, start + w)`` is set to ``mask_value`` in every
    ``(freq, time)`` matrix of the batch.

    Args:
        specgram: Spectrograms, shape ``(..., freq, time)`` (at least 2-D).
        mask_param: Upper bound on the span width.
        mask_value: Value written into the span.
        axis: ``specgram.dim() - 2`` (frequency) or ``specgram.dim() - 1`` (time); ``-2`` and
            ``-1`` are accepted too.
        p: Largest span as a fraction of the axis length (``1.0`` disables the limit).
        generator: Random generator (keyword only; not in torchaudio).

    Returns:
        Masked copy, same shape.
    """
    dim = specgram.dim()
    if dim < 2:
        raise OptionError(f"mask_along_axis needs at least 2 dimensions; got shape {tuple(specgram.shape)}")
    ax = _axis(axis, dim)
    bound = _mask_param(mask_param, p, specgram.shape[ax])
    if bound < 1:
        return specgram
    draws = torch.rand(2, generator=generator, dtype=torch.float64).to(specgram.device)
    width = draws[0] * bound
    low = draws[1] * (specgram.shape[ax] - width)
    start = low.long()
    end = (low + width).long()
    return _apply(specgram, start, end, mask_value, ax)


def mask_along_axis_iid(
    specgrams: Tensor,
    mask_param: int,
    mask_value: float,
    axis: int,
    p: float = 1.0,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mask one span per ``(freq, time)`` matrix, drawn independently for each.

    Args:
        specgrams: Spectrograms, shape ``(..., freq, time)`` with at least one leading
            dimension (every leading index gets its own span).
        mask_param: Upper bound on the span width.
        mask_value: Value written into the spans.
        axis: ``specgrams.dim() - 2`` (frequency) or ``specgrams.dim() - 1`` (time); ``-2``
            and ``-1`` are accepted too.
        p: Largest span as a fraction of the axis length.
        generator: Random generator (keyword only; not in torchaudio).

    Returns:
        Masked copy, same shape.
    """
    dim = specgrams.dim()
    if dim < 3:
        raise OptionError(
            f"mask_along_axis_iid needs at least 3 dimensions (..., freq, time); got shape {tuple(specgrams.shape)}"
        )
    ax = _axis(axis, dim)
    bound = _mask_param(mask_param, p, specgrams.shape[ax])
    if bound < 1:
        return specgrams
    lead = specgrams.shape[:-2]
    draws = torch.rand((2,) + tuple(lead), generator=generator, dtype=torch.float64).to(specgrams.device)
    width = draws[0] * bound
    low = draws[1] * (specgrams.shape[ax] - width)
    start = low.long()[..., None, None]
    end = (low.long() + width.long())[..., None, None]
    return _apply(specgrams, start, end, mask_value, ax)
