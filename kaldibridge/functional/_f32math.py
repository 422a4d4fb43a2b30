"""Scalar float32 ``sinf``/``cosf`` evaluated like GNU libm does it (for constant tables).

The C library's single-precision sine and cosine are not always correctly rounded: they
evaluate short polynomials in double precision after a one-step range reduction and round
the result to float, which differs from the correctly rounded value for roughly one input in
a hundred. Code that builds float32 trigonometric tables with them (FFT twiddles) gets
those last-bit differences, which show up in low-energy spectrum bins. These helpers
reproduce that evaluation for arguments below 120 in magnitude (larger arguments fall back
to the correctly rounded value). Only used to build small constant tables.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["sinf", "cosf"]

_H = float.fromhex
_SIGN = (1.0, -1.0, -1.0, 1.0)
_HPI_INV = _H("0x1.45F306DC9C883p+23")  # 2/pi scaled by 2^24
_HPI = _H("0x1.921FB54442D18p0")  # pi/2
_COS = (1.0, _H("-0x1.ffffffd0c621cp-2"), _H("0x1.55553e1068f19p-5"), _H("-0x1.6c087e89a359dp-10"),
        _H("0x1.99343027bf8c3p-16"))
_SIN = (_H("-0x1.555545995a603p-3"), _H("0x1.1107605230bc4p-7"), _H("-0x1.994eb3774cf24p-13"))


def _top12(x: float) -> int:
    return (int(np.float32(x).view(np.uint32)) >> 20) & 0x7FF


_PIO4_TOP = _top12(_H("0x1.921FB54442D18p-1"))
_TINY_TOP = _top12(2.0**-12)
_BIG_TOP = _top12(120.0)


def _poly(x: float, x2: float, negate_cos: bool, n: int) -> np.float32:
    if n & 1 == 0:
        s1, s2, s3 = _SIN
        x3 = x * x2
        t = s2 + x2 * s3
        x7 = x3 * x2
        s = x + x3 * s1
        return np.float32(s + x7 * t)
    c0, c1, c2, c3, c4 = (-c if negate_cos else c for c in _COS)
    x4 = x2 * x2
    t2 = c3 + x2 * c4
    t1 = c0 + x2 * c1
    x6 = x4 * x2
    c = t1 + x4 * c2
    return np.float32(c + x6 * t2)


def _reduce(x: float) -> tuple[float, int]:
    r = x * _HPI_INV
    n = (int(r) + 0x800000) >> 24  # C truncation toward zero, then an arithmetic shift
    return x - n * _HPI, n


def sinf(y: float) -> np.float32:
    """``sinf(float32(y))``."""
    yf = np.float32(y)
    x = float(yf)
    top = _top12(yf)
    if top < _PIO4_TOP:
        if top < _TINY_TOP:
            return yf
        return _poly(x, x * x, False, 0)
    if top < _BIG_TOP:
        r, n = _reduce(x)
        return _poly(r * _SIGN[n & 3], r * r, bool(n & 2), n)
    return np.float32(math.sin(x))


def cosf(y: float) -> np.float32:
    """``cosf(float32(y))``."""
    yf = np.float32(y)
    x = float(yf)
    top = _top12(yf)
    if top < _PIO4_TOP:
        if top < _TINY_TOP:
            return np.float32(1.0)
        return _poly(x, x * x, False, 1)
    if top < _BIG_TOP:
        r, n = _reduce(x)
        return _poly(r * _SIGN[n & 3], r * r, bool(n & 2), n ^ 1)
    return np.float32(math.cos(x))
