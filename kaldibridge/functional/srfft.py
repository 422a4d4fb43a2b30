"""A split-radix complex FFT that rounds like the classic float32 C code.

The classic recursive split-radix FFT (Sorensen's formulation, as used by several speech
toolkits) does, for a block of ``m = 2^L`` points: a radix-2 butterfly over the two halves,
a ``-i`` rotation of the last quarter, twiddle multiplications of the two last quarters
(with pre-combined table values ``c``, ``-(s + c)`` and ``s - c`` so each costs three
multiplications), then recurses on the first half and on both last quarters; 4- and
2-point blocks are done directly, and a bit-reversal permutation ends it.

This module executes exactly those floating-point operations, in the same order for each
element, but vectorized: blocks of the same recursion generation are independent and are
processed together, and each value is a row of a ``(points, frames)`` tensor so that all
frames are transformed at once. With float32 input the result is bit-identical to the C
code on IEEE hardware without fused multiply-add (the trigonometric table values are
computed as GNU libm's ``sinf``/``cosf`` compute them, see :mod:`._f32math`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from kaldibridge.functional._f32math import cosf, sinf

__all__ = [
    "SplitRadixPlan",
    "split_radix_plan",
    "split_radix_fft",
    "split_radix_fft_numpy",
    "split_radix_fft_planar",
    "mixed_radix_fft",
    "mixed_radix_tables",
    "fft_tables",
]


@dataclass
class _Generation:
    s1: tuple[np.ndarray, np.ndarray] | None = None  # step 1 butterflies (p, q)
    s2: tuple[np.ndarray, np.ndarray] | None = None  # step 2 rotations (pos1, pos2)
    tw: tuple[np.ndarray, ...] | None = None  # step 3/4 (pos, c, spc, smc)
    sq1: np.ndarray | None = None  # n == m/8 positions of the first quarter
    sq2: np.ndarray | None = None  # ... and of the second
    base4: np.ndarray | None = None  # offsets of 4-point blocks
    base2: np.ndarray | None = None  # offsets of 2-point blocks


def _f32(x: float) -> np.float32:
    return np.float32(x)


def _tables(logn: int) -> tuple[np.ndarray, ...]:
    m = 1 << logn
    m4, m8 = m // 4, m // 8
    c1, sp1, sm1, c3, sp3, sm3 = [], [], [], [], [], []
    for n in range(1, m4):
        if n == m8:
            continue
        ang = _f32(n * (2.0 * math.pi) / m)
        c, s = cosf(ang), sinf(ang)
        c1.append(c)
        sp1.append(-(s + c))
        sm1.append(s - c)
        ang = _f32(3 * n * (2.0 * math.pi) / m)
        c, s = cosf(ang), sinf(ang)
        c3.append(c)
        sp3.append(-(s + c))
        sm3.append(s - c)
    return tuple(np.asarray(v, dtype=np.float32) for v in (c1, sp1, sm1, c3, sp3, sm3))


def _bit_reverse_permutation(logn: int) -> np.ndarray:
    """Where each output element comes from after the in-place unshuffling loop."""
    lg2 = logn >> 1
    if logn & 1:
        lg2 += 1
    seed = np.zeros(1 << lg2, dtype=np.int64)
    seed[1] = 1 if len(seed) > 1 else 0
    for j in range(2, lg2 + 1):
        imax = 1 << (j - 1)
        for i in range(imax):
            seed[i] <<= 1
            seed[i + imax] = seed[i] + 1
    x = np.arange(1 << logn, dtype=np.int64)
    lg2 = logn >> 1
    n = 1 << lg2
    for off in range(1, n):
        fj = n * int(seed[off])
        i, j = off, fj
        x[i], x[j] = x[j], x[i]
        xp = i
        for gno in range(1, int(seed[off])):
            xp += n
            j = fj + int(seed[gno])
            x[xp], x[j] = x[j], x[xp]
    return x


@dataclass
class SplitRadixPlan:
    """Precomputed index lists and tables for one transform size."""

    n: int
    logn: int
    generations: list[_Generation] = field(default_factory=list)
    perm: np.ndarray | None = None
    _tensors: dict = field(default_factory=dict)

    def tensors(self, dtype: torch.dtype, device: torch.device) -> list[dict[str, torch.Tensor]]:
        key = (dtype, device)
        hit = self._tensors.get(key)
        if hit is not None:
            return hit
        out = []
        for g in self.generations:
            d: dict[str, torch.Tensor] = {}

            def idx(a: np.ndarray) -> torch.Tensor:
                return torch.from_numpy(a).to(device=device)

            def val(a: np.ndarray) -> torch.Tensor:
                return torch.from_numpy(a).to(dtype=dtype, device=device)[:, None]

            if g.s1 is not None:
                d["s1p"], d["s1q"] = idx(g.s1[0]), idx(g.s1[1])
            if g.s2 is not None:
                d["s2a"], d["s2b"] = idx(g.s2[0]), idx(g.s2[1])
            if g.tw is not None:
                d["twp"] = idx(g.tw[0])
                d["twc"], d["twsp"], d["twsm"] = val(g.tw[1]), val(g.tw[2]), val(g.tw[3])
            if g.sq1 is not None:
                d["sq1"], d["sq2"] = idx(g.sq1), idx(g.sq2)
            if g.base4 is not None:
                d["b4"] = idx(g.base4)
            if g.base2 is not None:
                d["b2"] = idx(g.base2)
            out.append(d)
        if self.perm is not None:
            out.append({"perm": torch.from_numpy(self.perm).to(device=device)})
        self._tensors[key] = out
        return out


@lru_cache(maxsize=16)
def split_radix_plan(n: int) -> SplitRadixPlan:
    """The plan for an ``n``-point transform (``n`` a power of two, >= 2)."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"split-radix FFT needs a power of two >= 2, got {n}")
    logn = n.bit_length() - 1
    tables = {L: _tables(L) for L in range(4, logn + 1)}
    plan = SplitRadixPlan(n=n, logn=logn)
    current = [(0, logn)]
    while current:
        g = _Generation()
        s1p, s1q, s2a, s2b, twp, twc, twsp, twsm, sq1, sq2, b4, b2 = ([] for _ in range(12))
        nxt = []
        for off, L in current:
            if L == 2:
                b4.append(off)
                continue
            if L == 1:
                b2.append(off)
                continue
            if L == 0:
                continue
            m = 1 << L
            m2, m4, m8 = m // 2, m // 4, m // 8
            s1p.append(off + np.arange(m2))
            s1q.append(off + m2 + np.arange(m2))
            s2a.append(off + m2 + np.arange(m4))
            s2b.append(off + m2 + m4 + np.arange(m4))
            ns = np.array([k for k in range(1, m4) if k != m8], dtype=np.int64)
            if len(ns):
                c1, sp1, sm1, c3, sp3, sm3 = tables[L]
                twp.append(np.concatenate([off + m2 + ns, off + m2 + m4 + ns]))
                twc.append(np.concatenate([c1, c3]))
                twsp.append(np.concatenate([sp1, sp3]))
                twsm.append(np.concatenate([sm1, sm3]))
            sq1.append(np.array([off + m2 + m8]))
            sq2.append(np.array([off + m2 + m4 + m8]))
            nxt += [(off, L - 1), (off + m2, L - 2), (off + 3 * m4, L - 2)]
        cat = lambda v, dt=np.int64: np.concatenate(v).astype(dt)  # noqa: E731
        if s1p:
            g.s1 = (cat(s1p), cat(s1q))
            g.s2 = (cat(s2a), cat(s2b))
            g.sq1, g.sq2 = cat(sq1), cat(sq2)
        if twp:
            g.tw = (cat(twp), cat(twc, np.float32), cat(twsp, np.float32), cat(twsm, np.float32))
        if b4:
            g.base4 = np.asarray(b4, dtype=np.int64)
        if b2:
            g.base2 = np.asarray(b2, dtype=np.int64)
        plan.generations.append(g)
        current = nxt
    if logn > 1:
        plan.perm = _bit_reverse_permutation(logn)
    return plan


