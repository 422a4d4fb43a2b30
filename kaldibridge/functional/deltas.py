"""Frame-context operations on feature sequences: deltas, splicing, shifting.

Every function takes ``(..., time, feature)`` tensors (leading dimensions are a batch),
except :func:`compute_deltas`, which keeps torchaudio's ``(..., freq, time)`` layout.
Frames outside the sequence are replaced by the nearest edge frame ("replicate"
padding). Padded batches pass ``lengths`` so that each sequence is padded with its own
last valid frame; outputs past a length are zero.

All of them are gathers and weighted sums, hence batched, GPU-capable and
differentiable.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from kaldibridge.functional._compile import constant_result

__all__ = [
    "delta_filters",
    "add_deltas",
    "compute_deltas",
    "splice_frames",
    "shift_frames",
    "clamped_frame_index",
]


def delta_filters(order: int = 2, window: int = 2) -> list[np.ndarray]:
    """The regression filters of delta orders ``0..order`` (see :func:`_delta_filters`).

    Args:
        order: highest delta order (>= 0).
        window: half-width of the regression window (> 0).

    Returns:
        A list of ``order + 1`` new float32 arrays, tap ``k`` of filter ``i`` weighting
        frame ``t + k - i * window``.

    Raises:
        ValueError: ``order < 0`` or ``window <= 0``.
    """
    return [f.copy() for f in _delta_filters_cached(order, window)]


@functools.lru_cache(maxsize=32)
def _delta_filters_cached(order: int, window: int) -> tuple[np.ndarray, ...]:
    filters = _delta_filters(order, window)
    for f in filters:
        f.setflags(write=False)
    return tuple(filters)


@constant_result
def _delta_taps(order: int, window: int) -> tuple[tuple[tuple[int, float], ...], ...]:
    """Per order ``i >= 1``: the nonzero taps ``(offset from -order * window, weight)``
    (a constant for ``torch.compile``)."""
    return _delta_taps_cached(order, window)


@functools.lru_cache(maxsize=32)
def _delta_taps_cached(order: int, window: int) -> tuple[tuple[tuple[int, float], ...], ...]:
    return _taps_of(_delta_filters(order, window), order * window)


def _taps_of(filters: list[np.ndarray], reach: int) -> tuple[tuple[tuple[int, float], ...], ...]:
    out = []
    for filt in filters[1:]:
        half = (filt.size - 1) // 2
        out.append(tuple((reach - half + k, w) for k, w in enumerate(filt.tolist()) if w != 0.0))
    return tuple(out)


def _check_order_window(order: int, window: int) -> None:
    if order < 0:
        raise ValueError(f"delta order must be >= 0, got {order}")
    if window <= 0:
        raise ValueError(f"delta window must be > 0, got {window}")


def _delta_filters(order: int, window: int) -> list[np.ndarray]:
    """The regression filters of delta orders ``0..order``.

    Order 0 is ``[1]``; order ``i`` is the order ``i - 1`` filter convolved with
    ``j / sum(j^2), j = -window..window``, so it has ``2 * i * window + 1`` taps. The
    filters are built in float32 with the same operation order as Kaldi, so they are
    bit-identical to Kaldi's.

    Args:
        order: highest delta order (>= 0).
        window: half-width of the regression window (> 0).

    Returns:
        A list of ``order + 1`` float32 arrays, tap ``k`` of filter ``i`` weighting frame
        ``t + k - i * window``.
    """
    _check_order_window(order, window)
    f32 = np.float32
    filters = [np.ones(1, dtype=f32)]
    normalizer = f32(0)
    for j in range(-window, window + 1):
        normalizer = f32(normalizer + f32(j * j))
    scale = f32(1.0 / float(normalizer))
    for _ in range(order):
        prev = filters[-1]
        cur = np.zeros(prev.size + 2 * window, dtype=f32)
        for j in range(-window, window + 1):  # at most 2 * window + 1 vector updates
            cur[j + window : j + window + prev.size] += f32(j) * prev
        filters.append((cur * scale).astype(f32))
    return filters


def clamped_frame_index(
    num_frames: int, offsets: Tensor, lengths: Tensor | None = None
) -> Tensor:
    """Frame indices ``t + offset`` clamped into each sequence.

    Args:
        num_frames: padded number of frames ``T``.
        offsets: int64 offsets ``(K,)``.
        lengths: valid lengths ``(batch,)`` or ``None`` (all sequences have ``T``).

    Returns:
        int64 ``(T, K)``, or ``(batch, T, K)`` with ``lengths``.
    """
    t = torch.arange(num_frames, device=offsets.device).unsqueeze(-1) + offsets
    if lengths is None:
        return t.clamp(0, max(num_frames - 1, 0))
    last = (lengths.to(offsets.device) - 1).clamp(min=0).view(-1, 1, 1)
    return torch.minimum(t.clamp(min=0).unsqueeze(0), last)


def _gather_frames(x: Tensor, index: Tensor) -> Tensor:
    """``x (..., T, D)`` at ``index (T', K)`` or ``(batch, T', K)`` -> ``(..., T', K, D)``."""
    if index.dim() == 2:
        return x[..., index, :]
    b = torch.arange(x.shape[0], device=x.device).view(-1, 1, 1)
    return x[b, index]


def _mask_lengths(y: Tensor, lengths: Tensor | None) -> Tensor:
    if lengths is None:
        return y
    valid = torch.arange(y.shape[-2], device=y.device) < lengths.to(y.device).unsqueeze(-1)
    return y * valid.unsqueeze(-1).to(y.dtype)


def _check_lengths(x: Tensor, lengths: Tensor | None, name: str) -> None:
    if x.dim() < 2:
        raise ValueError(f"{name}: expected (..., time, feature), got shape {tuple(x.shape)}")
    if lengths is not None and (x.dim() != 3 or lengths.shape != x.shape[:1]):
        raise ValueError(f"{name}: lengths needs x (batch, time, feature) and lengths (batch,)")


def add_deltas(
    feats: Tensor, order: int = 2, window: int = 2, *, lengths: Tensor | None = None
) -> Tensor:
    """Append delta (and higher-order delta) features.

    Args:
        feats: ``(..., time, feat)``.
        order: highest delta order.
        window: regression half-width (each order's filter spans ``2 * window + 1``
            frames of the previous order).
        lengths: valid lengths ``(batch,)`` for a padded batch ``(batch, time, feat)``.

    Returns:
        ``(..., time, feat * (order + 1))``: the features, then their deltas of order
        1, 2, ... Edge frames are replicated, as in Kaldi's ``ComputeDeltas``; each
        order is one filter applied to the features (not deltas of deltas).
    """
    _check_lengths(feats, lengths, "add_deltas")
    _check_order_window(order, window)
    num_frames, dim = feats.shape[-2], feats.shape[-1]
    if num_frames == 0:
        return feats.new_zeros(feats.shape[:-1] + (dim * (order + 1),))
    reach = order * window
    if lengths is None:
        # one edge-padded copy of the input; each tap is then a shifted slice of it
        pad_index = torch.arange(-reach, num_frames + reach, device=feats.device)
        padded = feats.index_select(-2, pad_index.clamp_(0, num_frames - 1))
        taps = [padded[..., k : k + num_frames, :] for k in range(2 * reach + 1)]
    else:
        offsets = torch.arange(-reach, reach + 1, device=feats.device)
        gathered = _gather_frames(feats, clamped_frame_index(num_frames, offsets, lengths))
        taps = [gathered[..., k, :] for k in range(2 * reach + 1)]
    out = feats.new_empty(feats.shape[:-1] + (dim * (order + 1),))
    out[..., :dim] = feats
    for i, order_taps in enumerate(_delta_taps(order, window), start=1):
        # Kaldi's order of operations: from zero, one scaled tap after the other (in a
        # contiguous buffer, then copied into the order's columns once)
        acc = torch.zeros_like(taps[0], memory_format=torch.contiguous_format)
        for k, w in order_taps:
            acc.add_(taps[k], alpha=w)
        out[..., i * dim : (i + 1) * dim] = acc
    return _mask_lengths(out, lengths)


def compute_deltas(
    specgram: Tensor,
    win_length: int = 5,
    mode: Literal["replicate", "reflect", "constant", "circular"] = "replicate",
    *,
    order: int = 1,
) -> Tensor:
    """Delta coefficients along the last (time) axis, torchaudio's ``compute_deltas``.

    Args:
        specgram: ``(..., freq, time)``.
        win_length: regression window length; ``n = (win_length - 1) // 2`` frames on
            each side (torchaudio's convention; ``win_length >= 3``).
        mode: padding of the time axis (``torch.nn.functional.pad`` modes).
        order: which delta to return: 1 gives torchaudio's result; ``k > 1`` applies the
            order-``k`` filter of :func:`delta_filters` (the first-order filter
            convolved with itself ``k`` times) to the padded sequence in one step.

    Returns:
        Deltas with the shape of ``specgram``.

    Differences: for ``order > 1`` the edges are padded once for the combined filter,
    as Kaldi's ``add-deltas`` does, so the edge frames differ from applying
    ``compute_deltas`` ``order`` times.
    """
    if win_length < 3:
        raise ValueError(f"compute_deltas: win_length must be >= 3, got {win_length}")
    if order < 1:
        raise ValueError(f"compute_deltas: order must be >= 1, got {order}")
    n = (win_length - 1) // 2
    if order == 1:  # exactly torchaudio's kernel and rounding
        denom = n * (n + 1) * (2 * n + 1) / 3
        filt = torch.arange(-n, n + 1, dtype=torch.float64) / denom
    else:
        filt = torch.from_numpy(_delta_filters(order, n)[order].astype(np.float64))
    shape = specgram.shape
    x = specgram.reshape(1, -1, shape[-1])
    reach = (filt.numel() - 1) // 2
    x = F.pad(x, (reach, reach), mode=mode)
    kernel = filt.to(device=specgram.device, dtype=specgram.dtype).repeat(x.shape[1], 1, 1)
    y = F.conv1d(x, kernel, groups=x.shape[1])
    return y.reshape(shape)


def splice_frames(
    feats: Tensor, left_context: int = 4, right_context: int = 4, *, lengths: Tensor | None = None
) -> Tensor:
    """Stack each frame with its neighbours.

    Args:
        feats: ``(..., time, feat)``.
        left_context: frames of left context (>= 0).
        right_context: frames of right context (>= 0).
        lengths: valid lengths ``(batch,)`` for a padded batch.

    Returns:
        ``(..., time, feat * (left_context + 1 + right_context))``, frames ``t -
        left_context .. t + right_context`` (edge frames replicated) side by side.

    Kaldi: ``SpliceFrames`` (splice-feats).
    """
    _check_lengths(feats, lengths, "splice_frames")
    if left_context < 0 or right_context < 0:
        raise ValueError(
            f"splice_frames: contexts must be >= 0, got {left_context}, {right_context}"
        )
    num_frames, dim = feats.shape[-2], feats.shape[-1]
    n = left_context + 1 + right_context
    if num_frames == 0:
        return feats.new_zeros(feats.shape[:-1] + (dim * n,))
    if lengths is None:
        # Output row t is rows t .. t + n - 1 of the edge-padded input, which lie next to
        # each other in memory: an overlapping strided view, copied once.
        pad_index = torch.arange(-left_context, num_frames + right_context, device=feats.device)
        padded = feats.index_select(-2, pad_index.clamp_(0, num_frames - 1)).contiguous()
        flat = padded.reshape((-1,) + padded.shape[-2:])
        view = flat.as_strided((flat.shape[0], num_frames, n * dim), (flat.stride(0), dim, 1))
        return view.contiguous().reshape(feats.shape[:-1] + (n * dim,))
    offsets = torch.arange(-left_context, right_context + 1, device=feats.device)
    out = _gather_frames(feats, clamped_frame_index(num_frames, offsets, lengths))
    return _mask_lengths(out.reshape(out.shape[:-2] + (n * dim,)), lengths)


def shift_frames(feats: Tensor, shift: int, *, lengths: Tensor | None = None) -> Tensor:
    """Delay (``shift > 0``) or advance (``shift < 0``) frames, keeping the length.

    Output frame ``t`` is input frame ``t - shift`` clamped into the sequence.

    Args:
        feats: ``(..., time, feat)``.
        shift: frames to shift by.
        lengths: valid lengths ``(batch,)`` for a padded batch.

    Returns:
        Tensor shaped like ``feats``.

    Kaldi: shift-feats.
    """
    _check_lengths(feats, lengths, "shift_frames")
    if feats.shape[-2] == 0:
        return feats.clone()
    offsets = torch.tensor([-shift], device=feats.device)
    out = _gather_frames(feats, clamped_frame_index(feats.shape[-2], offsets, lengths))
    return _mask_lengths(out.squeeze(-2), lengths)
