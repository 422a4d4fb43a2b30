"""Mean and variance normalization of feature sequences (global and sliding-window).

Tensors are ``(..., time, feature)``; leading dimensions are a batch. Padded batches pass
``lengths`` (one valid length per sequence); outputs past a sequence's length are zero.

The sliding window follows torchaudio's ``sliding_window_cmn`` exactly (which follows
Kaldi's ``SlidingWindowCmn``): for frame ``t`` the window is ``[t - cmn_window, t]`` (or
centred with ``center=True``), moved right at the start of the sequence and left at its
end so that it keeps its size when the sequence is long enough. Instead of torchaudio's
frame-by-frame loop the window sums come from prefix sums in float64, which makes the
whole computation a handful of vectorized tensor operations (batched, GPU-capable and
differentiable).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["sliding_window_bounds", "sliding_window_cmn", "normalize_mean_var"]


def sliding_window_bounds(
    num_frames: int | Tensor,
    cmn_window: int = 600,
    min_cmn_window: int = 100,
    center: bool = False,
    *,
    max_frames: int | None = None,
    device: torch.device | None = None,
) -> tuple[Tensor, Tensor]:
    """Start and end (exclusive) of the normalization window of every frame.

    Args:
        num_frames: sequence length, an int or an int tensor ``(batch,)``.
        cmn_window: window size in frames.
        min_cmn_window: smallest window at the start when ``center=False`` (ignored
            when centred).
        center: centre the window on the frame instead of ending it there.
        max_frames: number of frame positions to return (default: ``num_frames``, or its
            maximum for a tensor).
        device: device of the result.

    Returns:
        ``(start, end)``, int64 tensors ``(max_frames,)`` for an int length or
        ``(batch, max_frames)`` for a tensor of lengths.
    """
    # small integer index arrays: a few numpy operations cost less than torch's, on any device
    if isinstance(num_frames, Tensor):
        n: int | np.ndarray = num_frames.detach().cpu().numpy().astype(np.int64)[..., None]
        size = int(num_frames.max()) if max_frames is None else max_frames
    else:
        n = int(num_frames)
        size = n if max_frames is None else max_frames
    start, end = _bounds_np(n, size, cmn_window, min_cmn_window, center)
    return torch.from_numpy(start).to(device), torch.from_numpy(end).to(device)


def _bounds_np(
    n: int | np.ndarray, size: int, cmn_window: int, min_cmn_window: int, center: bool
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sliding_window_bounds` with numpy: int64 ``(size,)`` for an int length,
    ``(batch, size)`` for lengths ``(batch, 1)``."""
    t = np.arange(size, dtype=np.int64)
    if center:
        start = t - cmn_window // 2
        end = start + cmn_window
    else:
        start = t - cmn_window
        end = t + 1
    # move the window right when it starts before the sequence
    end = np.where(start < 0, end - start, end)
    np.maximum(start, 0, out=start)
    if not center:
        end = np.where(end > t, np.maximum(t + 1, min_cmn_window), end)
    # move it left when it runs past the end
    over = np.maximum(end - n, 0)
    start = np.maximum(start - over, 0)
    end = np.minimum(end, n)
    return start, end


def _prefix_sums(x: Tensor) -> Tensor:
    """``(..., T, D) -> (..., T + 1, D)`` cumulative sums with a leading zero row."""
    zero = torch.zeros(x.shape[:-2] + (1, x.shape[-1]), dtype=x.dtype, device=x.device)
    return torch.cat([zero, torch.cumsum(x, dim=-2)], dim=-2)


def _window_sum(prefix: Tensor, start: Tensor, end: Tensor) -> Tensor:
    """Sums over ``[start, end)`` from prefix sums ``(..., T + 1, D)``."""
    dim = prefix.shape[-1]
    if start.dim() == 1:
        return prefix.index_select(-2, end) - prefix.index_select(-2, start)
    shape = start.shape + (dim,)
    hi = torch.gather(prefix, -2, end.unsqueeze(-1).expand(shape))
    lo = torch.gather(prefix, -2, start.unsqueeze(-1).expand(shape))
    return hi - lo