def _butterfly(x: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> None:
    a = x.index_select(1, p)
    b = x.index_select(1, q)
    x.index_copy_(1, p, a + b)
    x.index_copy_(1, q, a - b)


def split_radix_fft(
    re: torch.Tensor, im: torch.Tensor, tables: list[dict[str, torch.Tensor]] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward complex FFT (``exp(-2 pi i k n / N)``) of ``N`` points along dim 0.

    Args:
        re: ``(N, ...)`` real parts; ``N`` a power of two.
        im: ``(N, ...)`` imaginary parts.
        tables: ``split_radix_plan(N).tensors(dtype, device)``, prebuilt (needed under
            ``torch.compile``, where the plan cannot be built while tracing).

    Returns:
        ``(re, im)`` of the transform, ``(N, ...)`` each (new tensors).
    """
    n = re.shape[0]
    tail = re.shape[1:]
    x = torch.stack([re.reshape(n, -1), im.reshape(n, -1)])  # (2, N, F): one gather serves both parts
    sq = float(np.float32(math.sqrt(0.5)))
    gens = tables if tables is not None else split_radix_plan(n).tensors(re.dtype, re.device)
    for d in gens:
        if "s1p" in d:
            _butterfly(x, d["s1p"], d["s1q"])
            a, b = d["s2a"], d["s2b"]
            u = x.index_select(1, a)
            v = x.index_select(1, b)
            xr1, xi1, xr2, xi2 = u[0], u[1], v[0], v[1]
            x.index_copy_(1, a, torch.stack([xr1 + xi2, xi1 - xr2]))
            x.index_copy_(1, b, torch.stack([xr1 - xi2, xi1 + xr2]))
            if "twp" in d:
                t = d["twp"]
                w = x.index_select(1, t)
                r1, i1 = w[0], w[1]
                tmp2 = d["twc"] * (r1 + i1)
                x.index_copy_(1, t, torch.stack([d["twsm"] * i1 + tmp2, d["twsp"] * r1 + tmp2]))
            s1, s2 = d["sq1"], d["sq2"]
            w = x.index_select(1, s1)
            r1, i1 = w[0], w[1]
            x.index_copy_(1, s1, torch.stack([sq * (r1 + i1), sq * (i1 - r1)]))
            w = x.index_select(1, s2)
            r2, i2 = w[0], w[1]
            x.index_copy_(1, s2, torch.stack([sq * (i2 - r2), (-sq) * (r2 + i2)]))
        if "b4" in d:
            o = d["b4"]
            i0, i1_, i2_, i3 = o, o + 1, o + 2, o + 3
            _butterfly(x, i0, i2_)
            _butterfly(x, i1_, i3)
            _butterfly(x, i0, i1_)
            u = x.index_select(1, i2_)
            v = x.index_select(1, i3)
            r1, i1v, r2, i2v = u[0], u[1], v[0], v[1]
            x.index_copy_(1, i2_, torch.stack([r1 + i2v, i1v - r2]))
            x.index_copy_(1, i3, torch.stack([r1 - i2v, i1v + r2]))
        if "b2" in d:
            o = d["b2"]
            _butterfly(x, o, o + 1)
        if "perm" in d:
            x = x.index_select(1, d["perm"])
    return x[0].reshape((n,) + tail), x[1].reshape((n,) + tail)


# ----------------------------------------------------------------------------------------
# Mixed-radix complex FFT for sizes that are not powers of two.


def _prime_factors(n: int) -> list[int]:
    out, m = [], n
    for f in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29):
        while m % f == 0:
            m //= f
            out.append(f)
    f = 31
    while m > 1:
        while m % f == 0:
            m //= f
            out.append(f)
        f += 2
    return out


def _cmul(a_re: np.float32, a_im: np.float32, b_re: np.float32, b_im: np.float32) -> tuple[np.float32, np.float32]:
    """``b * a`` with the float32 rounding of the usual C expression."""
    t_re = np.float32(np.float32(b_re * a_re) - np.float32(b_im * a_im))
    t_im = np.float32(np.float32(b_re * a_im) + np.float32(b_im * a_re))
    return t_re, t_im


@lru_cache(maxsize=16)
def _mixed_radix_levels(n: int) -> tuple[tuple[int, int, np.ndarray, np.ndarray], ...]:
    """Per level ``(P, Q, tw_re, tw_im)`` with twiddles ``(P, P, Q)`` indexed ``[p, p', q']``,
    generated by the repeated float32 multiplications of the classic recursive code."""
    levels = []
    size = n
    for p_fac in _prime_factors(n):
        q_len = size // p_fac
        root_n = (cosf(-2.0 * math.pi / size), sinf(-2.0 * math.pi / size))
        root_p = (cosf(-2.0 * math.pi / p_fac), sinf(-2.0 * math.pi / p_fac))
        tw_re = np.zeros((p_fac, p_fac, q_len), dtype=np.float32)
        tw_im = np.zeros((p_fac, p_fac, q_len), dtype=np.float32)
        qd = (np.float32(1.0), np.float32(0.0))
        for q in range(q_len):  # constant table, built once per size
            pdq = qd
            for pd in range(p_fac):
                tw_re[1, pd, q], tw_im[1, pd, q] = pdq
                ppdq = pdq
                for p in range(2, p_fac):
                    ppdq = _cmul(pdq[0], pdq[1], ppdq[0], ppdq[1])
                    tw_re[p, pd, q], tw_im[p, pd, q] = ppdq
                if pd != p_fac - 1:
                    pdq = _cmul(root_p[0], root_p[1], pdq[0], pdq[1])
            qd = _cmul(root_n[0], root_n[1], qd[0], qd[1])
        levels.append((p_fac, q_len, tw_re, tw_im))
        size = q_len
    return tuple(levels)


def mixed_radix_tables(n: int, dtype: torch.dtype, device: torch.device | str | None = None) -> list[tuple[int, int, torch.Tensor, torch.Tensor]]:
    """The twiddle tables of :func:`mixed_radix_fft` for size ``n`` as tensors."""
    return [
        (p, q, torch.from_numpy(tr).to(dtype=dtype, device=device), torch.from_numpy(ti).to(dtype=dtype, device=device))
        for p, q, tr, ti in _mixed_radix_levels(n)
    ]


def mixed_radix_fft(
    re: torch.Tensor, im: torch.Tensor, tables: list[tuple[int, int, torch.Tensor, torch.Tensor]] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward complex FFT of any length along the last dim, rounding like the classic C
    mixed-radix code (prime factors smallest first; at each level the input is regrouped,
    the ``Q = N / P``-point transforms are done recursively, then each output is the sum
    over ``p`` of twiddled sub-results accumulated in order, with twiddles generated by
    repeated float multiplication).

    Args:
        re, im: ``(..., N)``.
        tables: ``mixed_radix_tables(N, dtype, device)``, prebuilt (for ``torch.compile``).

    Returns:
        ``(re, im)`` of the transform, ``(..., N)``.
    """
    n = re.shape[-1]
    lead = re.shape[:-1]
    levels = tables if tables is not None else mixed_radix_tables(n, re.dtype, re.device)
    xr = re.reshape((-1, 1, n))
    xi = im.reshape((-1, 1, n))

    def rec(xr: torch.Tensor, xi: torch.Tensor, level: int) -> tuple[torch.Tensor, torch.Tensor]:
        if level == len(levels):
            return xr, xi
        p_fac, q_len, tr, ti = levels[level]
        f, m, size = xr.shape
        if q_len > 1:  # b[p Q + q] = a[q P + p]
            xr = xr.reshape(f, m, q_len, p_fac).transpose(-1, -2).reshape(f, m * p_fac, q_len)
            xi = xi.reshape(f, m, q_len, p_fac).transpose(-1, -2).reshape(f, m * p_fac, q_len)
        else:
            xr = xr.reshape(f, m * p_fac, 1)
            xi = xi.reshape(f, m * p_fac, 1)
        cr, ci = rec(xr, xi, level + 1)
        cr = cr.reshape(f, m, p_fac, 1, q_len)
        ci = ci.reshape(f, m, p_fac, 1, q_len)
        acc_r = cr[:, :, 0].expand(f, m, p_fac, q_len)
        acc_i = ci[:, :, 0].expand(f, m, p_fac, q_len)
        for p in range(1, p_fac):
            dr, di = cr[:, :, p], ci[:, :, p]
            acc_r = acc_r + (dr * tr[p] - di * ti[p])
            acc_i = acc_i + (dr * ti[p] + di * tr[p])
        return acc_r.reshape(f, m, size), acc_i.reshape(f, m, size)

    outr, outi = rec(xr, xi, 0)
    return outr.reshape(lead + (n,)), outi.reshape(lead + (n,))


def fft_tables(n: int, dtype: torch.dtype, device: torch.device | str | None = None) -> Any:
    """Prebuilt tables for an ``n``-point complex FFT with :func:`split_radix_fft` (``n`` a
    power of two) or :func:`mixed_radix_fft` (otherwise)."""
    if n >= 2 and n & (n - 1) == 0:
        return split_radix_plan(n).tensors(dtype, torch.device(device) if device is not None else torch.device("cpu"))
    return mixed_radix_tables(n, dtype, device)


# ----------------------------------------------------------------------------------------
# The same split-radix transform in numpy, with contiguous work per stage.
#
# Before each recursion generation the rows are gathered (one ``take``) into a layout where
# the generation's operations are slices: for all blocks of 8 or more points, the first
# and second quarters of their first halves (A1, A2) and of their second halves (B1, B2),
# then the 4-point blocks' points 0..3, the 2-point blocks' points 0..1, then the rows
# already final. Each element still goes through exactly the floating-point operations
# of the generic version above, so results are bit-identical; only the data movement
# differs (a few whole-slice numpy operations per generation instead of index_copy_).
# kaldibridge.functional._srfft_kernels holds a compiled (numba) twin of this planar
# transform fused with the power step, bit-identical to it, for long runs.


@dataclass
class _NpStage:
    gather: np.ndarray | None  # rows of the previous layout, in this layout's order
    s: int  # rows per quarter segment (A1, A2, B1, B2)
    k4: int  # number of 4-point blocks
    k2: int  # number of 2-point blocks
    c: np.ndarray | None  # (2s, 1, 1) twiddle tables over B1|B2 (1.0 at special rows)
    sp: np.ndarray | None
    sm: np.ndarray | None
    keep: np.ndarray | None  # rows (in B1|B2) with n == 0: left as after step 2
    sq1: np.ndarray | None  # rows (in B1) with n == m/8
    sq2: np.ndarray | None  # rows (in B2) with n == m/8


@lru_cache(maxsize=16)
def _numpy_plan(n: int) -> tuple[tuple[_NpStage, ...], np.ndarray | None]:
    """Stages of :func:`split_radix_fft_numpy` and its final gather (``None`` = identity)."""
    logn = n.bit_length() - 1
    tables = {L: _tables(L) for L in range(4, logn + 1)}
    stages = []
    where = np.arange(n, dtype=np.int64)  # natural position -> row of the current layout
    current = [(0, logn)]
    while current:
        a1, a2, b1, b2, cc, ssp, ssm, keep, q1, q2 = ([] for _ in range(10))
        c4: list[list[int]] = [[], [], [], []]
        d2: list[list[int]] = [[], []]
        nxt = []
        s = 0
        any_tw = False
        for off, L in current:
            if L == 2:
                for j in range(4):
                    c4[j].append(off + j)
                continue
            if L == 1:
                d2[0].append(off)
                d2[1].append(off + 1)
                continue
            if L == 0:
                continue
            m = 1 << L
            m2, m4, m8 = m // 2, m // 4, m // 8
            a1.append(off + np.arange(m4))
            a2.append(off + m4 + np.arange(m4))
            b1.append(off + m2 + np.arange(m4))
            b2.append(off + m2 + m4 + np.arange(m4))
            c_blk = np.ones((2, m4), dtype=np.float32)
            sp_blk = np.ones((2, m4), dtype=np.float32)
            sm_blk = np.ones((2, m4), dtype=np.float32)
            ns = np.array([k for k in range(1, m4) if k != m8], dtype=np.int64)
            if len(ns):
                any_tw = True
                c1, sp1, sm1, c3, sp3, sm3 = tables[L]
                c_blk[0, ns], c_blk[1, ns] = c1, c3
                sp_blk[0, ns], sp_blk[1, ns] = sp1, sp3
                sm_blk[0, ns], sm_blk[1, ns] = sm1, sm3
            cc.append(c_blk)
            ssp.append(sp_blk)
            ssm.append(sm_blk)
            keep.append((s, s + 0))  # placeholder, fixed below with the total s
            q1.append(s + m8)
            s += m4
            nxt += [(off, L - 1), (off + m2, L - 2), (off + 3 * m4, L - 2)]
        # rows n == 0 of each block in B1 and in B2 (B2 starts s rows after B1)
        starts = np.array([k[0] for k in keep], dtype=np.int64)
        keep_rows = np.concatenate([starts, starts + s]) if s else None
        q1_rows = np.asarray(q1, dtype=np.int64) if s else None
        order = [np.concatenate(v) for v in (a1, a2, b1, b2) if v]
        order += [np.asarray(v, dtype=np.int64) for v in c4 + d2 if v]
        active = np.concatenate(order).astype(np.int64) if order else np.zeros(0, np.int64)
        perm = np.concatenate([active, np.setdiff1d(np.arange(n), active)])
        gather = where[perm]
        if np.array_equal(gather, np.arange(n)):
            gather = None
        where = np.empty(n, dtype=np.int64)
        where[perm] = np.arange(n)

        def tab(parts: list[np.ndarray]) -> np.ndarray | None:
            if not parts or not any_tw:  # only n == 0 and n == m/8 rows: nothing to multiply
                return None
            v = np.concatenate([np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])])
            return v.reshape(-1, 1, 1)

        stages.append(
            _NpStage(
                gather=gather, s=s, k4=len(c4[0]), k2=len(d2[0]), c=tab(cc), sp=tab(ssp), sm=tab(ssm),
                keep=keep_rows, sq1=q1_rows, sq2=q1_rows + s if q1_rows is not None else None,
            )
        )
        current = nxt
    final = where[_bit_reverse_permutation(logn)] if logn > 1 else where
    return tuple(stages), (None if np.array_equal(final, np.arange(n)) else final)


