"""Kaldi's delta features (add-deltas) and shifted deltas.

Kaldi: ``DeltaFeaturesOptions``, ``ComputeDeltas`` in ``src/feat/feature-functions.cc``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaldibridge.errors import FormatError, OptionError
from kaldibridge.kaldi.options import OptionGroup, option

__all__ = ["DeltaFeaturesOptions", "compute_deltas_kaldi", "kaldi_delta_scales"]


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

    Kaldi: ``ComputeDeltas``; the filters are bit-identical and the taps are summed in
    the same order.
    """
    o = opts or DeltaFeaturesOptions()
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


def kaldi_delta_scales(order: int, window: int) -> list[np.ndarray]:
    """Kaldi's delta filters of orders ``0..order`` (float32, Kaldi's operation order).

    Same values as :func:`kaldibridge.functional.deltas.delta_filters`, computed without
    torch so that the command-line tools do not need to import it.

    Kaldi: ``DeltaFeatures::DeltaFeatures``.
    """
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
    """numpy path: the same filters and tap order as the torch one."""
    n, dim = x.shape[-2], x.shape[-1]
    out = np.empty(x.shape[:-1] + (dim * (order + 1),), dtype=np.float32)
    out[..., :dim] = x
    if n == 0:
        return out
    filters = kaldi_delta_scales(order, window)
    reach = order * window
    index = np.clip(np.arange(-reach, n + reach), 0, n - 1)
    padded = x[..., index, :]
    acc = np.empty(x.shape, dtype=np.float32)
    tmp = np.empty(x.shape, dtype=np.float32)
    for i in range(1, order + 1):
        filt = filters[i]
        half = (filt.size - 1) // 2
        acc.fill(0.0)
        for k, w in enumerate(filt.tolist()):
            if w != 0.0:
                s0 = reach - half + k
                np.multiply(padded[..., s0 : s0 + n, :], np.float32(w), out=tmp)
                acc += tmp
        out[..., i * dim : (i + 1) * dim] = acc
    return out