def sliding_window_cmn(
    specgram: Tensor,
    cmn_window: int = 600,
    min_cmn_window: int = 100,
    center: bool = False,
    norm_vars: bool = False,
    *,
    lengths: Tensor | None = None,
    var_floor: float = 1e-10,
    return_num_floored: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Sliding-window cepstral mean (and optionally variance) normalization.

    Args:
        specgram: features ``(..., time, freq)``.
        cmn_window: window size in frames (> 0).
        min_cmn_window: minimum window at the start of the sequence when
            ``center=False`` (adds latency only at the start); ignored when centred.
        center: window centred on the frame (to the extent possible) instead of
            preceding it.
        norm_vars: also scale to unit variance within the window.
        lengths: valid lengths ``(batch,)`` when ``specgram`` is a padded batch
            ``(batch, time, freq)``; frames past a length come out as zeros.
        var_floor: variances are floored to this before taking ``var ** -0.5``.
        return_num_floored: also return how many elements of each frame had their
            variance floored, an int64 tensor ``(..., time)`` (zeros without
            ``norm_vars``).

    Returns:
        Normalized features with the shape and dtype of ``specgram``; with
        ``return_num_floored``, the tuple ``(features, num_floored)``.

    Sums are taken in float64. A window of one frame gives zeros when ``norm_vars``.

    Differences: torchaudio does not floor the variance (a constant feature gives
    inf/nan there); this follows Kaldi's floor of 1e-10.
    """
    if cmn_window <= 0:
        raise ValueError(f"sliding_window_cmn: cmn_window must be positive, got {cmn_window}")
    if specgram.dim() < 2:
        raise ValueError(
            f"sliding_window_cmn: expected (..., time, freq), got shape {tuple(specgram.shape)}"
        )
    num_frames = specgram.shape[-2]
    x = specgram.to(torch.float64)
    if lengths is not None:
        if specgram.dim() != 3 or lengths.shape != specgram.shape[:1]:
            raise ValueError(
                "sliding_window_cmn: lengths needs specgram (batch, time, freq) and lengths (batch,)"
            )
        start, end = sliding_window_bounds(
            lengths, cmn_window, min_cmn_window, center, max_frames=num_frames, device=x.device
        )
        valid = torch.arange(num_frames, device=x.device) < lengths.to(x.device).unsqueeze(-1)
        start = torch.where(valid, start, 0)
        end = torch.where(valid, end, 1).clamp(min=1)
        x = x * valid.unsqueeze(-1)
    else:
        start, end = sliding_window_bounds(
            num_frames, cmn_window, min_cmn_window, center, device=x.device
        )
        valid = None
    count = (end - start).to(torch.float64).unsqueeze(-1)
    total = _window_sum(_prefix_sums(x), start, end)
    mean = total / count
    out = x - mean
    floored = torch.zeros(out.shape[:-1], dtype=torch.int64, device=out.device)
    if norm_vars:
        sumsq = _window_sum(_prefix_sums(x * x), start, end)
        var = sumsq / count - mean * mean
        low = var < var_floor
        floored = low.sum(dim=-1)
        inv_std = var.clamp(min=var_floor).rsqrt()
        single = count == 1
        out = torch.where(single, torch.zeros_like(out), out * inv_std)
        floored = torch.where(single.squeeze(-1), 0, floored)
    if valid is not None:
        out = out * valid.unsqueeze(-1)
        floored = floored * valid
    out = out.to(specgram.dtype)
    if return_num_floored:
        return out, floored
    return out


def normalize_mean_var(
    x: Tensor,
    mean: Tensor,
    var: Tensor | None = None,
    *,
    var_floor: float = 1e-20,
    reverse: bool = False,
) -> Tensor:
    """Normalize ``x`` with a given mean (and variance), or undo that normalization.

    Args:
        x: features ``(..., time, freq)``.
        mean: ``(..., freq)``, broadcast over time.
        var: ``(..., freq)`` or ``None`` (means only).
        var_floor: variances are floored to this.
        reverse: map zero-mean unit-variance input to the given mean and variance
            instead.

    Returns:
        ``(x - mean) / sqrt(var)`` (or ``x * sqrt(var) + mean`` when ``reverse``), in the
        dtype of ``x``; the offset and scale are computed in float64 and rounded to that
        dtype before they are applied.
    """
    mean = mean.to(torch.float64)
    if var is None:
        offset = (mean if reverse else -mean).to(x.dtype)
        return x + offset.unsqueeze(-2)
    v = var.to(torch.float64).clamp(min=var_floor)
    if reverse:
        scale, offset = v.sqrt(), mean
    else:
        scale = v.rsqrt()
        offset = -(mean * scale)
    return x * scale.to(x.dtype).unsqueeze(-2) + offset.to(x.dtype).unsqueeze(-2)
