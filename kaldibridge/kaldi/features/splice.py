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
    index = np.clip(np.arange(-left_context, n + right_context), 0, n - 1)
    padded = np.ascontiguousarray(x[index])
    # Row t of the output is rows t .. t + width - 1 of `padded`, which lie next to each
    # other in memory: the spliced matrix is an overlapping strided view; copy it once.
    item = padded.itemsize
    view = as_strided(padded, shape=(n, width * dim), strides=(dim * item, item), writeable=False)
    return view.copy()
