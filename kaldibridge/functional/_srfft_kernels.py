"""Compiled twin of the planar split-radix FFT and the half-complex power step.

:func:`split_radix_power_planar` computes what
:func:`~kaldibridge.functional.srfft.split_radix_fft_planar` followed by
:func:`~kaldibridge.functional.spectral.half_complex_power_planar` compute: the power (or
magnitude) spectrum of frames laid out as planar columns, rounding like the classic float32
split-radix C code. Two paths give the same bits:

* numpy: the two functions above, about 150 whole-array operations per chunk of frames;
* compiled (when numba is installed, see :mod:`kaldibridge._jit`): one call per chunk runs
  the same float32 operations element by element, in the same order per element (no fused
  multiply-add, no reassociation: numba's default ``njit`` does neither), blocks of frame
  columns at a time, with the inner loops over frames (LLVM vectorizes them across frames,
  which keeps each frame's rounding).

Why compile: the numpy path makes about 150 passes over the chunk, each an interpreter round
trip and a trip through memory; it costs about 3 us per frame of a 512-point FFT (about 60%
of fbank time). The kernel needs about 0.8 us per frame (measured side by side, one
process, CPU time: numpy 8.5 us, compiled 0.8 us per frame on a busy 2-core machine).

Start-up policy: importing numba and loading the cached kernel costs a process about
0.85 s of CPU here (numba's start-up imports its type registries and, when installed,
scipy.linalg); the compiled path saves about 5-7 us of CPU per frame of fbank (measured:
fbank-23 on 0.1 h in one process, 11 us per frame with numpy, 3.7 us compiled; the
command-line tool on one hour, 4.6-6.1 s of CPU with numpy, 4.2-4.6 s with the kernel
from the first frame). The cost breaks even after some 120,000-175,000 frames. A process
that has not imported numba yet therefore stays on numpy (same bits) until it has
transformed :data:`FFT_COMPILE_AFTER_FRAMES` frames in all (100,000: about 17 minutes of
audio at a 10 ms shift): runs shorter than that never pay for numba, a run just past it
loses at most the load time, and longer runs gain. ``KALDIBRIDGE_NO_NUMBA=1`` forces numpy;
``KALDIBRIDGE_FFT_COMPILE_AFTER_FRAMES`` sets the threshold (tests set it to 0).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from typing import Literal

import numpy as np

from kaldibridge._jit import jit_kernel
from kaldibridge.functional.spectral import half_complex_power_planar
from kaldibridge.functional.srfft import _bit_reverse_permutation, _tables, split_radix_fft_planar

__all__ = [
    "FFT_COMPILE_AFTER_FRAMES",
    "FORCE_PATH",
    "split_radix_power_planar",
    "split_radix_power_compiled",
    "last_fft_path",
    "compiled_path_available",
]

#: frames a process transforms on the numpy path before it loads numba (unless numba is
#: already loaded); the environment variable ``KALDIBRIDGE_FFT_COMPILE_AFTER_FRAMES``
#: overrides it (read at import)
FFT_COMPILE_AFTER_FRAMES = 100_000
try:
    FFT_COMPILE_AFTER_FRAMES = int(os.environ.get("KALDIBRIDGE_FFT_COMPILE_AFTER_FRAMES", FFT_COMPILE_AFTER_FRAMES))
except ValueError:  # a malformed value keeps the default (library code does not raise at import)
    pass
#: ``"numpy"`` or ``"numba"`` forces that path (tests, benchmarks; ``"numba"`` still needs
#: numba available); ``None`` applies the policy above
FORCE_PATH: Literal["numpy", "numba"] | None = None
_frames_done = 0
_last_path: Literal["numpy", "numba", "none"] = "none"

#: float32 values of ``x`` a kernel call works on at a time (a block of frame columns):
#: long inner loops pay more than cache misses here. Measured for a 512-point real FFT on
#: 1024 frames (CPU time per frame): 128 columns 1.16 us, 256 1.06 us, 512 0.96 us,
#: 1024 0.81 us
_BLOCK_VALUES = 1 << 19


@lru_cache(maxsize=16)
def _kernel_plan(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Blocks ``(offsets, log2 sizes)`` of the recursion in generation order, twiddle tables
    ``(logn + 1, 2, max(n / 4, 1))`` (``c``, ``-(s + c)``, ``s - c``; row 0 for the first
    quarter's angles, row 1 for the triple angles; indexed by ``k``), and the final
    bit-reversal gather for an ``n``-point complex transform."""
    logn = n.bit_length() - 1
    offs: list[int] = []
    levels: list[int] = []
    current = [(0, logn)]
    while current:
        nxt = []
        for off, lv in current:
            if lv == 0:
                continue
            offs.append(off)
            levels.append(lv)
            if lv >= 3:
                m2, m4 = 1 << (lv - 1), 1 << (lv - 2)
                nxt += [(off, lv - 1), (off + m2, lv - 2), (off + 3 * m4, lv - 2)]
        current = nxt
    width = max(n // 4, 1)
    tc = np.ones((logn + 1, 2, width), dtype=np.float32)
    tsp = np.ones_like(tc)
    tsm = np.ones_like(tc)
    for lv in range(4, logn + 1):
        m4, m8 = 1 << (lv - 2), 1 << (lv - 3)
        ks = np.array([k for k in range(1, m4) if k != m8], dtype=np.int64)
        c1, sp1, sm1, c3, sp3, sm3 = _tables(lv)
        tc[lv, 0, ks], tsp[lv, 0, ks], tsm[lv, 0, ks] = c1, sp1, sm1
        tc[lv, 1, ks], tsp[lv, 1, ks], tsm[lv, 1, ks] = c3, sp3, sm3
    perm = _bit_reverse_permutation(logn) if logn > 1 else np.arange(n, dtype=np.int64)
    return (
        np.asarray(offs, dtype=np.int64),
        np.asarray(levels, dtype=np.int64),
        tc,
        tsp,
        tsm,
        np.ascontiguousarray(perm, dtype=np.int64),
    )


@jit_kernel(boundscheck=False)
def _fft_power_kernel(x, offs, levels, tc, tsp, tsm, perm, tr, ti, out, sq, block):  # type: ignore[no-untyped-def]
    """In place on ``x (2, half, F)``: split-radix FFT of each column, then the split step
    and ``re^2 + im^2`` into ``out (half + 1, F)``. Each value sees the operations of the
    numpy path in the same order (see the module docstring). The inner loops run over the
    frames of a column block through 1-d row slices, which LLVM vectorizes (indexing the
    2-d array directly keeps it scalar)."""
    half = x.shape[1]
    nf = x.shape[2]
    q = half // 2
    hc = np.float32(0.5)
    nsq = -sq
    xr = x[0]
    xi = x[1]
    for f0 in range(0, nf, block):
        f1 = min(f0 + block, nf)
        nb = f1 - f0
        for b in range(offs.shape[0]):
            off = offs[b]
            lv = levels[b]
            if lv >= 3:
                m2 = 1 << (lv - 1)
                m4 = 1 << (lv - 2)
                m8 = 1 << (lv - 3)
                for k in range(m2):  # butterflies of the two halves
                    pr = xr[off + k, f0:f1]
                    pi = xi[off + k, f0:f1]
                    rr = xr[off + m2 + k, f0:f1]
                    ri = xi[off + m2 + k, f0:f1]
                    for f in range(nb):
                        a = pr[f]
                        c = rr[f]
                        pr[f] = a + c
                        rr[f] = a - c
                        a = pi[f]
                        c = ri[f]
                        pi[f] = a + c
                        ri[f] = a - c
                for k in range(m4):  # -i rotation of the last quarter
                    pr = xr[off + m2 + k, f0:f1]
                    pi = xi[off + m2 + k, f0:f1]
                    rr = xr[off + m2 + m4 + k, f0:f1]
                    ri = xi[off + m2 + m4 + k, f0:f1]
                    for f in range(nb):
                        ur = pr[f]
                        ui = pi[f]
                        vr = rr[f]
                        vi = ri[f]
                        pr[f] = ur + vi
                        pi[f] = ui - vr
                        rr[f] = ur - vi
                        ri[f] = ui + vr
                for j in range(2):  # twiddles of the two last quarters
                    for k in range(1, m4):
                        if k == m8:
                            continue
                        pr = xr[off + m2 + j * m4 + k, f0:f1]
                        pi = xi[off + m2 + j * m4 + k, f0:f1]
                        cc = tc[lv, j, k]
                        sp = tsp[lv, j, k]
                        sm = tsm[lv, j, k]
                        for f in range(nb):
                            r1 = pr[f]
                            i1 = pi[f]
                            t = cc * (r1 + i1)
                            pr[f] = sm * i1 + t
                            pi[f] = sp * r1 + t
                pr = xr[off + m2 + m8, f0:f1]
                pi = xi[off + m2 + m8, f0:f1]
                rr = xr[off + m2 + m4 + m8, f0:f1]
                ri = xi[off + m2 + m4 + m8, f0:f1]
                for f in range(nb):
                    r1 = pr[f]
                    i1 = pi[f]
                    pr[f] = sq * (r1 + i1)
                    pi[f] = sq * (i1 - r1)
                    r2 = rr[f]
                    i2 = ri[f]
                    rr[f] = sq * (i2 - r2)
                    ri[f] = nsq * (r2 + i2)
            elif lv == 2:
                x0r = xr[off, f0:f1]
                x0i = xi[off, f0:f1]
                x1r = xr[off + 1, f0:f1]
                x1i = xi[off + 1, f0:f1]
                x2r = xr[off + 2, f0:f1]
                x2i = xi[off + 2, f0:f1]
                x3r = xr[off + 3, f0:f1]
                x3i = xi[off + 3, f0:f1]
                for f in range(nb):
                    r0 = x0r[f]
                    i0 = x0i[f]
                    r1 = x1r[f]
                    i1 = x1i[f]
                    r2 = x2r[f]
                    i2 = x2i[f]
                    r3 = x3r[f]
                    i3 = x3i[f]
                    a0r = r0 + r2
                    a0i = i0 + i2
                    a2r = r0 - r2
                    a2i = i0 - i2
                    a1r = r1 + r3
                    a1i = i1 + i3
                    a3r = r1 - r3
                    a3i = i1 - i3
                    x0r[f] = a0r + a1r
                    x0i[f] = a0i + a1i
                    x1r[f] = a0r - a1r
                    x1i[f] = a0i - a1i
                    x2r[f] = a2r + a3i
                    x2i[f] = a2i - a3r
                    x3r[f] = a2r - a3i
                    x3i[f] = a2i + a3r
            else:  # 2-point block
                pr = xr[off, f0:f1]
                pi = xi[off, f0:f1]
                rr = xr[off + 1, f0:f1]
                ri = xi[off + 1, f0:f1]
                for f in range(nb):
                    a = pr[f]
                    c = rr[f]
                    pr[f] = a + c
                    rr[f] = a - c
                    a = pi[f]
                    c = ri[f]
                    pi[f] = a + c
                    ri[f] = a - c
        # split step: bin k of the real transform from complex outputs k and half - k,
        # read through the bit-reversal gather
        pr = xr[perm[0], f0:f1]
        pi = xi[perm[0], f0:f1]
        o0 = out[0, f0:f1]
        on = out[half, f0:f1]
        for f in range(nb):
            a = pr[f] + pi[f]
            c = pr[f] - pi[f]
            o0[f] = a * a
            on[f] = c * c
        for k in range(1, q + 1):
            pr = xr[perm[k], f0:f1]
            pi = xi[perm[k], f0:f1]
            rr = xr[perm[half - k], f0:f1]
            ri = xi[perm[half - k], f0:f1]
            ok = out[k, f0:f1]
            om = out[half - k, f0:f1]
            wr = tr[k - 1, 0]
            wi = ti[k - 1, 0]
            if k < q:
                for f in range(nb):
                    bkr = pr[f]
                    bki = pi[f]
                    bmr = rr[f]
                    bmi = ri[f]
                    ckr = (bkr + bmr) * hc
                    cki = (bki - bmi) * hc
                    dkr = (bki + bmi) * hc
                    dki = (bmr - bkr) * hc
                    u = wr * dkr - wi * dki
                    v = wr * dki + wi * dkr
                    a = ckr + u
                    c = cki + v
                    ok[f] = a * a + c * c
                    a = ckr - u
                    c = cki - v
                    om[f] = a * a + c * c
            else:
                for f in range(nb):
                    bkr = pr[f]
                    bki = pi[f]
                    bmr = rr[f]
                    bmi = ri[f]
                    ckr = (bkr + bmr) * hc
                    cki = (bki - bmi) * hc
                    dkr = (bki + bmi) * hc
                    dki = (bmr - bkr) * hc
                    u = wr * dkr - wi * dki
                    v = wr * dki + wi * dkr
                    a = ckr + u
                    c = cki + v
                    ok[f] = a * a + c * c


def compiled_path_available() -> bool:
    """Whether the compiled kernel can run (numba installed and not disabled)."""
    return _fft_power_kernel.compiled() is not None


def last_fft_path() -> Literal["numpy", "numba", "none"]:
    """Which path the last :func:`split_radix_power_planar` call took (for benchmarks)."""
    return _last_path


def split_radix_power_compiled(
    x: np.ndarray, twiddles: tuple[np.ndarray, np.ndarray], out: np.ndarray, power: bool = True
) -> np.ndarray:
    """The compiled path of :func:`split_radix_power_planar`, whatever the policy says.

    Args:
        x: ``(2, n_fft / 2, frames)`` float32 contiguous planar input, overwritten.
        twiddles: ``(re, im)`` float32 arrays ``(n_fft / 4, 1)`` of the split step.
        out: ``(n_fft / 2 + 1, frames)`` float32 contiguous output.
        power: if false, the square root of the power (magnitude).

    Returns:
        ``out``.

    Raises:
        RuntimeError: numba is not available (check :func:`compiled_path_available`).
    """
    kernel = _fft_power_kernel.compiled()
    if kernel is None:
        raise RuntimeError("the compiled split-radix kernel needs numba (installed, KALDIBRIDGE_NO_NUMBA unset)")
    half = x.shape[1]
    offs, levels, tc, tsp, tsm, perm = _kernel_plan(half)
    tr, ti = twiddles
    sq = np.float32(math.sqrt(0.5))
    block = max(16, _BLOCK_VALUES // (2 * half))
    kernel(x, offs, levels, tc, tsp, tsm, perm, tr, ti, out, sq, block)
    if not power:
        np.sqrt(out, out=out)
    return out


def _kernel_fits(x: np.ndarray, twiddles: tuple[np.ndarray, np.ndarray], out: np.ndarray) -> bool:
    half = x.shape[1]
    return (
        x.dtype == np.float32
        and out.dtype == np.float32
        and x.flags.c_contiguous
        and out.flags.c_contiguous
        and half >= 2
        and half & (half - 1) == 0
        and out.shape == (half + 1, x.shape[2])
        and all(t.dtype == np.float32 and t.shape == (half // 2, 1) for t in twiddles)
    )


def split_radix_power_planar(
    x: np.ndarray,
    twiddles: tuple[np.ndarray, np.ndarray],
    out: np.ndarray,
    power: bool = True,
    scratch: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Power (or magnitude) spectrum of planar columns through Kaldi's split-radix FFT.

    Equal, bit for bit, to ``half_complex_power_planar(split_radix_fft_planar(x, scratch),
    twiddles, out, power, work)``; runs the compiled kernel when numba is loaded in the
    process already or once :data:`FFT_COMPILE_AFTER_FRAMES` frames have gone through
    here (see the module docstring), else those numpy functions. :data:`FORCE_PATH`
    overrides the policy. The kernel takes float32 C-contiguous arrays only; anything else
    goes the numpy way.

    Args:
        x: ``(2, n_fft / 2, frames)`` contiguous input (even samples in plane 0, odd
            samples in plane 1), overwritten.
        twiddles: ``(re, im)`` arrays ``(n_fft / 4, 1)`` (see
            :func:`~kaldibridge.functional.spectral.recursive_twiddles`).
        out: ``(n_fft / 2 + 1, frames)`` output, bins in natural order.
        power: if false, the square root of the power (magnitude).
        scratch: optional work array of ``x``'s shape (numpy path).
        work: optional work space ``(6, n_fft / 4, frames)`` (numpy path).

    Returns:
        ``out``.
    """
    global _frames_done, _last_path
    _frames_done += x.shape[2]
    if FORCE_PATH is not None:
        kernel = _fft_power_kernel.compiled() if FORCE_PATH == "numba" else None
    else:
        kernel = _fft_power_kernel.compiled_if_worth_it(_frames_done, FFT_COMPILE_AFTER_FRAMES)
    if kernel is not None and _kernel_fits(x, twiddles, out):
        _last_path = "numba"
        return split_radix_power_compiled(x, twiddles, out, power)
    _last_path = "numpy"
    y = split_radix_fft_planar(x, scratch)
    return half_complex_power_planar(y, twiddles, out, power, work)
