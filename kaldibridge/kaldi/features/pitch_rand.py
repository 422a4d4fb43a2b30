"""glibc's ``rand()`` (the TYPE_3 additive feedback generator) and Kaldi's ``RandGauss``.

Kaldi adds pseudo-random noise to the delta-pitch feature with ``RandGauss()``, which
draws from the process-wide C library ``rand()``. To reproduce Kaldi's output bit for
bit we reimplement the generator that glibc uses by default:

* ``srand(seed)`` (seed 0 behaves as 1) fills 31 words with the Park-Miller "minimal
  standard" sequence ``r[i] = 16807 * r[i-1] mod (2**31 - 1)`` (signed 32-bit words);
* after that ``r[i] = r[i-31] + r[i-3] (mod 2**32)``; the first 310 such words are
  discarded and each call to ``rand()`` returns the next word shifted right by one bit.

``RandUniform`` is ``(rand() + 1) / (RAND_MAX + 2)`` and ``RandGauss`` is Box-Muller with
the first uniform under the logarithm: ``sqrtf(-2 logf(u1)) * cosf(2 pi u2)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["GlibcRandom", "RAND_MAX", "rand_r_streams", "kaldi_randn_rows"]

RAND_MAX = 2147483647
_MASK = 0xFFFFFFFF
_BLOCK = 512  # words generated per matrix-vector product


@lru_cache(maxsize=1)
def _block_coefficients() -> np.ndarray:
    """``(_BLOCK, 31)`` uint64 ``C`` with ``next words = C @ last 31 words (mod 2**32)``.

    The recurrence ``r[i] = r[i - 31] + r[i - 3]`` is linear over the integers mod
    ``2**32``, so each new word is a fixed combination of the 31 words before the block;
    the coefficients follow the same recurrence, started from the unit vectors.
    """
    rows = [np.eye(31, dtype=np.uint64)[k] for k in range(31)]
    for _ in range(_BLOCK):
        rows.append((rows[-31] + rows[-3]) & np.uint64(_MASK))
    coef = np.stack(rows[31:])
    coef.setflags(write=False)
    return coef


class GlibcRandom:
    """A Python copy of glibc's default ``rand()`` stream.

    Args:
        seed: the ``srand()`` seed (unsigned 32-bit; 0 is treated as 1). A program that
            never calls ``srand`` behaves as ``seed=1``.

    Example:
        >>> GlibcRandom(1).rand(3).tolist()
        [1804289383, 846930886, 1681692777]
    """

    def __init__(self, seed: int = 1) -> None:
        self.seed(seed)

    def seed(self, seed: int) -> None:
        """Restart the stream as ``srand(seed)`` does."""
        s = int(seed) & _MASK
        if s == 0:
            s = 1
        r = [0] * 34
        r[0] = s - (1 << 32) if s >= (1 << 31) else s  # glibc keeps signed words
        for i in range(1, 31):
            hi, lo = divmod(r[i - 1], 127773) if r[i - 1] >= 0 else _signed_divmod(r[i - 1], 127773)
            word = 16807 * lo - 2836 * hi
            if word < 0:
                word += 2147483647
            r[i] = word
        for i in range(31, 34):
            r[i] = r[i - 31]
        state = [x & _MASK for x in r]
        for _ in range(310):
            state.append((state[-31] + state[-3]) & _MASK)
        self._state = state[-34:]

    def rand(self, n: int) -> np.ndarray:
        """The next ``n`` values of ``rand()`` as an int64 array in ``[0, RAND_MAX]``."""
        st = self._state
        if n < _BLOCK:  # short requests: the recurrence word by word
            out = [0] * n
            for k in range(n):
                v = (st[-31] + st[-3]) & _MASK
                st.append(v)
                out[k] = v >> 1
            del st[:-34]
            return np.asarray(out, dtype=np.int64)
        # long requests: blocks of words as one linear map of the last 31 words
        coef = _block_coefficients()
        words = np.empty(n, dtype=np.uint64)
        prev = np.asarray(st[-31:], dtype=np.uint64)
        for b0 in range(0, n, _BLOCK):
            block = (coef @ prev) & np.uint64(_MASK)  # wraps mod 2**64, exact mod 2**32
            take = min(_BLOCK, n - b0)
            words[b0 : b0 + take] = block[:take]
            prev = np.concatenate([prev, block[:take]])[-31:]
        self._state = (st + words[-34:].tolist())[-34:]
        return (words >> np.uint64(1)).astype(np.int64)

    def uniform(self, n: int) -> np.ndarray:
        """``n`` draws of Kaldi's ``RandUniform``: ``(rand() + 1) / (RAND_MAX + 2)`` (float64)."""
        return (self.rand(n).astype(np.float64) + 1.0) / (RAND_MAX + 2.0)

    def gauss(self, n: int) -> np.ndarray:
        """``n`` draws of Kaldi's float ``RandGauss`` (two ``rand()`` calls each), float32."""
        u = self.uniform(2 * n).reshape(n, 2) if n > 0 else np.zeros((0, 2))
        u1 = u[:, 0].astype(np.float32)
        u2 = u[:, 1].astype(np.float32)
        mag = np.sqrt(np.float32(-2.0) * np.log(u1)).astype(np.float32)
        ang = np.cos((2.0 * np.pi * u2.astype(np.float64)).astype(np.float32)).astype(np.float32)
        return (mag * ang).astype(np.float32)


