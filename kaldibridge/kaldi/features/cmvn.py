"""Kaldi's cepstral mean and variance normalization: CMVN statistics and their use.

CMVN stats are Kaldi's ``(2, dim + 1)`` float64 matrix: row 0 holds the per-dimension
sums of the features and, in its last column, the frame count (sum of weights); row 1
holds the sums of squares (last column 0). Stats of several utterances add up.

Every function accepts numpy arrays or torch tensors and returns the same kind; leading
batch dimensions are allowed (``(..., frames, dim)`` features with ``(..., 2, dim + 1)``
stats), so a padded batch can be normalized on a GPU in one call.

Kaldi: ``src/transform/cmvn.cc`` (``AccCmvnStats``, ``ApplyCmvn``, ``ApplyCmvnReverse``,
``FakeStatsForSomeDims``), ``SlidingWindowCmn`` in ``src/feat/feature-functions.cc``.
"""

from __future__ import annotations

import functools
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from kaldibridge.errors import FormatError, OptionError
from kaldibridge.kaldi.features.deltas import scratch
from kaldibridge.kaldi.options import OptionGroup, option

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "SlidingWindowCmnOptions",
    "compute_cmvn_stats",
    "compute_cmvn_stats_two_channel",
    "apply_cmvn",
    "fake_stats_for_some_dims",
    "cmvn_stats_to_mean_var",
    "apply_cmvn_sliding",
    "parse_skip_dims",
]

_log = logging.getLogger(__name__)

#: Kaldi floors the variance of ``ApplyCmvn`` at this value.
CMVN_VAR_FLOOR = 1.0e-20
#: Kaldi floors the sliding-window variance at this value.
SLIDING_VAR_FLOOR = 1.0e-10


@dataclass(frozen=True)
class SlidingWindowCmnOptions(OptionGroup):
    """Options of sliding-window CMN (apply-cmvn-sliding).

    Kaldi: ``SlidingWindowCmnOptions``.
    """

    cmn_window: int = option(600, "Window length in frames of the running mean (and variance).")
    min_cmn_window: int = option(
        100,
        "Smallest window used at the start of an utterance when the window is not "
        "centred (latency only at the start); ignored with --center=true.",
        cpp="min_window",
    )
    max_warnings: int = option(
        5, "Most variance-flooring warnings printed per utterance (0: none, -1: all)."
    )
    norm_vars: bool = option(
        False, "Also normalize the variance to one within the window.", cpp="normalize_variance"
    )
    center: bool = option(
        False,
        "Centre the window on the current frame (as far as the utterance allows); "
        "otherwise it ends at the current frame.",
    )

    def validate(self) -> None:
        if self.cmn_window <= 0:
            raise OptionError(f"--cmn-window must be positive, got {self.cmn_window}")
        if self.center and not 0 < self.min_cmn_window <= self.cmn_window:
            raise OptionError(
                f"--min-cmn-window must be in (0, --cmn-window] with --center=true, got "
                f"{self.min_cmn_window} (cmn-window {self.cmn_window})"
            )


@functools.lru_cache(maxsize=1)
def _default_sliding_options() -> SlidingWindowCmnOptions:
    return SlidingWindowCmnOptions()


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _as_tensor(x: Any) -> "tuple[Tensor, bool]":
    import torch

    if isinstance(x, torch.Tensor):
        return x, False
    return torch.from_numpy(np.asarray(x)), True


def _back(t: Tensor, was_numpy: bool) -> Any:
    return t.numpy() if was_numpy else t


