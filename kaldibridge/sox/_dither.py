"""SoX's ``dither``: TPDF (or sloped TPDF, ``-S``) dither to ``-p`` bits.

The noise comes from SoX's 32-bit linear congruential generator, seeded as ``sox -R``
seeds it (global seed 0, advanced once per channel), so the output repeats ``sox -R``
exactly. The generator is evaluated with a vectorized jump-ahead, not per sample.
Noise shaping (``-s``, ``-f``) is not implemented.
"""

from __future__ import annotations

import numpy as np
import torch

from kaldibridge.sox._args import EffectUsageError, numeric
from kaldibridge.sox._chain import Context, Effect, Stream, register

_A = 1664525
_C = 1013904223
_M32 = (1 << 32) - 1


def _lcg(seed: int, count: int) -> np.ndarray:
    """``count`` successive values of ``x = 1664525 x + 1013904223 (mod 2**32)`` as int32."""
    out = np.empty(count, dtype=np.uint64)
    block = min(count, 4096)
    x = seed & _M32
    for i in range(block):
        x = (_A * x + _C) & _M32
        out[i] = x
    filled = block
    # jump ahead by `filled` steps at once: x_{k+B} = A_B x_k + C_B (mod 2**32)
    while filled < count:
        a_b = np.uint64(pow(_A, filled, 1 << 32))
        c_b = np.uint64(_geom(filled))
        take = min(filled, count - filled)
        out[filled : filled + take] = (a_b * out[:take] + c_b) & np.uint64(_M32)
        filled += take
    return out.astype(np.uint32).view(np.int32).astype(np.int64)


def _geom(n: int) -> int:
    """``c (1 + a + ... + a^(n-1)) mod 2**32`` by doubling."""
    mod = 1 << 32
    # (a^n - 1)/(a - 1) computed by the pair recursion S(2m) = S(m)(1 + a^m), S(m+1) = S(m) a + 1
    s, p = 0, 1  # S(k), a^k
    for bit in bin(n)[2:]:
        s, p = (s * (1 + p)) % mod, (p * p) % mod
        if bit == "1":
            s, p = (s * _A + 1) % mod, (p * _A) % mod
    return (_C * s) % mod


@register("dither")
class Dither(Effect):
    usage_text = "[-S|-s|-f filter] [-a] [-p precision]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.prec = 0
        self.sloped = False
        self.auto = False
        rest = list(args)
        while rest and rest[0].startswith("-") and len(rest[0]) > 1:
            tok = rest.pop(0)
            k = 1
            while k < len(tok):
                ch = tok[k]
                k += 1
                if ch == "a":
                    self.auto = True
                elif ch == "S":
                    self.sloped = True
                elif ch in "sf":
                    raise EffectUsageError(name, "noise shaping (-s, -f) is not implemented")
                elif ch == "p":
                    val = tok[k:] if k < len(tok) else (rest.pop(0) if rest else "")
                    k = len(tok)
                    self.prec = int(numeric(name, val, "prec", 1, 24))
                else:
                    raise EffectUsageError(name, f"invalid option `-{ch}'")
        if rest:
            raise self.usage(rest[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        prec = self.prec or 24  # default: the output precision (float32 output: 24 bits)
        if st.precision <= prec or prec > 24 or prec == 1:
            return st
        b, c, n = st.x.shape
        xi = np.round(st.x.cpu().numpy() * 2.0**31).astype(np.int64)
        out = np.empty_like(xi)
        glob = 0
        clipped = 0
        for bi in range(b):
            glob = 0  # every batch item is its own `sox -R` run
            for ch in range(c):
                glob = (_A * glob + _C) & _M32
                seed = (glob + ch) & _M32
                x = xi[bi, ch]
                if self.auto:
                    busy = (x & ((1 << (32 - prec)) - 1)) != 0
                    # dithering stays on while any of the last 32 samples had low bits set
                    on = np.convolve(busy.astype(np.int64), np.ones(32, dtype=np.int64))[:n] > 0
                else:
                    on = np.ones(n, dtype=bool)
                n_on = int(on.sum())
                per = 1 if self.sloped else 2
                draws = _lcg(seed, per * n_on) >> prec  # arithmetic shift of the int32 values
                r1 = draws[0::per]
                if self.sloped:
                    r2 = -np.concatenate([[0], r1[:-1]])  # minus the previous sample's draw
                else:
                    r2 = draws[1::2]
                d = (x[on] + r1 + r2) / float(1 << (32 - prec))
                i = np.where(d < 0, np.trunc(d - 0.5), np.trunc(d + 0.5)).astype(np.int64)
                lo = -(1 << (prec - 1))
                hi = (1 << (prec - 1)) - 1
                clipped += int((i <= lo).sum() + (i > hi).sum())
                y = x.copy()
                y[on] = np.where(i <= lo, -(1 << 31), np.where(i > hi, hi << (32 - prec), i << (32 - prec)))
                out[bi, ch] = y
        if clipped:
            ctx.warn(self.name, f"{self.name} clipped {clipped} samples; decrease volume?")
        res = Stream(torch.from_numpy(out.astype(np.float64) / 2.0**31).to(st.x.device), st.rate, st.length, prec)
        return res
