"""Analysis windows (computed in float64, returned in the requested dtype)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

__all__ = ["WindowType", "WINDOW_TYPES", "window_function", "window_array"]

WindowType = Literal["hamming", "hanning", "povey", "rectangular", "sine", "blackman"]
WINDOW_TYPES: tuple[str, ...] = ("hamming", "hanning", "povey", "rectangular", "sine", "blackman")


def window_array(window_type: str, length: int, blackman_coeff: float = 0.42) -> np.ndarray:
    """The window as a float64 numpy array ``(length,)``.

    All windows are symmetric (``a = 2 pi / (length - 1)``):

    * ``hanning``: ``0.5 - 0.5 cos(a n)``
    * ``hamming``: ``0.54 - 0.46 cos(a n)``
    * ``povey``: ``hanning ** 0.85`` (like Hamming, but reaching zero at the edges)
    * ``sine``: ``sin(a n / 2)``
    * ``blackman``: ``c - 0.5 cos(a n) + (0.5 - c) cos(2 a n)`` with ``c = blackman_coeff``
    * ``rectangular``: ones

    Raises:
        ValueError: unknown ``window_type``.
    """
    if window_type not in WINDOW_TYPES:
        raise ValueError(f"Invalid window type {window_type}")
    n = np.arange(length, dtype=np.float64)
    a = 2.0 * math.pi / (length - 1) if length > 1 else 0.0
    if window_type == "hanning":
        return 0.5 - 0.5 * np.cos(a * n)
    if window_type == "sine":
        return np.sin(0.5 * a * n)
    if window_type == "hamming":
        return 0.54 - 0.46 * np.cos(a * n)
    if window_type == "povey":
        return np.power(0.5 - 0.5 * np.cos(a * n), 0.85)
    if window_type == "rectangular":
        return np.ones(length, dtype=np.float64)
    c = float(blackman_coeff)
    return c - 0.5 * np.cos(a * n) + (0.5 - c) * np.cos(2.0 * a * n)


def window_function(
    window_type: WindowType | str,
    length: int,
    blackman_coeff: float = 0.42,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """An analysis window as a tensor ``(length,)``.

    Args:
        window_type: one of :data:`WINDOW_TYPES` (see :func:`window_array`).
        length: window length in samples.
        blackman_coeff: the constant term of the generalized Blackman window.
        dtype: result dtype (values are computed in float64 and rounded once).
        device: result device.
    """
    return torch.from_numpy(window_array(window_type, length, blackman_coeff)).to(dtype=dtype, device=device)
