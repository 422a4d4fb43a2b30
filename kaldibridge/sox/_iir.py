"""Second-order IIR filtering for the effects: SoX's ``lsx_biquad_flow`` recursion.

A biquad is a recursion over time: each output needs the two before it. With numba
(:mod:`kaldibridge._jit`) a compiled kernel runs it sample by sample in direct form I, in
SoX's order of operations; otherwise (numba absent or disabled, tensors off the CPU, or
gradients wanted) :func:`kaldibridge.functional.filtering.lfilter` solves it with block
matrix products and a prefix scan. Both compute in float64 and agree to its rounding.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from kaldibridge._jit import jit_kernel
from kaldibridge.functional.filtering import lfilter

__all__ = ["iir_filter", "compiled_path_available"]


@jit_kernel
def _biquad_kernel(x, b0, b1, b2, a1, a2, out):  # pragma: no cover - compiled
    """``out[r, t] = b0 x[t] + b1 x[t-1] + b2 x[t-2] - a1 out[t-1] - a2 out[t-2]`` per row,
    zero initial state, evaluated left to right as SoX does."""
    rows, n = x.shape
    for r in range(rows):
        i1 = 0.0
        i2 = 0.0
        o1 = 0.0
        o2 = 0.0
        for t in range(n):
            i0 = x[r, t]
            o0 = i0 * b0 + i1 * b1 + i2 * b2 - o1 * a1 - o2 * a2
            i2 = i1
            i1 = i0
            o2 = o1
            o1 = o0
            out[r, t] = o0


def compiled_path_available() -> bool:
    """Whether :func:`iir_filter` runs the compiled kernel (numba installed and enabled)."""
    return _biquad_kernel.compiled() is not None


def iir_filter(x: torch.Tensor, b: Sequence[float], a: Sequence[float]) -> torch.Tensor:
    """Filter ``(..., time)`` with ``B(z)/A(z)`` (at most second order), zero initial state.

    Args:
        x: ``(..., time)`` real tensor.
        b: numerator coefficients (1 to 3).
        a: denominator coefficients (1 to 3), ``a[0] != 0``.

    Returns:
        ``(..., time)`` float64.
    """
    kernel = None
    if x.device.type == "cpu" and not x.requires_grad and len(b) <= 3 and len(a) <= 3 and float(a[0]) != 0.0:
        kernel = _biquad_kernel.compiled()
    if kernel is None:
        return lfilter(x, list(a), list(b), clamp=False).to(torch.float64)
    a0 = float(a[0])
    bb = [float(v) / a0 for v in b] + [0.0] * (3 - len(b))
    aa = [float(v) / a0 for v in a] + [0.0] * (3 - len(a))
    rows = math.prod(x.shape[:-1])
    xn = np.ascontiguousarray(x.detach().reshape(rows, x.shape[-1]).numpy(), dtype=np.float64)
    out = np.empty_like(xn)
    kernel(xn, bb[0], bb[1], bb[2], aa[1], aa[2], out)
    return torch.from_numpy(out).reshape(x.shape)
