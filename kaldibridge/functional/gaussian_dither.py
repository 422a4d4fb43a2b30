"""Gaussian dither."""

from __future__ import annotations

import torch

__all__ = ["dither"]


def dither(x: torch.Tensor, scale: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add independent Gaussian noise of standard deviation ``scale`` to every element.

    Args:
        x: any shape; a new tensor is returned.
        scale: noise standard deviation in the units of ``x``; 0 returns ``x`` unchanged.
        generator: seedable source of the noise (must live on ``x``'s device).
    """
    if scale == 0.0:
        return x
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + noise * scale
