"""SoX's ``reverb``: Freeverb (8 damped comb filters in parallel, 4 all-passes in series).

Two paths compute the same linear filter arrays:

- with numba (:mod:`kaldibridge._jit`), a compiled kernel runs the recursion sample by
  sample, as SoX does: the combs feed back through a one-pole low-pass, a recursion
  that array code cannot express without a Python-level loop per block;
- otherwise, each array's impulse response (computed once per parameter set: the comb
  filters of all channels in blocks no longer than the shortest comb delay, the
  all-passes as first-order recursions across blocks of their delay length with
  :func:`~kaldibridge.functional.filtering.lfilter`), truncated where it falls below
  -140 dB, is applied as a partitioned FFT convolution.

SoX computes in float32; both paths compute in float64 (differences from SoX are at the
float32 rounding level; between the paths, at the float64 one plus the truncation).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from kaldibridge._jit import jit_kernel
from kaldibridge.functional.filtering import lfilter
from kaldibridge.sox._args import db_to_linear, numeric
from kaldibridge.sox._chain import Context, Effect, Stream, register

_COMBS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
_ALLPASSES = (225, 341, 441, 556)
_STEREO_ADJUST = 12


def _f32(v: float) -> float:
    return float(np.float32(v))


def _sizes(rate: float, scale: float, offset: float) -> tuple[list[int], list[int]]:
    r = rate * (1 / 44100.0)
    combs = []
    for length in _COMBS:
        combs.append(int(scale * r * (length + _STEREO_ADJUST * offset) + 0.5))
        offset = -offset
    allp = []
    for length in _ALLPASSES:
        allp.append(int(r * (length + _STEREO_ADJUST * offset) + 0.5))
        offset = -offset
    return combs, allp


def _comb_bank(x: torch.Tensor, sizes: list[int], feedback: float, damping: float) -> torch.Tensor:
    """Sum of damped combs. ``x``: (rows, time) -> (rows, time).

    Blocks of the shortest comb delay only read delay-line contents written in earlier
    blocks; inside a block the damping low-pass (a first-order recursion) is solved by a
    log-step prefix scan. Runs in numpy (small arrays, low per-call overhead).
    """
    xn = x.detach().cpu().numpy()
    rows, n = xn.shape
    k = len(sizes)
    block = min(sizes)
    nb = -(-n // block)
    total = nb * block
    maxs = max(sizes)
    xin = np.zeros((rows, total))
    xin[:, :n] = xn
    w = np.zeros((rows, k, maxs + total))  # delay-line contents, maxs frames of (zero) history
    out = np.zeros((rows, k, total))
    d = damping
    shifts = []
    step = 1
    while step < block:
        shifts.append((step, d**step))
        step *= 2
    store = np.zeros((rows, k))
    starts = [maxs - s for s in sizes]
    for b in range(nb):
        s0 = b * block
        oc = np.stack([w[:, i, starts[i] + s0 : starts[i] + s0 + block] for i in range(k)], axis=1)
        u = (1 - d) * oc
        u[..., 0] += d * store
        for sh, dk in shifts:
            u[..., sh:] = u[..., sh:] + dk * u[..., :-sh]
        store = u[..., -1]
        w[..., maxs + s0 : maxs + s0 + block] = xin[:, None, s0 : s0 + block] + feedback * u
        out[..., s0 : s0 + block] = oc
    return torch.from_numpy(out.sum(axis=1)[:, :n]).to(x)


def _allpass(x: torch.Tensor, size: int) -> torch.Tensor:
    """``b[n] = x[n] + 0.5 b[n-A]``; output ``b[n-A] - x[n]``."""
    rows, n = x.shape
    nb = -(-n // size)
    xp = torch.nn.functional.pad(x, (0, nb * size - n)).reshape(rows, nb, size)
    buf = lfilter(xp.transpose(1, 2), [1.0, -0.5], [1.0], clamp=False).transpose(1, 2).reshape(rows, nb * size)
    delayed = torch.nn.functional.pad(buf, (size, 0))[:, : nb * size]
    return (delayed - torch.nn.functional.pad(x, (0, nb * size - n)))[:, :n]


def _filter_array_direct(x: torch.Tensor, rate: float, scale: float, offset: float, feedback: float, damping: float, gain: float) -> torch.Tensor:
    combs, allp = _sizes(rate, scale, offset)
    out = _comb_bank(x, combs, feedback, damping)
    for size in reversed(allp):
        out = _allpass(out, size)
    return out * gain


@functools.lru_cache(maxsize=16)
def _array_ir(rate: float, scale: float, offset: float, feedback: float, damping: float, gain: float, length: int) -> torch.Tensor:
    """Impulse response (first ``length`` samples) of one filter array; the array is
    linear and time-invariant, so it can then run as an FFT convolution."""
    impulse = torch.zeros(1, length, dtype=torch.float64)
    impulse[0, 0] = 1.0
    return _filter_array_direct(impulse, rate, scale, offset, feedback, damping, gain)[0]


def _ir_bound(rate: float, scale: float, offset: float, feedback: float) -> int:
    """Samples after which an array's impulse response is below 1e-7 (-140 dB)."""
    combs, allp = _sizes(rate, scale, offset)
    loops = math.log(1e-7) / math.log(max(min(abs(feedback), 0.999999), 1e-6))
    return int(loops * max(combs)) + 24 * sum(allp) + 1024


