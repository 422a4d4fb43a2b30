"""Cutting a signal into overlapping frames.

Two edge conventions are supported:

* ``snip_edges=True``: frame ``t`` covers samples ``[t * shift, t * shift + length)`` and
  only frames lying entirely inside the signal are produced.
* ``snip_edges=False``: the number of frames is ``round(num_samples / shift)``, frame ``t``
  is centred at ``t * shift + shift // 2``, and samples outside the signal are taken from
  its mirror image (``-1 -> 0``, ``-2 -> 1``, ``n -> n - 1``; repeated as often as needed).
"""

from __future__ import annotations

import torch

__all__ = ["num_frames", "first_sample_of_frame", "frame_indices", "frame_signal", "num_frames_tensor"]


def num_frames(num_samples: int, frame_length: int, frame_shift: int, snip_edges: bool = True) -> int:
    """Number of frames a signal of ``num_samples`` samples yields.

    Args:
        num_samples: signal length in samples.
        frame_length: frame length in samples (> 0).
        frame_shift: hop in samples (> 0).
        snip_edges: edge convention (see the module docstring).

    Returns:
        The frame count (0 when the signal is shorter than one frame and ``snip_edges``).
    """
    if snip_edges:
        if num_samples < frame_length:
            return 0
        return 1 + (num_samples - frame_length) // frame_shift
    return (num_samples + frame_shift // 2) // frame_shift


def num_frames_tensor(
    lengths: torch.Tensor, frame_length: int, frame_shift: int, snip_edges: bool = True
) -> torch.Tensor:
    """:func:`num_frames` for a tensor of lengths ``(batch,)``; returns int64 ``(batch,)``."""
    lengths = lengths.to(torch.int64)
    if snip_edges:
        n = 1 + torch.div(lengths - frame_length, frame_shift, rounding_mode="floor")
        return torch.where(lengths < frame_length, torch.zeros_like(n), n)
    return torch.div(lengths + frame_shift // 2, frame_shift, rounding_mode="floor")


def first_sample_of_frame(frame: int, frame_length: int, frame_shift: int, snip_edges: bool = True) -> int:
    """Index of the first sample of frame ``frame`` (negative at the start when not snipping)."""
    if snip_edges:
        return frame * frame_shift
    return frame * frame_shift + frame_shift // 2 - frame_length // 2


def _reflect(index: torch.Tensor, n: torch.Tensor | int) -> torch.Tensor:
    """Map any integer index into ``[0, n)`` by repeated mirroring about the signal ends."""
    period = 2 * n
    r = torch.remainder(index, period)
    return torch.where(r >= n, period - 1 - r, r)


def frame_indices(
    count: int,
    frame_length: int,
    frame_shift: int,
    snip_edges: bool,
    lengths: torch.Tensor | int,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Sample indices of each frame, reflected into the signal.

    Args:
        count: number of frames to index.
        frame_length: samples per frame.
        frame_shift: hop in samples.
        snip_edges: edge convention.
        lengths: signal length(s); an int, or an int64 tensor ``(batch,)`` for one
            reflection per signal.
        device: device of the result.

    Returns:
        int64 ``(count, frame_length)``, or ``(batch, count, frame_length)`` when
        ``lengths`` is a tensor.
    """
    start = torch.arange(count, device=device, dtype=torch.int64) * frame_shift
    if not snip_edges:
        start = start + (frame_shift // 2 - frame_length // 2)
    idx = start[:, None] + torch.arange(frame_length, device=device, dtype=torch.int64)[None, :]
    if isinstance(lengths, torch.Tensor):
        n = lengths.to(device=idx.device, dtype=torch.int64).clamp_min(1)[:, None, None]
        return _reflect(idx[None], n)
    if snip_edges:
        return idx
    return _reflect(idx, max(int(lengths), 1))


def frame_signal(
    waveform: torch.Tensor, frame_length: int, frame_shift: int, snip_edges: bool = True
) -> torch.Tensor:
    """Cut the last dimension of ``waveform`` into frames.

    Args:
        waveform: ``(..., time)``.
        frame_length: samples per frame.
        frame_shift: hop in samples.
        snip_edges: edge convention (see the module docstring).

    Returns:
        ``(..., frames, frame_length)``. With ``snip_edges=True`` this is a strided view of
        ``waveform`` (copy it before writing into it); otherwise a new tensor.
    """
    n = waveform.shape[-1]
    count = num_frames(n, frame_length, frame_shift, snip_edges)
    if snip_edges:
        if count == 0:
            return waveform.new_zeros(waveform.shape[:-1] + (0, frame_length))
        return waveform.unfold(-1, frame_length, frame_shift)
    if count == 0 or n == 0:
        return waveform.new_zeros(waveform.shape[:-1] + (0, frame_length))
    idx = frame_indices(count, frame_length, frame_shift, False, n, device=waveform.device)
    return waveform[..., idx]
