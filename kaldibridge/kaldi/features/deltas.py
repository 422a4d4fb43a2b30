"""Kaldi's delta features (add-deltas) and shifted deltas.

Kaldi: ``DeltaFeaturesOptions``, ``ComputeDeltas`` in ``src/feat/feature-functions.cc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kaldibridge.errors import FormatError, OptionError
from kaldibridge.functional.deltas import add_deltas
from kaldibridge.kaldi.options import OptionGroup, option

__all__ = ["DeltaFeaturesOptions", "compute_deltas_kaldi"]


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
    was_numpy = not isinstance(feats, torch.Tensor)
    x = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)) if was_numpy else feats
    if truncate:
        if truncate > x.shape[-1]:
            raise FormatError(
                f"Cannot truncate features as dimension {x.shape[-1]} is smaller than "
                "truncation dimension."
            )
        x = x[..., :truncate]
    y = add_deltas(x.to(torch.float32), o.delta_order, o.delta_window)
    return y.numpy() if was_numpy else y
