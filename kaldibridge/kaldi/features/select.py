"""Frame subsampling, shifting and appending (subsample-feats, shift-feats,
append-vector-to-feats, append-post-to-feats).

Functions take and return numpy arrays or torch tensors ``(frames, dim)``.

Kaldi: the tools of the same names in ``src/featbin``.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

from kaldibridge.errors import FormatError

__all__ = ["subsample_feats", "shift_feats", "append_vector_to_feats", "posterior_to_matrix", "append_post_to_feats"]


def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def subsample_feats(feats: Any, n: int = 1, offset: int = 0) -> Any:
    """Every ``n``-th frame from ``offset`` on; with ``n < 0`` each frame repeated ``-n`` times.

    Args:
        feats: ``(frames, dim)``.
        n: step (nonzero).
        offset: first frame (only with ``n > 0``).

    Returns:
        The selected frames (possibly zero of them) like ``feats``.

    Raises:
        FormatError: ``n == 0`` or ``offset`` with negative ``n``.
    """
    if n == 0:
        raise FormatError("subsample-feats: n must be nonzero")
    if n > 0:
        if offset < 0:
            raise FormatError("subsample-feats: offset must be >= 0")
        return feats[offset::n].clone() if _is_torch(feats) else np.array(feats[offset::n])
    if offset != 0:
        raise FormatError("--offset option cannot be used with negative n.")
    if _is_torch(feats):
        return feats.repeat_interleave(-n, dim=0)
    return np.repeat(np.asarray(feats), -n, axis=0)


def shift_feats(feats: Any, shift: int) -> Any:
    """Shift frames by ``shift`` (output ``t`` = input ``t - shift``, clamped), same length.

    Raises:
        FormatError: an empty matrix.
    """
    if feats.shape[0] == 0:
        raise FormatError("Empty input matrix")
    if _is_torch(feats):
        from kaldibridge.functional.deltas import shift_frames

        return shift_frames(feats, shift)
    x = np.asarray(feats)
    n = x.shape[0]
    return x[np.clip(np.arange(n) - shift, 0, n - 1)]


def append_vector_to_feats(feats: Any, vec: Any) -> Any:
    """Append the same vector to every row: ``(frames, dim) -> (frames, dim + len(vec))``.

    Raises:
        FormatError: an empty matrix.
    """
    if feats.shape[0] == 0:
        raise FormatError("append-vector-to-feats: empty feature matrix")
    if _is_torch(feats):
        import torch

        v = torch.as_tensor(vec, dtype=feats.dtype, device=feats.device)
        return torch.cat([feats, v.expand(feats.shape[0], v.shape[0])], dim=1)
    f = np.asarray(feats)
    v = np.asarray(vec, dtype=f.dtype)
    return np.concatenate([f, np.broadcast_to(v, (f.shape[0], v.shape[0]))], axis=1)


def posterior_to_matrix(
    post: Sequence[Sequence[tuple[int, float]]], post_dim: int, dtype: Any = np.float32
) -> np.ndarray:
    """Dense ``(frames, post_dim)`` matrix of a posterior (later pairs for a column win).

    Raises:
        FormatError: an index >= ``post_dim`` or negative.
    """
    rows = np.fromiter((t for t, frame in enumerate(post) for _ in frame), dtype=np.int64)
    cols = np.fromiter((p for frame in post for p, _ in frame), dtype=np.int64)
    vals = np.fromiter((w for frame in post for _, w in frame), dtype=np.float64)
    out = np.zeros((len(post), post_dim), dtype=dtype)
    if cols.size:
        bad = cols[(cols >= post_dim) | (cols < 0)]
        if bad.size:
            raise FormatError(
                f"Out-of-bound Posterior element with index {int(bad[0])}, higher than "
                f"number of columns {post_dim}"
            )
        out[rows, cols] = vals
    return out


def append_post_to_feats(feats: Any, post: Sequence[Sequence[tuple[int, float]]], post_dim: int) -> Any:
    """Append the dense posterior matrix to the features.

    Raises:
        FormatError: number of frames differs, or an index out of range.
    """
    if feats.shape[0] != len(post):
        raise FormatError(
            f"Mismatch of length! features: {feats.shape[0]} posteriors: {len(post)}"
        )
    pm = posterior_to_matrix(post, post_dim)
    if _is_torch(feats):
        import torch

        return torch.cat([feats, torch.from_numpy(pm).to(feats.device, feats.dtype)], dim=1)
    return np.concatenate([np.asarray(feats), pm.astype(np.asarray(feats).dtype)], axis=1)
