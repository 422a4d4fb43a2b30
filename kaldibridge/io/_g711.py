"""G.711 mu-law and A-law companding, vectorized with lookup tables.

libsndfile decodes mu-law and A-law exactly as sox does, but its encoder rounds
differently from sox. :func:`kaldibridge.io.save` therefore picks the code bytes
with sox's rule here (the float sample rounded half up straight to 14 bits for
mu-law and to 13 bits for A-law, then the segment search of the ITU-T G.711
reference algorithm; checked against sox-written files) and hands libsndfile the
exact reconstruction level of each code, which libsndfile maps back to that code.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ulaw_encode", "alaw_encode", "ulaw_decode", "alaw_decode"]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159


def _build_ulaw_decode() -> np.ndarray:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((code & 0x0F) << 3) + _ULAW_BIAS
    t = t << ((code & 0x70) >> 4)
    return np.where(code & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _build_alaw_decode() -> np.ndarray:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (code & 0x70) >> 4
    t = (code & 0x0F) << 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(code & 0x80, t, -t).astype(np.int16)


def _segment(value: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Index of the first segment end that is >= value (8 when none is)."""
    return np.searchsorted(ends, value, side="left")


def _build_ulaw_encode() -> np.ndarray:
    """Code byte for every 14-bit input value, indexed by ``value + 8192``."""
    v = np.arange(-8192, 8192, dtype=np.int32)
    mask = np.where(v < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(v), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    seg = _segment(mag, ends)
    code = (seg << 4) | ((mag >> (seg + 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _build_alaw_encode() -> np.ndarray:
    """Code byte for every 13-bit input value, indexed by ``value + 4096``."""
    v = np.arange(-4096, 4096, dtype=np.int32)
    mask = np.where(v >= 0, 0xD5, 0x55)
    mag = np.where(v >= 0, v, -v - 1)
    ends = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = _segment(mag, ends)
    quant = np.where(seg < 2, mag >> 1, mag >> np.minimum(seg, 15)) & 0x0F
    code = np.where(seg >= 8, 0x7F, (seg << 4) | quant)
    return (code ^ mask).astype(np.uint8)


_ULAW_DEC = _build_ulaw_decode()
_ALAW_DEC = _build_alaw_decode()
_ULAW_ENC = _build_ulaw_encode()
_ALAW_ENC = _build_alaw_encode()


def _round_to_bits(x: np.ndarray, bits: int) -> np.ndarray:
    """``floor(x * 2**(bits-1) + 0.5)`` clipped to the signed range, as int32 (float64 math)."""
    top = float(1 << (bits - 1))
    v = np.floor(np.asarray(x, dtype=np.float64) * top + 0.5)
    return np.clip(v, -top, top - 1).astype(np.int32)


def ulaw_encode(x: np.ndarray) -> np.ndarray:
    """mu-law code bytes of float samples in [-1, 1], as sox picks them.

    Args:
        x: float array, any shape; values outside [-1, 1) are clipped.

    Returns:
        uint8 array of the same shape.
    """
    return _ULAW_ENC[_round_to_bits(x, 14) + 8192]


def alaw_encode(x: np.ndarray) -> np.ndarray:
    """A-law code bytes of float samples in [-1, 1], as sox picks them.

    Args:
        x: float array, any shape; values outside [-1, 1) are clipped.

    Returns:
        uint8 array of the same shape.
    """
    return _ALAW_ENC[_round_to_bits(x, 13) + 4096]


def ulaw_decode(codes: np.ndarray) -> np.ndarray:
    """16-bit reconstruction levels of mu-law code bytes (same shape, int16)."""
    return _ULAW_DEC[codes.astype(np.uint8)]


def alaw_decode(codes: np.ndarray) -> np.ndarray:
    """16-bit reconstruction levels of A-law code bytes (same shape, int16)."""
    return _ALAW_DEC[codes.astype(np.uint8)]