def compute_cmvn_stats(feats: Any, weights: Any | None = None) -> Any:
    """Accumulate CMVN statistics of one utterance (or a batch).

    Args:
        feats: float32 features ``(..., frames, dim)``, ``dim > 0``.
        weights: optional per-frame weights ``(..., frames)``; frames with weight 0 are
            skipped (a padded batch passes a 0/1 mask here).

    Returns:
        float64 stats ``(..., 2, dim + 1)``, numpy or torch like ``feats``.

    Raises:
        FormatError: ``dim == 0`` (an empty 0x0 matrix) or weights of the wrong length.

    Products are rounded to float32 before they are summed in float64, as Kaldi does
    (``x * x * w`` in float), so results match Kaldi to summation order.

    Kaldi: ``InitCmvnStats`` + ``AccCmvnStats``.
    Differences: an empty matrix raises an error instead of failing an assertion.
    """
    if not _is_tensor(feats):
        return _np_cmvn_stats(np.asarray(feats), weights)
    import torch

    x, was_numpy = _as_tensor(feats)
    if x.dim() < 2:
        raise FormatError(f"CMVN stats need a (frames, dim) matrix, got shape {tuple(x.shape)}")
    dim = x.shape[-1]
    if dim == 0:
        raise FormatError(
            f"cannot compute CMVN stats of a matrix with {x.shape[-2]} rows and 0 columns"
        )
    x = x.to(torch.float32)
    if weights is None:
        first = x
        second = x * x
        count = torch.full(x.shape[:-2], float(x.shape[-2]), dtype=torch.float64, device=x.device)
    else:
        w, _ = _as_tensor(weights)
        w = w.to(device=x.device, dtype=torch.float32)
        if w.shape != x.shape[:-1]:
            raise FormatError(
                f"weights have shape {tuple(w.shape)} but features have {tuple(x.shape[:-1])} frames"
            )
        wc = w.unsqueeze(-1)
        first = x * wc
        second = x * x * wc
        count = w.to(torch.float64).sum(-1)
    sums = first.to(torch.float64).sum(-2)
    sumsq = second.to(torch.float64).sum(-2)
    stats = torch.zeros(x.shape[:-2] + (2, dim + 1), dtype=torch.float64, device=x.device)
    stats[..., 0, :dim] = sums
    stats[..., 0, dim] = count
    stats[..., 1, :dim] = sumsq
    return _back(stats, was_numpy)


