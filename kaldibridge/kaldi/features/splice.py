"""Kaldi's frame splicing (splice-feats).

Kaldi: ``SpliceFrames`` in ``src/feat/feature-functions.cc``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from kaldibridge.errors import FormatError

__all__ = ["splice_feats"]


def splice_feats(feats: Any, left_context: int = 4, right_context: int = 4) -> Any:
    """Each frame with ``left_context`` frames before and ``right_context`` after it.

    Args:
        feats: float32 ``(frames, dim)`` (or ``(..., frames, dim)``), numpy or torch.
        left_context: frames of left context (>= 0).
        right_context: frames of right context (>= 0).

    Returns:
        ``(frames, dim * (left + 1 + right))`` like ``feats``; edge frames are repeated.

    Raises:
        FormatError: an empty matrix (Kaldi's "SpliceFrames: empty input").

    Kaldi: ``SpliceFrames``.
    """
    torch = sys.modules.get("torch")
    is_tensor = torch is not None and isinstance(feats, torch.Tensor)
    shape = feats.shape
    if len(shape) < 2 or shape[-2] == 0 or shape[-1] == 0:
        raise FormatError("SpliceFrames: empty input")
    if left_context < 0 or right_context < 0:
        raise FormatError(
            f"SpliceFrames: negative context (left {left_context}, right {right_context})"
        )
    if is_tensor:
        from kaldibridge.functional.deltas import splice_frames

        return splice_frames(feats, left_context, right_context)
    x = np.asarray(feats, dtype=np.float32)
    if x.ndim != 2:
        return np.stack([splice_feats(m, left_context, right_context) for m in x.reshape((-1,) + x.shape[-2:])]).reshape(
            x.shape[:-1] + (x.shape[-1] * (left_context + 1 + right_context),)
        )
    n, dim = x.shape
    width = left_context + 1 + right_context
    out = np.empty((n, width * dim), dtype=np.float32)
    x = np.ascontiguousarray(x)
    # Output row t is input rows t - left .. t + right, which lie next to each other in
    # memory: away from the edges the spliced matrix is an overlapping strided view of
    # the input, copied once; the few edge rows repeat the first or last frame.
    lo, hi = left_context, n - right_context
    if hi > lo:
        item = x.itemsize
        view = as_strided(x, shape=(hi - lo, width * dim), strides=(dim * item, item), writeable=False)
        out[lo:hi] = view
    rows = np.concatenate((np.arange(min(lo, n)), np.arange(max(hi, lo), n)))
    if rows.size:
        idx = rows[:, None] + np.arange(-left_context, right_context + 1)
        np.clip(idx, 0, n - 1, out=idx)
        out[rows] = x[idx].reshape(rows.size, width * dim)
    return out