@functools.lru_cache(maxsize=32)
def _ir_partitions(rate: float, scale: float, offset: float, feedback: float, damping: float, gain: float, block: int) -> torch.Tensor:
    """Spectra (``2 * block``-point) of the impulse response cut into ``block``-sample
    pieces: ``(pieces, block + 1)`` complex."""
    ir = _array_ir(rate, scale, offset, feedback, damping, gain, _ir_bound(rate, scale, offset, feedback))
    pieces = -(-ir.numel() // block)
    ir = torch.nn.functional.pad(ir, (0, pieces * block - ir.numel())).reshape(pieces, block)
    return torch.fft.rfft(ir, 2 * block)


@jit_kernel
def _freeverb_kernel(x, combs, allps, feedback, damping, gain, out):  # pragma: no cover - compiled
    """Filter arrays ``a`` (rows of ``combs``: 8 comb delays, ``allps``: 4 all-pass
    delays) on each row of ``x`` (``(rows, n)`` float64) into ``out[a]``: SoX's freeverb
    loop in float64. Written out per filter so that every delay-line position and
    low-pass state is a local variable (about 1.7x faster than arrays of them)."""
    rows, n = x.shape
    for a in range(combs.shape[0]):
        n0, n1, n2, n3 = combs[a, 0], combs[a, 1], combs[a, 2], combs[a, 3]
        n4, n5, n6, n7 = combs[a, 4], combs[a, 5], combs[a, 6], combs[a, 7]
        m0, m1, m2, m3 = allps[a, 0], allps[a, 1], allps[a, 2], allps[a, 3]
        for r in range(rows):
            c0, c1, c2, c3 = np.zeros(n0), np.zeros(n1), np.zeros(n2), np.zeros(n3)
            c4, c5, c6, c7 = np.zeros(n4), np.zeros(n5), np.zeros(n6), np.zeros(n7)
            d0, d1, d2, d3 = np.zeros(m0), np.zeros(m1), np.zeros(m2), np.zeros(m3)
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0  # comb low-pass states
            p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0  # comb positions
            q0 = q1 = q2 = q3 = 0  # all-pass positions
            for t in range(n):
                inp = x[r, t]
                acc = 0.0
                o = c0[p0]
                s0 = o + (s0 - o) * damping
                c0[p0] = inp + s0 * feedback
                p0 = p0 + 1 if p0 + 1 < n0 else 0
                acc += o
                o = c1[p1]
                s1 = o + (s1 - o) * damping
                c1[p1] = inp + s1 * feedback
                p1 = p1 + 1 if p1 + 1 < n1 else 0
                acc += o
                o = c2[p2]
                s2 = o + (s2 - o) * damping
                c2[p2] = inp + s2 * feedback
                p2 = p2 + 1 if p2 + 1 < n2 else 0
                acc += o
                o = c3[p3]
                s3 = o + (s3 - o) * damping
                c3[p3] = inp + s3 * feedback
                p3 = p3 + 1 if p3 + 1 < n3 else 0
                acc += o
                o = c4[p4]
                s4 = o + (s4 - o) * damping
                c4[p4] = inp + s4 * feedback
                p4 = p4 + 1 if p4 + 1 < n4 else 0
                acc += o
                o = c5[p5]
                s5 = o + (s5 - o) * damping
                c5[p5] = inp + s5 * feedback
                p5 = p5 + 1 if p5 + 1 < n5 else 0
                acc += o
                o = c6[p6]
                s6 = o + (s6 - o) * damping
                c6[p6] = inp + s6 * feedback
                p6 = p6 + 1 if p6 + 1 < n6 else 0
                acc += o
                o = c7[p7]
                s7 = o + (s7 - o) * damping
                c7[p7] = inp + s7 * feedback
                p7 = p7 + 1 if p7 + 1 < n7 else 0
                acc += o
                # all-passes in series, last first (as SoX runs them)
                o = d3[q3]
                d3[q3] = acc + o * 0.5
                acc = o - acc
                q3 = q3 + 1 if q3 + 1 < m3 else 0
                o = d2[q2]
                d2[q2] = acc + o * 0.5
                acc = o - acc
                q2 = q2 + 1 if q2 + 1 < m2 else 0
                o = d1[q1]
                d1[q1] = acc + o * 0.5
                acc = o - acc
                q1 = q1 + 1 if q1 + 1 < m1 else 0
                o = d0[q0]
                d0[q0] = acc + o * 0.5
                acc = o - acc
                q0 = q0 + 1 if q0 + 1 < m0 else 0
                out[a, r, t] = acc * gain


def _filter_arrays_compiled(kernel, x: torch.Tensor, rate: float, scale: float, offsets: list[float], feedback: float, damping: float, gain: float) -> list[torch.Tensor]:  # noqa: ANN001
    sizes = [_sizes(rate, scale, off) for off in offsets]
    combs = np.array([c for c, _ in sizes], dtype=np.int64)
    allps = np.array([a for _, a in sizes], dtype=np.int64)
    xn = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float64)
    out = np.empty((len(offsets),) + xn.shape)
    kernel(xn, combs, allps, float(feedback), float(damping), float(gain), out)
    return [torch.from_numpy(o).to(x) for o in out]


