"""Cosine transforms used by cepstral features: orthonormal DCT-II and the sine lifter.

Matrices are built in float64 from float32 parameters and rounded to float32 once, as the
classic float32 implementations do.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["dct_matrix", "lifter_coeffs"]


def dct_matrix(num_ceps: int, num_bins: int) -> np.ndarray:
    """Orthonormal DCT-II rows ``(num_ceps, num_bins)``, float32 numpy.

    Row 0 is ``sqrt(1 / N)``; row ``k > 0`` is ``sqrt(2 / N) cos(pi / N (n + 0.5) k)``.
    """
    n = np.arange(num_bins, dtype=np.float64)
    k = np.arange(num_ceps, dtype=np.float64)[:, None]
    norm0 = np.float32(math.sqrt(1.0 / float(np.float32(num_bins))))
    norm = np.float32(math.sqrt(2.0 / float(np.float32(num_bins))))
    m = float(norm) * np.cos(math.pi / num_bins * (n[None, :] + 0.5) * k)
    m[0, :] = float(norm0)
    return m.astype(np.float32)


def lifter_coeffs(q: float, num_ceps: int) -> np.ndarray:
    """Sine lifter ``1 + (Q / 2) sin(pi i / Q)`` for ``i = 0 .. num_ceps-1``, float32 numpy."""
    qf = float(np.float32(q))
    i = np.arange(num_ceps, dtype=np.float64)
    return (1.0 + 0.5 * qf * np.sin(math.pi * i / qf)).astype(np.float32)


def as_tensor(a: np.ndarray, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """Convert one of the float32 numpy matrices above to a tensor."""
    return torch.from_numpy(a).to(dtype=dtype, device=device)