def _bfly(a: np.ndarray, b: np.ndarray, tmp: np.ndarray) -> None:
    """``a, b <- a + b, a - b``; ``tmp`` is work space of ``a``'s shape."""
    np.subtract(a, b, out=tmp)
    a += b
    b[...] = tmp


def _rot(u: np.ndarray, v: np.ndarray, tmp: np.ndarray) -> None:
    """``u, v <- (ur + vi, ui - vr), (ur - vi, ui + vr)`` on ``(2, rows, F)`` planar slices;
    ``tmp`` is work space of ``u``'s shape."""
    ur, ui, vr, vi = u[0], u[1], v[0], v[1]
    np.subtract(ur, vi, out=tmp[0])
    np.add(ui, vr, out=tmp[1])
    ur += vi
    ui -= vr
    v[...] = tmp


def split_radix_fft_planar(x: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """:func:`split_radix_fft` on a numpy ``(2, N, F)`` array (real and imaginary planes).

    Bit-identical to :func:`split_radix_fft` for the same dtype. With the planes apart,
    every stage works on contiguous blocks of rows. The input is used as work space.

    Args:
        x: ``(2, N, F)`` contiguous input, overwritten.
        scratch: optional second work array of ``x``'s shape and dtype (contiguous); the
            stages then alternate between ``x`` and ``scratch`` without allocating.

    Returns:
        ``(2, N, F)``: ``x`` or the work array (``scratch`` if given).
    """
    n = x.shape[1]
    if n < 2 or n & (n - 1):
        raise ValueError(f"split-radix FFT needs a power of two >= 2, got {n}")
    stages, final = _numpy_plan(n)
    dt = x.dtype.type
    sq = dt(np.float32(math.sqrt(0.5)))
    spare = scratch if scratch is not None else np.empty_like(x)
    for st in stages:
        if st.gather is not None:
            np.take(x, st.gather, axis=1, out=spare, mode="clip")
            x, spare = spare, x
        s = st.s
        if s:
            _bfly(x[:, : 2 * s], x[:, 2 * s : 4 * s], spare[:, : 2 * s])
            _rot(x[:, 2 * s : 3 * s], x[:, 3 * s : 4 * s], spare[:, :s])
            r, i = x[0, 2 * s : 4 * s], x[1, 2 * s : 4 * s]
            kept = x[:, 2 * s + st.keep]
            w1 = x[:, 2 * s + st.sq1]
            w2 = x[:, 2 * s + st.sq2]
            if st.c is not None:
                c, sp_, sm = st.c[:, 0], st.sp[:, 0], st.sm[:, 0]
                if dt is not np.float32:
                    c, sp_, sm = c.astype(dt), sp_.astype(dt), sm.astype(dt)
                tmp2, ni = spare[0, : 2 * s], spare[1, : 2 * s]
                np.add(r, i, out=tmp2)
                tmp2 *= c
                np.multiply(sp_, r, out=ni)
                ni += tmp2
                np.multiply(sm, i, out=r)
                r += tmp2
                i[...] = ni
                x[:, 2 * s + st.keep] = kept
            r1, i1 = w1[0], w1[1]
            x[0, 2 * s + st.sq1] = sq * (r1 + i1)
            x[1, 2 * s + st.sq1] = sq * (i1 - r1)
            r2, i2 = w2[0], w2[1]
            x[0, 2 * s + st.sq2] = sq * (i2 - r2)
            x[1, 2 * s + st.sq2] = (-sq) * (r2 + i2)
        o = 4 * s
        if st.k4:
            k = st.k4
            c0, c1, c2, c3 = (x[:, o + j * k : o + (j + 1) * k] for j in range(4))
            t = spare[:, :k]
            _bfly(c0, c2, t)
            _bfly(c1, c3, t)
            _bfly(c0, c1, t)
            _rot(c2, c3, t)
            o += 4 * k
        if st.k2:
            k = st.k2
            _bfly(x[:, o : o + k], x[:, o + k : o + 2 * k], spare[:, :k])
    if final is not None:
        np.take(x, final, axis=1, out=spare, mode="clip")
        x = spare
    return x


def split_radix_fft_numpy(x: np.ndarray) -> np.ndarray:
    """:func:`split_radix_fft` on a numpy ``(N, 2, F)`` array (real/imaginary on axis 1).

    Bit-identical to :func:`split_radix_fft` for the same dtype (through
    :func:`split_radix_fft_planar`). Returns a new array ``(N, 2, F)``.
    """
    if x.ndim != 3 or x.shape[1] != 2:
        raise ValueError(f"split_radix_fft_numpy expects (N, 2, F), got {x.shape}")
    y = split_radix_fft_planar(np.ascontiguousarray(x.transpose(1, 0, 2)))
    return np.ascontiguousarray(y.transpose(1, 0, 2))