def _filter_arrays(x: torch.Tensor, rate: float, scale: float, offsets: list[float], feedback: float, damping: float, gain: float) -> list[torch.Tensor]:
    """Freeverb filter arrays (one per offset) on ``(rows, time)``.

    On CPU with numba: the compiled recursion. Otherwise FFT convolution with their cached
    impulse responses, truncated where the tail is below -140 dB (or at the input length);
    the input spectrum is shared by all arrays.
    """
    kernel = _freeverb_kernel.compiled() if x.device.type == "cpu" else None
    if kernel is not None:
        return _filter_arrays_compiled(kernel, x, rate, scale, offsets, feedback, damping, gain)
    return _filter_arrays_fft(x, rate, scale, offsets, feedback, damping, gain)


def _filter_arrays_fft(x: torch.Tensor, rate: float, scale: float, offsets: list[float], feedback: float, damping: float, gain: float) -> list[torch.Tensor]:
    """The array path of :func:`_filter_arrays`: uniformly partitioned FFT convolution with
    the cached impulse-response pieces (blocks of up to 32768 samples: measured faster
    than one FFT of the whole signal, whose working set leaves the cache, and than smaller
    blocks, which need more pieces). The input block spectra are shared by all arrays;
    output block ``j`` sums input block ``j - k`` times piece ``k``."""
    n = x.shape[-1]
    if n == 0:
        return [x.clone() for _ in offsets]
    block = min(32768, max(256, 1 << (n - 1).bit_length() >> 2))
    nfft = 2 * block
    n_blocks = -(-n // block)
    # FFT frame j covers input [(j - 1) * block, (j + 1) * block): its second half is new
    xp = torch.nn.functional.pad(x, (block, n_blocks * block - n))
    spec = torch.fft.rfft(xp.unfold(-1, nfft, block), nfft)  # (..., n_blocks, block + 1)
    outs = []
    for off in offsets:
        parts = _ir_partitions(rate, scale, off, feedback, damping, gain, block).to(spec.device)
        acc = spec * parts[0]
        for k in range(1, min(parts.shape[0], n_blocks)):
            acc[..., k:, :] += spec[..., : n_blocks - k, :] * parts[k]
        y = torch.fft.irfft(acc, nfft)[..., block:]
        outs.append(y.reshape(*x.shape[:-1], -1)[..., :n])
    return outs


@register("reverb")
class Reverb(Effect):
    usage_text = "[-w|--wet-only] [reverberance (50%) [HF-damping (50%) [room-scale (100%) [stereo-depth (100%) [pre-delay (0ms) [wet-gain (0dB)]]]]]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.wet_only = bool(rest) and rest[0] in ("-w", "--wet-only")
        if self.wet_only:
            rest.pop(0)
        names = ("reverberance", "hf_damping", "room_scale", "stereo_depth", "pre_delay_ms", "wet_gain_dB")
        ranges = ((0, 100), (0, 100), (0, 100), (0, 100), (0, 500), (-10, 10))
        vals = [50.0, 50.0, 100.0, 100.0, 0.0, 0.0]
        for i, (nm, (lo, hi)) in enumerate(zip(names, ranges)):
            if not rest:
                break
            vals[i] = numeric(name, rest.pop(0), nm, lo, hi)
        if rest:
            raise self.usage(rest[0])
        self.reverberance, self.hf_damping, self.room_scale, self.stereo_depth, self.pre_delay_ms, self.wet_gain_db = vals

    def apply(self, st: Stream, ctx: Context) -> Stream:
        b, c, n = st.x.shape
        depth_pc = self.stereo_depth
        if c > 2 and depth_pc:
            ctx.warn(self.name, "stereo-depth not applicable with >2 channels")
            depth_pc = 0.0
        rate = st.rate
        delay = int(self.pre_delay_ms / 1000 * rate + 0.5)
        scale = self.room_scale / 100 * 0.9 + 0.1
        depth = depth_pc / 100
        a = -1 / math.log(1 - 0.3)
        bb = 100 / (math.log(1 - 0.98) * a + 1)
        feedback = _f32(1 - math.exp((self.reverberance - bb) / (a * bb)))
        damping = _f32(self.hf_damping / 100 * 0.3 + 0.2)
        gain = _f32(db_to_linear(self.wet_gain_db) * 0.015)
        dry = st.x.to(torch.float32).to(torch.float64)  # SoX's reverb works in float32
        wet_in = torch.nn.functional.pad(dry, (delay, 0))[..., :n] if delay else dry
        wet_in = wet_in.reshape(b * c, n)
        arrays = [0] if not depth else list(range(int(math.ceil(depth)) + 1))
        wets = [w.reshape(b, c, n) for w in _filter_arrays(wet_in, rate, scale, [i * depth for i in arrays], feedback, damping, gain)]
        keep = 0.0 if self.wet_only else 1.0
        if c == 1 and depth:
            y = dry.new_empty(b, 2, n)
            for k in range(2):
                if keep:
                    torch.add(dry, wets[k], out=y[:, k : k + 1])
                else:
                    y[:, k : k + 1] = wets[k]
            # SoX switches to two channels but leaves the stream length as it was
            return st.replace(y, length=st.length)
        if c == 2 and depth:
            # each input channel feeds two filter arrays; output w mixes both inputs' wet w
            w0 = 0.5 * (wets[0][:, 0] + wets[0][:, 1])
            w1 = 0.5 * (wets[1][:, 0] + wets[1][:, 1])
            y = keep * dry + torch.stack([w0, w1], dim=1)
            return st.replace(y, length=st.length)
        return st.replace(keep * dry + wets[0], length=st.length)
