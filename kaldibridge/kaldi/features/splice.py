"""Kaldi's frame splicing (splice-feats).

Kaldi: ``SpliceFrames`` in ``src/feat/feature-functions.cc``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from kaldibridge.errors import FormatError
from kaldibridge.functional.deltas import splice_frames

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
    was_numpy = not isinstance(feats, torch.Tensor)
    x = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)) if was_numpy else feats
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise FormatError("SpliceFrames: empty input")
    if left_context < 0 or right_context < 0:
        raise FormatError(
            f"SpliceFrames: negative context (left {left_context}, right {right_context})"
        )
    y = splice_frames(x, left_context, right_context)
    return y.numpy() if was_numpy else y