def _signed_divmod(a: int, b: int) -> tuple[int, int]:
    """C-style division (truncation toward zero) for negative ``a``."""
    q = -((-a) // b)
    return q, a - q * b


def rand_r_streams(seeds: np.ndarray, count: int) -> np.ndarray:
    """``count`` successive values of glibc's ``rand_r`` for each of several seeds.

    glibc's ``rand_r`` advances a 32-bit linear congruential state
    (``s = s * 1103515245 + 12345 mod 2**32``) three times per call and assembles the
    result from bits 16.. of each state: 11 bits, then 10, then 10.

    Args:
        seeds: ``(streams,)`` unsigned 32-bit start states.
        count: values to draw from each stream.

    Returns:
        ``(streams, count)`` int64 values in ``[0, RAND_MAX]`` (vectorized over streams).
    """
    state = np.asarray(seeds, dtype=np.uint64) & np.uint64(_MASK)
    out = np.empty((state.shape[0], count), dtype=np.int64)
    mul, inc, mask = np.uint64(1103515245), np.uint64(12345), np.uint64(_MASK)
    for k in range(count):  # sequential per stream; vectorized across streams
        state = (state * mul + inc) & mask
        r = (state >> np.uint64(16)) % np.uint64(2048)
        state = (state * mul + inc) & mask
        r = (r << np.uint64(10)) ^ ((state >> np.uint64(16)) % np.uint64(1024))
        state = (state * mul + inc) & mask
        r = (r << np.uint64(10)) ^ ((state >> np.uint64(16)) % np.uint64(1024))
        out[:, k] = r.astype(np.int64)
    return out


def kaldi_randn_rows(seeds: np.ndarray, dim: int) -> np.ndarray:
    """Rows of Kaldi's ``Vector<float>::SetRandn()``, one per ``RandomState`` seed.

    Each row draws from its own ``rand_r`` stream: Box-Muller pairs (``RandGauss2``:
    ``sqrtf(-2 logf(u1))`` times ``cosf``/``sinf`` of ``2 pi u2``) and, for an odd
    ``dim``, one last ``RandGauss``, with ``u = (rand_r() + 1) / (RAND_MAX + 2)`` in float.

    Args:
        seeds: ``(rows,)`` ``rand_r`` start states (Kaldi: ``rand() + 27437``).
        dim: vector dimension.

    Returns:
        ``(rows, dim)`` float32.
    """
    pairs = dim // 2
    n_uniform = 2 * pairs + (2 if dim % 2 else 0)
    r = rand_r_streams(seeds, n_uniform)
    u = ((r.astype(np.float64) + 1.0) / (RAND_MAX + 2.0)).astype(np.float32)
    u1 = u[:, 0::2].astype(np.float64)
    u2 = u[:, 1::2].astype(np.float64)
    mag = np.sqrt((-2.0 * np.log(u1).astype(np.float32)).astype(np.float64)).astype(np.float32)
    ang = (2.0 * np.pi * u2).astype(np.float32).astype(np.float64)
    cos = np.cos(ang).astype(np.float32)
    sin = np.sin(ang).astype(np.float32)
    out = np.empty((r.shape[0], dim), dtype=np.float32)
    out[:, 0 : 2 * pairs : 2] = (mag[:, :pairs] * cos[:, :pairs]).astype(np.float32)
    out[:, 1 : 2 * pairs : 2] = (mag[:, :pairs] * sin[:, :pairs]).astype(np.float32)
    if dim % 2:
        out[:, -1] = (mag[:, pairs] * cos[:, pairs]).astype(np.float32)
    return out