def compute_cmvn_stats_two_channel(
    feats1: np.ndarray, feats2: np.ndarray, quieter_channel_weight: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """CMVN stats of the two sides of a call, counting each frame mostly for the louder side.

    Frame ``t`` adds to the stats of the side whose first feature (energy or C0) is
    larger with weight 1, and to the other side's with ``quieter_channel_weight``.

    Args:
        feats1, feats2: ``(frames, dim)`` features of the two sides (same shape).

    Returns:
        ``(stats1, stats2)``, float64 ``(2, dim + 1)`` each.

    Raises:
        FormatError: the shapes differ (the caller decides what to do then).

    Kaldi: ``AccCmvnStatsForPair`` (compute-cmvn-stats-two-channel).
    """
    a = np.asarray(feats1, dtype=np.float32)
    b = np.asarray(feats2, dtype=np.float32)
    if a.shape != b.shape or a.ndim != 2:
        raise FormatError(f"the two channels have shapes {a.shape} and {b.shape}")
    first_louder = a[:, 0] > b[:, 0]
    q = np.float32(quieter_channel_weight)
    w1 = np.where(first_louder, np.float32(1.0), q).astype(np.float32)
    w2 = np.where(first_louder, q, np.float32(1.0)).astype(np.float32)
    return compute_cmvn_stats(a, w1), compute_cmvn_stats(b, w2)


def fake_stats_for_some_dims(stats: Any, dims: Sequence[int]) -> Any:
    """Stats that leave dimensions ``dims`` unnormalized (mean 0, variance 1).

    Args:
        stats: ``(..., 2, dim + 1)`` CMVN stats (not modified).
        dims: dimensions to neutralize, each in ``[0, dim)``.

    Returns:
        A modified copy.

    Kaldi: ``FakeStatsForSomeDims``.
    """
    if not _is_tensor(stats):
        s = np.array(stats, dtype=np.float64)
        if s.ndim < 2 or s.shape[-2] != 2 or s.shape[-1] < 2:
            raise FormatError(f"expected CMVN stats with 2 rows, got shape {s.shape}")
        dim = s.shape[-1] - 1
        bad = [d for d in dims if not 0 <= d < dim]
        if bad:
            raise OptionError(f"skip dims {bad} out of range for CMVN stats of dimension {dim}")
        if len(dims):
            idx = np.asarray(list(dims), dtype=np.int64)
            s[..., 0, idx] = 0.0
            s[..., 1, idx] = s[..., 0, dim : dim + 1]
        return s
    import torch

    s, was_numpy = _as_tensor(stats)
    if s.dim() < 2 or s.shape[-2] != 2 or s.shape[-1] < 2:
        raise FormatError(f"expected CMVN stats with 2 rows, got shape {tuple(s.shape)}")
    dim = s.shape[-1] - 1
    s = s.clone()
    dims = list(dims)
    bad = [d for d in dims if not 0 <= d < dim]
    if bad:
        raise OptionError(f"skip dims {bad} out of range for CMVN stats of dimension {dim}")
    if dims:
        idx = torch.tensor(dims, dtype=torch.int64, device=s.device)
        s[..., 0, idx] = 0.0
        s[..., 1, idx] = s[..., 0, dim : dim + 1].expand(s.shape[:-2] + (len(dims),))
    return _back(s, was_numpy)


def parse_skip_dims(text: str) -> list[int]:
    """Parse a colon-separated integer list such as ``"13:14:15"`` (empty -> ``[]``).

    Raises:
        OptionError: a field that is not an integer.
    """
    if text == "":
        return []
    out = []
    for field in text.split(":"):
        try:
            out.append(int(field.strip(), 10))
        except ValueError:
            raise OptionError(
                f"bad list of dimensions {text!r} (should be colon-separated list of integers)"
            ) from None
    return out


def _check_stats(s: Tensor, x: Tensor, norm_vars: bool) -> Tensor:
    import torch  # noqa: F401  (torch path only)

    dim = s.shape[-1] - 1
    rows = s.shape[-2] if s.dim() >= 2 else 0
    if s.dim() < 2 or rows > 2 or rows < 1 or x.shape[-1] != dim:
        raise FormatError(
            f"Dim mismatch: cmvn {rows}x{s.shape[-1] if s.dim() else 0}, feats "
            f"{x.shape[-2]}x{x.shape[-1]}"
        )
    if rows == 1 and norm_vars:
        raise FormatError(
            "You requested variance normalization but no variance stats are supplied."
        )
    count = s[..., 0, dim]
    low = count < 1.0
    if bool(low.any()):
        bad = float(count[low].flatten()[0])
        raise FormatError(
            f"Insufficient stats for cepstral mean and variance normalization: count = {bad:g}"
        )
    return count


def _variance(s: Tensor, count: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    import torch  # noqa: F401  (torch path only)

    mean = s[..., 0, :dim] / count.unsqueeze(-1)
    var = s[..., 1, :dim] / count.unsqueeze(-1) - mean * mean
    low = var < CMVN_VAR_FLOOR
    if bool(low.any()):
        for v in var[low].flatten().tolist()[:100]:
            _log.warning("Flooring cepstral variance from %g to %g", v, CMVN_VAR_FLOOR)
        var = var.clamp(min=CMVN_VAR_FLOOR)
    return mean, var


def apply_cmvn(
    feats: Any, stats: Any, norm_vars: bool = False, *, reverse: bool = False
) -> Any:
    """Normalize features with CMVN stats (or, with ``reverse``, undo it).

    Args:
        feats: float32 features ``(..., frames, dim)``.
        stats: ``(..., 1 or 2, dim + 1)`` stats (float64 preferred); leading dimensions
            broadcast with ``feats``'s.
        norm_vars: also normalize variances (needs the second row).
        reverse: map zero-mean unit-variance features to the stats' mean and variance.

    Returns:
        float32 features like ``feats`` (numpy or torch).

    Raises:
        FormatError: dimension mismatch, missing variance row, or count < 1.

    Offsets and scales are computed in float64 and rounded to float32, then applied in
    float32, exactly as Kaldi does; variances below 1e-20 are floored with a warning.

    Kaldi: ``ApplyCmvn`` / ``ApplyCmvnReverse`` (apply-cmvn).
    """
    if (
        type(feats) is np.ndarray
        and type(stats) is np.ndarray
        and not reverse
        and feats.dtype == np.float32
        and stats.dtype == np.float64
        and feats.ndim == 2
        and stats.shape == (2, feats.shape[1] + 1)
    ):
        return _np_apply_cmvn_2d(feats, stats, norm_vars)  # the common case, least overhead
    if not _is_tensor(feats) and not _is_tensor(stats):
        return _np_apply_cmvn(np.asarray(feats), np.asarray(stats, dtype=np.float64), norm_vars, reverse)
    import torch

    x, was_numpy = _as_tensor(feats)
    s, _ = _as_tensor(stats)
    x = x.to(torch.float32)
    if (
        not reverse
        and x.dim() == 2
        and tuple(s.shape) == (2, x.shape[1] + 1)
        and s.device.type == "cpu"
        and not s.requires_grad
    ):
        # one utterance with stats on the CPU: the (dim,)-sized arithmetic in numpy
        scale, offset, _ = _np_scale_offset(s.numpy().astype(np.float64, copy=False), norm_vars)
        off = torch.from_numpy(offset).to(x.device)
        if scale is None:
            return _back(x + off, was_numpy)
        y = x * torch.from_numpy(scale).to(x.device)
        y += off
        return _back(y, was_numpy)
    s = s.to(device=x.device, dtype=torch.float64)
    count = _check_stats(s, x, norm_vars)
    dim = x.shape[-1]
    if not reverse and not norm_vars:
        # Kaldi: offset = float(-1/count) * mean_stats, rounded to float
        alpha = (-1.0 / count).to(torch.float32).to(torch.float64)
        offset = (alpha.unsqueeze(-1) * s[..., 0, :dim]).to(torch.float32)
        return _back(x + offset.unsqueeze(-2), was_numpy)
    if not norm_vars:  # reverse, means only
        offset = (s[..., 0, :dim] / count.unsqueeze(-1)).to(torch.float32)
        return _back(x + offset.unsqueeze(-2), was_numpy)
    mean, var = _variance(s, count, dim)
    if reverse:
        scale = var.sqrt()
        offset = mean
    else:
        scale = 1.0 / var.sqrt()
        if bool((~torch.isfinite(scale)).any()):
            raise FormatError("NaN or infinity in cepstral mean/variance computation")
        offset = -(mean * scale)
    y = x * scale.to(torch.float32).unsqueeze(-2) + offset.to(torch.float32).unsqueeze(-2)
    return _back(y, was_numpy)


def cmvn_stats_to_mean_var(stats: Any) -> Any:
    """Convert stats to a ``(..., 2, dim)`` matrix of means (row 0) and variances (row 1).

    Raises:
        FormatError: not two rows, or a count <= 0.

    Kaldi: modify-cmvn-stats ``--convert-to-mean-and-var``.
    """
    if not _is_tensor(stats):
        s = np.asarray(stats, dtype=np.float64)
        if s.ndim < 2 or s.shape[-2] != 2:
            raise FormatError("Expected input to be CMVN stats (should have two rows)")
        dim = s.shape[-1] - 1
        count = s[..., 0, dim : dim + 1]
        if np.any(count <= 0):
            raise FormatError("Zero or negative count in CMVN stats")
        mean = s[..., 0, :dim] / count
        var = s[..., 1, :dim] / count - mean * mean
        return np.stack([mean, var], axis=-2)
    import torch

    s, was_numpy = _as_tensor(stats)
    s = s.to(torch.float64)
    if s.dim() < 2 or s.shape[-2] != 2:
        raise FormatError("Expected input to be CMVN stats (should have two rows)")
    dim = s.shape[-1] - 1
    count = s[..., 0, dim]
    if bool((count <= 0).any()):
        raise FormatError("Zero or negative count in CMVN stats")
    mean = s[..., 0, :dim] / count.unsqueeze(-1)
    var = s[..., 1, :dim] / count.unsqueeze(-1) - mean * mean
    return _back(torch.stack([mean, var], dim=-2), was_numpy)


def apply_cmvn_sliding(
    feats: Any,
    opts: SlidingWindowCmnOptions | None = None,
    *,
    lengths: Any | None = None,
    **kwargs: Any,
) -> Any:
    """Sliding-window CMN of one utterance or a padded batch, with Kaldi's warnings.

    Args:
        feats: float32 features ``(frames, dim)`` or a padded batch ``(batch, frames,
            dim)`` with ``lengths``.
        opts: options; keywords (``cmn_window=300``...) override them.
        lengths: valid lengths of a batch.

    Returns:
        float32 normalized features like ``feats`` (numpy or torch).

    Computed in float64 (as Kaldi does), returned as float32. With ``norm_vars``, frames
    whose window variance fell below 1e-10 log Kaldi's warning (at most
    ``max_warnings`` per utterance, then a note that the rest are suppressed).

    Kaldi: ``SlidingWindowCmn`` (apply-cmvn-sliding).
    """
    o = opts or _default_sliding_options()
    if kwargs:
        o = o.replace(**kwargs)
    o.validate()
    if not _is_tensor(feats) and lengths is None:
        x = np.asarray(feats, dtype=np.float32)
        if x.ndim != 2:
            raise FormatError(f"sliding-window CMN needs a (frames, dim) matrix, got shape {x.shape}")
        if x.shape[0] == 0:
            raise FormatError("sliding-window CMN of an empty feature matrix")
        out, floored = _np_sliding_cmn(x, o)
        if o.norm_vars and floored.any():
            _warn_floored_rows(floored, x.shape[0], o)
        return out
    import torch

    from kaldibridge.functional.cmvn import sliding_window_cmn

    x, was_numpy = _as_tensor(feats)
    lens = None
    if lengths is not None:
        lens, _ = _as_tensor(lengths)
    if x.shape[-2] == 0:
        raise FormatError("sliding-window CMN of an empty feature matrix")
    out, floored = sliding_window_cmn(
        x.to(torch.float32),
        o.cmn_window,
        o.min_cmn_window,
        o.center,
        o.norm_vars,
        lengths=lens,
        var_floor=SLIDING_VAR_FLOOR,
        return_num_floored=True,
    )
    if o.norm_vars and bool((floored > 0).any()):
        _warn_floored(x, floored, lens, o)
    return _back(out, was_numpy)


def _warn_floored(x: Tensor, floored: Tensor, lens: Tensor | None, o: SlidingWindowCmnOptions) -> None:
    floored2 = floored.reshape(-1, floored.shape[-1]).cpu().numpy()
    for b in range(floored2.shape[0]):
        n = int(lens[b]) if lens is not None else x.shape[-2]
        _warn_floored_rows(floored2[b, :n], n, o)


def _warn_floored_rows(floored: np.ndarray, n: int, o: SlidingWindowCmnOptions) -> None:
    """Kaldi's per-utterance flooring warnings for the frames of one utterance."""
    if n <= 1:
        return
    frames = np.nonzero(floored[:n] > 0)[0].tolist()
    if not frames:
        return
    limit = len(frames) if o.max_warnings < 0 else min(len(frames), o.max_warnings + 1)
    for i, t in enumerate(frames[:limit]):
        if i == o.max_warnings:
            _log.warning(
                "Suppressing the remaining variance flooring warnings. Run program with "
                "--max-warnings=-1 to see all warnings."
            )
        else:
            start, end = _bounds_at(t, n, o)
            _log.warning(
                "Flooring when normalizing variance, floored %d elements; num-frames was %d",
                int(floored[t]),
                end - start,
            )


# ----------------------------------------------------------------------------- numpy paths
# numpy inputs (what table readers return) are processed with numpy, so that the
# command-line tools never import torch; results equal the torch paths' (tests check).


def _np_cmvn_stats(x: np.ndarray, weights: Any | None) -> np.ndarray:
    if x.ndim < 2:
        raise FormatError(f"CMVN stats need a (frames, dim) matrix, got shape {x.shape}")
    dim = x.shape[-1]
    if dim == 0:
        raise FormatError(f"cannot compute CMVN stats of a matrix with {x.shape[-2]} rows and 0 columns")
    x = np.asarray(x, dtype=np.float32)
    stats = np.zeros(x.shape[:-2] + (2, dim + 1), dtype=np.float64)
    if weights is None:
        stats[..., 0, :dim] = x.sum(axis=-2, dtype=np.float64)
        stats[..., 1, :dim] = np.square(x).sum(axis=-2, dtype=np.float64)
        stats[..., 0, dim] = x.shape[-2]
        return stats
    w = np.asarray(weights, dtype=np.float32)
    if w.shape != x.shape[:-1]:
        raise FormatError(f"weights have shape {w.shape} but features have {x.shape[:-1]} frames")
    wc = w[..., None]
    stats[..., 0, :dim] = (x * wc).sum(axis=-2, dtype=np.float64)
    stats[..., 1, :dim] = (x * x * wc).sum(axis=-2, dtype=np.float64)
    stats[..., 0, dim] = w.sum(axis=-1, dtype=np.float64)
    return stats


def _np_apply_cmvn(x: np.ndarray, s: np.ndarray, norm_vars: bool, reverse: bool) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2 and s.ndim == 2 and s.shape[0] == 2 and s.shape[1] == x.shape[1] + 1 and not reverse:
        return _np_apply_cmvn_2d(x, s, norm_vars)
    rows = s.shape[-2] if s.ndim >= 2 else 0
    dim = s.shape[-1] - 1 if s.ndim >= 1 else -1
    if s.ndim < 2 or rows > 2 or rows < 1 or x.shape[-1] != dim:
        raise FormatError(
            f"Dim mismatch: cmvn {rows}x{s.shape[-1] if s.ndim else 0}, feats "
            f"{x.shape[-2] if x.ndim >= 2 else 0}x{x.shape[-1] if x.ndim else 0}"
        )
    if rows == 1 and norm_vars:
        raise FormatError("You requested variance normalization but no variance stats are supplied.")
    count = s[..., 0, dim]
    if np.any(count < 1.0):
        bad = float(np.min(count))
        raise FormatError(f"Insufficient stats for cepstral mean and variance normalization: count = {bad:g}")
    count = np.asarray(count)[..., None]
    if not norm_vars:
        if reverse:
            offset = (s[..., 0, :dim] / count).astype(np.float32)
        else:
            alpha = (-1.0 / count).astype(np.float32).astype(np.float64)
            offset = (alpha * s[..., 0, :dim]).astype(np.float32)
        if x.ndim == 2 and offset.ndim == 1:
            return _per_column(x, None, offset)
        return x + offset[..., None, :]
    mean = s[..., 0, :dim] / count
    var = s[..., 1, :dim] / count - mean * mean
    low = var < CMVN_VAR_FLOOR
    if low.any():
        for v in var[low].ravel().tolist()[:100]:
            _log.warning("Flooring cepstral variance from %g to %g", v, CMVN_VAR_FLOOR)
        var = np.maximum(var, CMVN_VAR_FLOOR)
    if reverse:
        scale, offset = np.sqrt(var), mean
    else:
        scale = 1.0 / np.sqrt(var)
        if not np.all(np.isfinite(scale)):
            raise FormatError("NaN or infinity in cepstral mean/variance computation")
        offset = -(mean * scale)
    if x.ndim == 2 and scale.ndim == 1:
        return _per_column(x, scale.astype(np.float32), offset.astype(np.float32))
    out = x * scale.astype(np.float32)[..., None, :]
    out += offset.astype(np.float32)[..., None, :]
    return out


#: Elements per row of the wide views that :func:`_per_column` works on.
_WIDE_ROW = 1024


def _per_column(
    x: np.ndarray,
    scale: np.ndarray | None,
    offset: np.ndarray,
    tiles: tuple[np.ndarray | None, np.ndarray] | None = None,
) -> np.ndarray:
    """``x * scale + offset`` per column (``scale=None``: ``x + offset``), float32.

    Each operation is rounded to float32, in Kaldi's order (``MulColsVec`` then
    ``AddVecToRows``). numpy broadcasts a ``(dim,)`` vector over short rows slowly (one
    inner loop per frame), so ``k`` frames are viewed as one row of ``k * dim`` elements
    and the vectors are tiled ``k`` times; the remaining frames are done directly.

    Args:
        x: ``(frames, dim)`` float32.
        scale, offset: float32 ``(dim,)``.
        tiles: ``_tiles(scale, offset)`` when already made.

    Returns:
        A new ``(frames, dim)`` float32 array.
    """
    n, dim = x.shape
    x = np.ascontiguousarray(x)
    out = np.empty((n, dim), dtype=np.float32)
    k = _WIDE_ROW // dim if dim else 0
    m = n - n % k if k > 1 else 0
    if m:
        scale_tile, offset_tile = tiles if tiles is not None else _tiles(scale, offset)
        xw = x[:m].reshape(-1, k * dim)
        ow = out[:m].reshape(-1, k * dim)
        if scale_tile is None:
            np.add(xw, offset_tile, out=ow)
        else:
            np.multiply(xw, scale_tile, out=ow)
            np.add(ow, offset_tile, out=ow)
    if m < n:
        if scale is None:
            np.add(x[m:], offset, out=out[m:])
        else:
            np.multiply(x[m:], scale, out=out[m:])
            np.add(out[m:], offset, out=out[m:])
    return out


def _tiles(scale: np.ndarray | None, offset: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """``scale`` and ``offset`` repeated for one wide row of :func:`_per_column`."""
    dim = offset.shape[0]
    k = max(_WIDE_ROW // dim, 1)
    tile = np.empty((2, k, dim), dtype=np.float32)
    tile[0] = offset
    if scale is None:
        return None, tile[0].reshape(-1)
    tile[1] = scale
    return tile[1].reshape(-1), tile[0].reshape(-1)


def _np_scale_offset(s: np.ndarray, norm_vars: bool) -> tuple[np.ndarray | None, np.ndarray, bool]:
    """float32 ``(scale, offset, floored)`` of forward CMVN from ``(2, dim + 1)`` float64
    stats (``scale`` is None without ``norm_vars``; ``floored``: a variance was floored,
    with Kaldi's warning), computed as Kaldi's ``ApplyCmvn`` does."""
    dim = s.shape[1] - 1
    count = float(s[0, dim])
    if count < 1.0:
        raise FormatError(f"Insufficient stats for cepstral mean and variance normalization: count = {count:g}")
    if not norm_vars:
        # Kaldi: offset = float(-1 / count) * mean_stats, in double, rounded to float
        alpha = float(np.float32(-1.0 / count))
        return None, (s[0, :dim] * alpha).astype(np.float32), False
    inv = 1.0 / count
    mean = s[0, :dim] * inv
    var = s[1, :dim] * inv
    var -= mean * mean
    floored = not var.min() >= CMVN_VAR_FLOOR  # also catches NaN
    if floored:
        for v in var[~(var >= CMVN_VAR_FLOOR)].tolist():
            _log.warning("Flooring cepstral variance from %g to %g", v, CMVN_VAR_FLOOR)
        var = np.maximum(var, CMVN_VAR_FLOOR)
        if not np.isfinite(var).all():
            raise FormatError("NaN or infinity in cepstral mean/variance computation")
    scale = np.sqrt(var)
    np.divide(1.0, scale, out=scale)
    mean *= scale
    return scale.astype(np.float32), (-mean).astype(np.float32), floored


#: Recently derived ``(scale, offset, tiles)`` by stats bytes (see :func:`_np_apply_cmvn_2d`).
_SCALE_OFFSET_MEMO: dict[tuple[bytes, bool], tuple[Any, ...]] = {}
_MEMO_SIZE = 256


def _np_apply_cmvn_2d(x: np.ndarray, s: np.ndarray, norm_vars: bool) -> np.ndarray:
    """The common case (one utterance, full stats, forward) with few small operations.

    Per-speaker and global stats normalize many utterances in a row, so the scale and
    offset derived from a stats matrix are kept for the next call with the same bytes
    (except when the variance was floored, so that Kaldi's warning repeats per call).
    """
    key = (s.tobytes(), norm_vars)
    memo = _SCALE_OFFSET_MEMO.get(key)
    if memo is None:
        scale, offset, floored = _np_scale_offset(s, norm_vars)
        tiles = _tiles(scale, offset)
        if not floored:
            if len(_SCALE_OFFSET_MEMO) >= _MEMO_SIZE:
                _SCALE_OFFSET_MEMO.clear()
            _SCALE_OFFSET_MEMO[key] = (scale, offset, tiles)
    else:
        scale, offset, tiles = memo
    return _per_column(x, scale, offset, tiles)


def _np_prefix_sums(x: np.ndarray, name: str, square: bool = False) -> np.ndarray:
    """``(frames + 1, dim)`` float64 prefix sums of ``x`` (or ``x ** 2``): row ``t`` is the
    sum of frames ``0 .. t - 1``. In a reused work buffer; valid until the next call.

    ``np.cumsum(axis=0)`` is one dependent chain of additions per column, run one column
    after the other, so it is bound by the latency of an addition. Viewing each pair of
    float64 columns as one complex128 column runs two chains per step: the same
    additions in the same order (the results are identical), in about half the time.
    An odd number of columns gets a zero column of padding.
    """
    n, dim = x.shape
    width = dim + dim % 2
    buf = scratch.get(name, (n + 1, width), np.float64)
    buf[0] = 0.0
    body = buf[1:]
    if width != dim:
        body[:, dim:] = 0.0
    if square:
        np.multiply(x, x, out=body[:, :dim], dtype=np.float64)
    else:
        body[:, :dim] = x
    pairs = body.view(np.complex128)
    np.cumsum(pairs, axis=0, out=pairs)
    return buf[:, :dim]


def _bounds_at(t: int, n: int, o: SlidingWindowCmnOptions) -> tuple[int, int]:
    """Window ``[start, end)`` of frame ``t`` (Kaldi's ``SlidingWindowCmnInternal``)."""
    if o.center:
        start = t - o.cmn_window // 2
        end = start + o.cmn_window
    else:
        start = t - o.cmn_window
        end = t + 1
    if start < 0:
        end -= start
        start = 0
    if not o.center and end > t:
        end = max(t + 1, o.min_cmn_window)
    if end > n:
        start = max(start - (end - n), 0)
        end = n
    return start, end


@functools.lru_cache(maxsize=256)
def _window_runs(n: int, o: SlidingWindowCmnOptions) -> tuple[tuple[int, int, int, int, int, int], ...]:
    """The windows of all ``n`` frames as runs ``(a, b, start0, start_step, end0, end_step)``:
    for ``a <= t < b`` the window is ``[start0 + s_step * (t - a), end0 + e_step * (t - a))``.

    Both bounds are piecewise linear in ``t`` with breaks only where one of Kaldi's
    clamps starts or stops acting; the runs are found by evaluating the window at
    those candidate frames and merging pieces that continue each other.
    """
    w, mw = o.cmn_window, o.min_cmn_window
    cands = {0, n}
    for c in (mw - 1, w, w + max(mw - n, 0), w // 2, n - w + w // 2):
        cands.update((c - 1, c, c + 1, c + 2))
    cuts = sorted(c for c in cands if 0 <= c <= n)
    runs: list[list[int]] = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        s0, e0 = _bounds_at(a, n, o)
        s1, e1 = _bounds_at(a + 1, n, o) if b - a > 1 else (s0 + 1, e0 + 1)
        ss, es = s1 - s0, e1 - e0
        if runs:
            r = runs[-1]
            k = a - r[0]
            if b - a == 1 and (r[2] + r[3] * k, r[4] + r[5] * k) == (s0, e0):
                r[1] = b
                continue
            if (r[3], r[5]) == (ss, es) and (r[2] + r[3] * k, r[4] + r[5] * k) == (s0, e0):
                r[1] = b
                continue
            if r[1] - r[0] == 1 and (s0 - r[2], e0 - r[4]) == (ss, es) and (ss, es) == (s1 - s0, e1 - e0):
                r[1], r[3], r[5] = b, ss, es
                continue
        runs.append([a, b, s0, ss, e0, es])
    return tuple(tuple(r) for r in runs)  # type: ignore[misc]


def _window_means(prefix: np.ndarray, n: int, o: SlidingWindowCmnOptions, sign: float, out: np.ndarray) -> None:
    """``out[t] = sign * (window sum of frame t) / (window size)`` from prefix sums.

    Each run of windows (see :func:`_window_runs`) is one subtraction of two contiguous
    slices (or a slice and a broadcast row) instead of gathering two rows per frame.
    """
    for a, b, s0, ss, e0, es in _window_runs(n, o):
        m = b - a
        hi = prefix[e0 : e0 + m] if es else prefix[e0]
        lo = prefix[s0 : s0 + m] if ss else prefix[s0]
        seg = out[a:b]
        np.subtract(hi, lo, out=seg)
        if es == ss:
            seg *= sign / (e0 - s0)
        else:
            seg *= (sign / ((e0 - s0) + (es - ss) * np.arange(m, dtype=np.float64)))[:, None]


def _np_sliding_cmn(x: np.ndarray, o: SlidingWindowCmnOptions) -> tuple[np.ndarray, np.ndarray]:
    n, dim = x.shape
    neg_mean = scratch.get("cmn_mean", (n, dim), np.float64)
    _window_means(_np_prefix_sums(x, "cmn_prefix"), n, o, -1.0, neg_mean)
    floored = np.zeros(n, dtype=np.int64)
    out = np.empty((n, dim), dtype=np.float32)
    if not o.norm_vars:
        # Kaldi: x + (-1 / count) * sum, in double, rounded to float
        np.add(x, neg_mean, out=out, casting="same_kind")
        return out, floored
    var = scratch.get("cmn_var", (n, dim), np.float64)
    _window_means(_np_prefix_sums(x, "cmn_prefix", square=True), n, o, 1.0, var)
    centred = scratch.get("cmn_centred", (n, dim), np.float64)
    np.add(x, neg_mean, out=centred)
    np.multiply(neg_mean, neg_mean, out=neg_mean)
    var -= neg_mean
    if not var.min() >= SLIDING_VAR_FLOOR:  # rare: count the floored elements per frame
        low = var < SLIDING_VAR_FLOOR
        floored = np.count_nonzero(low, axis=1).astype(np.int64)
        np.maximum(var, SLIDING_VAR_FLOOR, out=var)
    np.sqrt(var, out=var)
    np.divide(centred, var, out=centred)
    for a, b, s0, ss, e0, es in _window_runs(n, o):
        if ss == es and e0 - s0 == 1:  # one-frame windows give zeros
            centred[a:b] = 0.0
            floored[a:b] = 0
        elif ss != es:
            count = (e0 - s0) + (es - ss) * np.arange(b - a)
            centred[a:b][count == 1] = 0.0
            floored[a:b][count == 1] = 0
    np.copyto(out, centred, casting="same_kind")
    return out, floored
