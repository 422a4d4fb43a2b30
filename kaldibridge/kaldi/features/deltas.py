"""Kaldi's delta features (add-deltas) and shifted deltas.

Kaldi: ``DeltaFeaturesOptions``, ``ComputeDeltas`` in ``src/feat/feature-functions.cc``.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaldibridge.errors import FormatError, OptionError
from kaldibridge.kaldi.options import OptionGroup, option

__all__ = [
    "DeltaFeaturesOptions",
    "compute_deltas_kaldi",
    "kaldi_delta_scales",
    "ShiftedDeltaFeaturesOptions",
    "compute_shifted_deltas",
]


@dataclass(frozen=True)
class DeltaFeaturesOptions(OptionGroup):
    """Delta options (add-deltas).

    Kaldi: ``DeltaFeaturesOptions``.
    """

    delta_order: int = option(2, "Highest order of deltas to append.", cpp="order")
    delta_window: int = option(
        2,
        "Half-width of the regression window of each delta order (the window spans "
        "2 * delta-window + 1 frames).",
        cpp="window",
    )

    def validate(self) -> None:
        if not 0 <= self.delta_order < 1000:
            raise OptionError(f"--delta-order must be in [0, 1000), got {self.delta_order}")
        if not 0 < self.delta_window < 1000:
            raise OptionError(f"--delta-window must be in (0, 1000), got {self.delta_window}")


@dataclass(frozen=True)
class ShiftedDeltaFeaturesOptions(OptionGroup):
    """Shifted delta cepstra options (add-deltas-sdc).

    Kaldi: ``ShiftedDeltaFeaturesOptions``.
    """

    delta_window: int = option(1, "Half-width of the delta computed for each block.", cpp="window")
    num_blocks: int = option(7, "Number of delta blocks appended after the features.")
    block_shift: int = option(3, "Frames between the starts of consecutive blocks.")

    def validate(self) -> None:
        if not 0 < self.delta_window < 1000:
            raise OptionError(f"--delta-window must be in (0, 1000), got {self.delta_window}")
        if self.num_blocks < 0 or self.block_shift < 0:
            raise OptionError("--num-blocks and --block-shift must be >= 0")


#: Largest work buffer (bytes) kept between calls by :class:`_Scratch`.
_SCRATCH_MAX_BYTES = 8 << 20


class _Scratch(threading.local):
    """Per-thread work buffers reused from call to call (never returned to callers).

    These operations are memory-bound: allocating and freeing a few hundred KB of
    temporaries per utterance let glibc give the pages back to the kernel and fault
    them in again on the next call, which cost more than the arithmetic. Buffers
    larger than ``_SCRATCH_MAX_BYTES`` are allocated per call instead.
    """

    def __init__(self) -> None:
        self.bufs: dict[tuple[str, str], np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """An uninitialized array of ``shape``; the same memory on the next call."""
        dt = np.dtype(dtype)
        size = math.prod(shape)
        if size * dt.itemsize > _SCRATCH_MAX_BYTES:
            return np.empty(shape, dtype=dt)
        key = (name, dt.str)
        buf = self.bufs.get(key)
        if buf is None or buf.size < size:
            buf = np.empty(max(size, 1 << 14), dtype=dt)
            self.bufs[key] = buf
        return buf[:size].reshape(shape)


scratch = _Scratch()


def compute_shifted_deltas(
    feats: Any, opts: ShiftedDeltaFeaturesOptions | None = None, *, truncate: int = 0, **kwargs: Any
) -> Any:
    """Features followed by ``num_blocks`` shifted first-order delta blocks (SDC).

    Block ``i`` of frame ``t`` is the delta (regression over ``t - window .. t +
    window``, frames clamped to the utterance) at frame ``t + i * block_shift``.

    Args:
        feats: float32 ``(frames, dim)``, numpy (a torch tensor is converted and a
            tensor returned).
        opts: options; keywords override them.
        truncate: if nonzero, keep only the first ``truncate`` dimensions first.

    Returns:
        ``(frames, dim * (num_blocks + 1))`` float32.

    Kaldi: ``ComputeShiftedDeltas`` (add-deltas-sdc).
    """
    o = opts or ShiftedDeltaFeaturesOptions()
    if kwargs:
        o = o.replace(**kwargs)
    o.validate()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(feats, torch.Tensor):
        out = compute_shifted_deltas(feats.detach().cpu().numpy(), o, truncate=truncate)
        return torch.from_numpy(out).to(feats.device)
    x = np.asarray(feats, dtype=np.float32)
    if truncate:
        _check_truncate(x.shape[1], truncate)
        x = x[:, :truncate]
    n, dim = x.shape
    out = np.empty((n, dim * (o.num_blocks + 1)), dtype=np.float32)
    out[:, :dim] = x
    if n == 0 or o.num_blocks == 0:
        return out
    w = o.delta_window
    normalizer = np.float32(0)
    for j in range(-w, w + 1):
        normalizer = np.float32(normalizer + np.float32(j * j))
    scale = np.float32(1.0 / float(normalizer))
    # deltas at positions 0 .. n - 1 + (num_blocks - 1) * block_shift, frames clamped
    positions = np.arange(n + (o.num_blocks - 1) * o.block_shift)
    delta = np.zeros((positions.size, dim), dtype=np.float32)
    for j in range(-w, w + 1):
        if j != 0:
            delta += np.float32(j) * scale * x[np.clip(positions + j, 0, n - 1)]
    for i in range(o.num_blocks):
        start = i * o.block_shift
        out[:, (i + 1) * dim : (i + 2) * dim] = delta[start : start + n]
    return out


def compute_deltas_kaldi(
    feats: Any, opts: DeltaFeaturesOptions | None = None, *, truncate: int = 0, **kwargs: Any
) -> Any:
    """Features with their deltas appended, as add-deltas writes them.

    Args:
        feats: float32 ``(frames, dim)`` (or ``(..., frames, dim)``), numpy or torch.
        opts: delta options; keywords (``delta_order=1``) override them.
        truncate: if nonzero, keep only the first ``truncate`` dimensions first.

    Returns:
        float32 ``(frames, dim * (order + 1))``, numpy or torch like ``feats``.

    Raises:
        FormatError: ``truncate`` larger than the dimension.

    numpy inputs are computed with numpy (recursive first-order differences, see
    ``_np_add_deltas``; equal to Kaldi's output to float rounding); torch tensors with
    :func:`kaldibridge.functional.deltas.add_deltas` (batched, differentiable; Kaldi's
    filters and tap order, bit-identical to Kaldi on CPU).

    Kaldi: ``ComputeDeltas`` (add-deltas).
    """
    o = opts or _default_delta_options()
    if kwargs:
        o = o.replace(**kwargs)
    o.validate()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(feats, torch.Tensor):
        from kaldibridge.functional.deltas import add_deltas

        x = feats
        if truncate:
            _check_truncate(x.shape[-1], truncate)
            x = x[..., :truncate]
        return add_deltas(x.to(torch.float32), o.delta_order, o.delta_window)
    x = np.asarray(feats, dtype=np.float32)
    if truncate:
        _check_truncate(x.shape[-1], truncate)
        x = x[..., :truncate]
    return _np_add_deltas(x, o.delta_order, o.delta_window)


@functools.lru_cache(maxsize=1)
def _default_delta_options() -> DeltaFeaturesOptions:
    return DeltaFeaturesOptions()


def kaldi_delta_scales(order: int, window: int) -> list[np.ndarray]:
    """Kaldi's delta filters of orders ``0..order`` (float32, Kaldi's operation order).

    Same values as :func:`kaldibridge.functional.deltas.delta_filters`, computed without
    torch so that the command-line tools do not need to import it.

    Kaldi: ``DeltaFeatures::DeltaFeatures``.
    """
    return [f.copy() for f in _scales_cached(order, window)]


@functools.lru_cache(maxsize=16)
def _scales_cached(order: int, window: int) -> tuple[np.ndarray, ...]:
    scales = _compute_scales(order, window)
    for f in scales:
        f.setflags(write=False)
    return tuple(scales)


def _compute_scales(order: int, window: int) -> list[np.ndarray]:
    f32 = np.float32
    normalizer = f32(0)
    for j in range(-window, window + 1):
        normalizer = f32(normalizer + f32(j * j))
    scale = f32(1.0 / float(normalizer))
    scales = [np.ones(1, dtype=f32)]
    for _ in range(order):
        prev = scales[-1]
        cur = np.zeros(prev.size + 2 * window, dtype=f32)
        for j in range(-window, window + 1):
            cur[j + window : j + window + prev.size] += f32(j) * prev
        scales.append((cur * scale).astype(f32))
    return scales


def _check_truncate(dim: int, truncate: int) -> None:
    if truncate > dim:
        raise FormatError(
            f"Cannot truncate features as dimension {dim} is smaller than truncation dimension."
        )


def _np_add_deltas(x: np.ndarray, order: int, window: int) -> np.ndarray:
    """numpy path of :func:`compute_deltas_kaldi` for ``(..., frames, dim)`` arrays.

    Away from the edges, the order-``i`` delta is the first-order regression applied
    to the order ``i - 1`` delta (Kaldi's order-``i`` filter is that convolution), and
    the unnormalized regression is ``sum_j j * (y[t + j] - y[t - j])``: ``3 * window - 1``
    passes over contiguous frames per order instead of two per tap of the combined
    filter; the normalization ``(1 / sum_j j^2) ** i`` is applied while the order is
    written into its columns of the output. The ``i * window`` frames at each edge,
    where Kaldi repeats the edge frames under the combined filter, are computed with
    that filter directly. No BLAS call (a small matmul costs more in thread start-up
    than it saves). Results equal Kaldi's to float rounding: Kaldi sums the taps with
    fused multiply-adds, which numpy cannot express (the torch path does).
    """
    if x.ndim != 2:
        flat = x.reshape((-1,) + x.shape[-2:])
        out = np.stack([_np_add_deltas(m, order, window) for m in flat]) if flat.shape[0] else None
        shape = x.shape[:-1] + (x.shape[-1] * (order + 1),)
        return np.zeros(shape, np.float32) if out is None else out.reshape(shape)
    n, dim = x.shape
    out = np.empty((n, dim * (order + 1)), dtype=np.float32)
    out[:, :dim] = x
    if n == 0 or order == 0 or dim == 0:
        return out
    x = np.ascontiguousarray(x)
    filters = _scales_cached(order, window)
    inv = 1.0 / sum(j * j for j in range(-window, window + 1))
    work = scratch.get("deltas", (3, n, dim))  # two orders in turn and a temporary
    tmp = work[2]
    prev = x
    for i in range(1, order + 1):
        cols = out[:, i * dim : (i + 1) * dim]
        cur = work[i % 2]
        lo, hi = i * window, n - i * window
        if hi > lo:
            m = hi - lo
            acc = cur[lo:hi]
            np.subtract(prev[lo + 1 : hi + 1], prev[lo - 1 : hi - 1], out=acc)
            for j in range(2, window + 1):
                d = tmp[:m]
                np.subtract(prev[lo + j : hi + j], prev[lo - j : hi - j], out=d)
                d *= np.float32(j)
                acc += d
            np.multiply(acc, np.float32(inv**i), out=cols[lo:hi])
        prev = cur
    _edge_deltas(x, filters, out)
    return out


@functools.lru_cache(maxsize=64)
def _edge_index(n: int, reach: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.unique(np.concatenate((np.arange(min(reach, n)), np.arange(max(n - reach, 0), n))))
    idx = np.clip(rows[:, None] + np.arange(-reach, reach + 1), 0, n - 1)
    rows.setflags(write=False)
    idx.setflags(write=False)
    return rows, idx


def _edge_deltas(x: np.ndarray, filters: tuple[np.ndarray, ...], out: np.ndarray) -> None:
    """The ``order * window`` rows at each edge, all orders: each order's combined filter
    over clamped frames (one gather and one row assignment for all of them). Rows that
    the recursion also covered get the same values to float rounding."""
    n, dim = x.shape
    order = len(filters) - 1
    reach = (filters[-1].size - 1) // 2
    rows, idx = _edge_index(n, reach)
    frames = x[idx]  # (rows, 2 * reach + 1, dim)
    vals = np.empty((rows.size, order, dim), dtype=np.float32)
    for i in range(1, order + 1):
        r = (filters[i].size - 1) // 2
        np.einsum("k,rkd->rd", filters[i], frames[:, reach - r : reach + r + 1], out=vals[:, i - 1])
    out[rows, dim:] = vals.reshape(rows.size, order * dim)
