"""Modulated-delay effects: ``chorus``, ``flanger``, ``phaser`` (SoX ``chorus.c``,
``flanger.c``, ``phaser.c``).

chorus, and flanger without feedback, read the input at a modulated delay and are
computed with one gather over the whole signal. flanger with feedback and phaser are
recursions whose delay can reach one sample: with numba (:mod:`kaldibridge._jit`) they
run as compiled kernels, otherwise as a scalar Python loop (about a microsecond per
sample).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kaldibridge._jit import jit_kernel
from kaldibridge.sox._args import EffectRefusedError, c_double_prefix, numeric
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31
_MAX = _SCALE - 1


def wave_table(kind: str, size: int, lo: float, hi: float, phase: float, as_int: bool) -> np.ndarray:
    """SoX's ``lsx_generate_wave_table``: one period of a sine or triangle in [lo, hi]."""
    offset = int(phase / math.pi / 2 * size + 0.5)
    point = (np.arange(size, dtype=np.int64) + offset) % size
    if kind == "sine":
        d = (np.sin(point / size * 2 * math.pi) + 1) / 2
    else:
        d = point * 2 / size
        quarter = 4 * point // size
        d = np.where(quarter == 0, d + 0.5, np.where(quarter == 3, d - 1.5, 1.5 - d))
    d = d * (hi - lo) + lo
    if not as_int:
        return d.astype(np.float32).astype(np.float64)
    return np.trunc(d + np.where(d < 0, -0.5, 0.5)).astype(np.int64)


def _f32(v: float) -> np.float32:
    return np.float32(v)


@register("chorus")
class Chorus(Effect):
    usage_text = "gain-in gain-out delay decay speed depth [ -s | -t ]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if len(args) < 7 or (len(args) - 2) % 5:
            raise self.usage()

        def f(t: str) -> np.float32:
            got = c_double_prefix(t)
            return _f32(got[0] if got else 0.0)

        self.in_gain, self.out_gain = f(args[0]), f(args[1])
        self.voices = []
        for i in range(2, len(args), 5):
            delay, decay, speed, depth = (f(a) for a in args[i : i + 4])
            mod = args[i + 4]
            if mod not in ("-s", "-t"):
                raise self.usage(mod)
            self.voices.append((delay, decay, speed, depth, "sine" if mod == "-s" else "triangle"))
        if len(self.voices) > 7:
            raise self.usage(f"too many delays ({len(self.voices)}), use at most 7")

    def apply(self, st: Stream, ctx: Context) -> Stream:
        tag = self.name
        if self.in_gain < 0:
            raise EffectRefusedError(tag, "gain-in must be positive!")
        if self.in_gain > 1:
            raise EffectRefusedError(tag, "gain-in must be less than 1.0!")
        if self.out_gain < 0:
            raise EffectRefusedError(tag, "gain-out must be positive!")
        rate = st.rate
        tabs = []
        maxsamples = 0
        for delay, decay, speed, depth, kind in self.voices:
            samples = int(float(np.float32(delay + depth)) * rate / 1000.0)
            depth_s = int(float(depth) * rate / 1000.0)
            if delay < 20 or delay > 100:
                raise EffectRefusedError(tag, "delay must be between 20.0 and 100.0 msec!")
            if speed < 0.1 or speed > 5:
                raise EffectRefusedError(tag, "speed must be between 0.1 and 5.0 Hz!")
            if depth < 0 or depth > 10:
                raise EffectRefusedError(tag, "depth must be between 0.0 and 10.0 msec!")
            if decay < 0 or decay > 1:
                raise EffectRefusedError(tag, "decay must be between 0.0 and 1.0!")
            length = int(rate / float(speed))
            if kind == "sine":
                tab = wave_table("sine", length, 0.0, float(depth_s), 0.0, True)
            else:
                tab = wave_table("triangle", length, float(samples - 1 - 2 * depth_s), float(samples - 1), 3 * math.pi / 2, True)
            tabs.append((tab, decay))
            maxsamples = max(maxsamples, samples)
        b, c, n = st.x.shape
        total = n + maxsamples
        # float32 arithmetic as SoX: d_in = sample / 256
        d_in = (st.x * (_SCALE / 256)).to(torch.float32)
        d_in = torch.nn.functional.pad(d_in, (0, maxsamples))
        t = torch.arange(total, device=st.x.device)
        out = d_in * torch.tensor(float(self.in_gain), dtype=torch.float32)
        for tab, decay in tabs:
            delay = torch.from_numpy(tab).to(st.x.device)[t % len(tab)]
            delay = torch.where(delay > 0, delay, torch.full_like(delay, maxsamples))
            src = t - delay
            vals = torch.where(src >= 0, d_in[..., src.clamp(min=0)], torch.zeros((), dtype=torch.float32, device=st.x.device))
            out = out + vals * torch.tensor(float(decay), dtype=torch.float32)
        out = out * torch.tensor(float(self.out_gain), dtype=torch.float32)
        yi = torch.trunc(out.to(torch.float64))
        over = (yi > 2**23 - 1) | (yi < -(2**23))
        clipped = int(over.sum())
        if clipped:
            ctx.warn(tag, f"{tag} clipped {clipped} samples; decrease volume?")
        y = yi.clamp(-(2**23), 2**23 - 1) * 256 / _SCALE
        return st.replace(y, length=None)


@jit_kernel
def _phaser_kernel(x, mod, dlen, ig, dec, og, out):  # pragma: no cover - compiled
    """One phaser per row of ``x`` (``(rows, n)``): SoX's loop (see ``Phaser.apply``)."""
    rows, n = x.shape
    mlen = mod.shape[0]
    for r in range(rows):
        buf = np.zeros(dlen)
        pos = 0
        mpos = 0
        for i in range(n):
            d = x[r, i] * ig + buf[(pos + mod[mpos]) % dlen] * dec
            mpos += 1
            if mpos == mlen:
                mpos = 0
            pos += 1
            if pos == dlen:
                pos = 0
            buf[pos] = d
            out[r, i] = d * og


@jit_kernel
def _flanger_kernel(x, int_d, frac, blen, in_gain, delay_gain, fb, quad, out):  # pragma: no cover - compiled
    """Flanger with feedback on each row of ``x`` (``(rows, n)``): ``Flanger._loop``."""
    rows, n = x.shape
    for r in range(rows):
        buf = np.zeros(blen)
        pos = 0
        last = 0.0
        for i in range(n):
            pos = (pos + blen - 1) % blen
            s = x[r, i]
            buf[pos] = s + last * fb
            k = int_d[i]
            d0 = buf[(pos + k) % blen]
            d1 = buf[(pos + k + 1) % blen]
            f = frac[i]
            if quad:
                d2 = buf[(pos + k + 2) % blen] - d0
                d1 -= d0
                delayed = d0 + ((d2 * 0.5 - d1) * f + (d1 * 2 - d2 * 0.5)) * f
            else:
                delayed = d0 + (d1 - d0) * f
            last = delayed
            out[r, i] = s * in_gain + delayed * delay_gain


@register("phaser")
class Phaser(Effect):
    usage_text = "gain-in gain-out delay decay speed [ -s | -t ]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        vals = [0.4, 0.74, 3.0, 0.4, 0.5]
        spec = (("in_gain", 0, 1), ("out_gain", 0, 1e9), ("delay_ms", 0, 5), ("decay", 0, 0.99), ("mod_speed", 0.1, 2))
        for i, (nm, lo, hi) in enumerate(spec):
            if not rest or c_double_prefix(rest[0]) is None:
                break
            vals[i] = numeric(name, rest.pop(0), nm, lo, hi)
        self.in_gain, self.out_gain, self.delay_ms, self.decay, self.speed = vals
        self.kind = "sine"
        if rest and rest[0] in ("-s", "-t"):
            self.kind = "sine" if rest.pop(0) == "-s" else "triangle"
        if rest:
            raise self.usage(rest[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        rate = st.rate
        dlen = int(self.delay_ms * 0.001 * rate + 0.5)
        mlen = int(rate / self.speed + 0.5)
        mod = wave_table(self.kind, mlen, 1.0, float(dlen), math.pi / 2, True).tolist()
        b, c, n = st.x.shape
        xi = (st.x * _SCALE).cpu().numpy()
        y = np.empty_like(xi)
        ig, dec, og = self.in_gain, self.decay, self.out_gain
        kernel = _phaser_kernel.compiled() if dlen > 0 else None
        if kernel is not None:
            flat = np.ascontiguousarray(xi.reshape(b * c, n), dtype=np.float64)
            out_k = np.empty_like(flat)
            kernel(flat, np.asarray(mod, dtype=np.int64), dlen, ig, dec, og, out_k)
            y = out_k.reshape(b, c, n)
            return st.replace(torch.from_numpy(y / _SCALE).to(st.x.device), length=None)
        for bi in range(b):
            # SoX runs one phaser per channel (flows), each with its own delay line
            for ch in range(c):
                buf = [0.0] * dlen
                pos = 0
                mpos = 0
                row = xi[bi, ch].tolist()
                out = [0.0] * n
                for i, s in enumerate(row):
                    d = s * ig + buf[(pos + mod[mpos]) % dlen] * dec
                    mpos = (mpos + 1) % mlen
                    pos = (pos + 1) % dlen
                    buf[pos] = d
                    out[i] = d * og
                y[bi, ch] = out
        return st.replace(torch.from_numpy(y / _SCALE).to(st.x.device), length=None)


@register("flanger")
class Flanger(Effect):
    usage_text = "[delay depth regen width speed shape phase interp]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        vals = {"delay_min": 0.0, "delay_depth": 2.0, "feedback": 0.0, "delay_gain": 71.0, "speed": 0.5}
        self.shape = "sine"
        self.phase = 25.0
        self.interp = "linear"
        numeric_spec = (("delay_min", 0, 30), ("delay_depth", 0, 10), ("feedback", -95, 95), ("delay_gain", 0, 100), ("speed", 0.1, 10))
        stop = False
        for key, lo, hi in numeric_spec:
            if not rest or c_double_prefix(rest[0]) is None:
                stop = True
                break
            vals[key] = numeric(name, rest.pop(0), key, lo, hi)
        if not stop and rest:
            word = rest.pop(0).lower()
            opts = [k for k in ("sine", "triangle") if k.startswith(word)]
            if not word or not opts:
                raise self.usage(word)
            self.shape = opts[0]
            if rest and c_double_prefix(rest[0]) is not None:
                self.phase = numeric(name, rest.pop(0), "channel_phase", 0, 100)
                if rest:
                    word = rest.pop(0).lower()
                    opts = [k for k in ("linear", "quadratic") if k.startswith(word)]
                    if not word or not opts:
                        raise self.usage(word)
                    self.interp = opts[0]
        if rest:
            raise self.usage(rest[0])
        self.delay_min = vals["delay_min"] / 1000
        self.delay_depth = vals["delay_depth"] / 1000
        self.feedback = vals["feedback"] / 100
        self.delay_gain = vals["delay_gain"] / 100
        self.speed = vals["speed"]

    def apply(self, st: Stream, ctx: Context) -> Stream:
        b, c, n = st.x.shape
        if c > 4:
            raise EffectRefusedError(self.name, "Can not operate with more than 4 channels")
        rate = st.rate
        in_gain = 1 / (1 + self.delay_gain)
        delay_gain = self.delay_gain / (1 + self.delay_gain) * (1 - abs(self.feedback))
        blen = int((self.delay_min + self.delay_depth) * rate + 0.5) + 2
        lfo_len = int(rate / self.speed)
        lfo = wave_table(self.shape, lfo_len, math.floor(self.delay_min * rate + 0.5), blen - 2.0, 3 * math.pi / 2, False)
        xi = st.x * _SCALE
        t = torch.arange(n, device=st.x.device)
        y = torch.empty_like(xi)
        quad = self.interp == "quadratic"
        for ch in range(c):
            cph = int(ch * lfo_len * self.phase / 100 + 0.5)
            delay = torch.from_numpy(lfo).to(st.x.device)[(t + cph) % lfo_len]
            int_d = torch.floor(delay).to(torch.int64)
            frac = delay - torch.floor(delay)
            if self.feedback == 0:
                def tap(k: int) -> torch.Tensor:
                    src = t - int_d - k
                    return torch.where(src >= 0, xi[:, ch, src.clamp(min=0)], torch.zeros((), dtype=xi.dtype, device=xi.device))

                d0, d1 = tap(0), tap(1)
                if quad:
                    d2 = tap(2) - d0
                    d1 = d1 - d0
                    a = d2 * 0.5 - d1
                    bq = d1 * 2 - d2 * 0.5
                    delayed = d0 + (a * frac + bq) * frac
                else:
                    delayed = d0 + (d1 - d0) * frac
                y[:, ch] = xi[:, ch] * in_gain + delayed * delay_gain
            else:
                y[:, ch] = torch.from_numpy(self._loop(xi[:, ch].cpu().numpy(), int_d.cpu().numpy(), frac.cpu().numpy(), blen, in_gain, delay_gain, quad)).to(y)
        return st.replace(y / _SCALE, length=st.length)

    def _loop(self, x: np.ndarray, int_d: np.ndarray, frac: np.ndarray, blen: int, in_gain: float, delay_gain: float, quad: bool) -> np.ndarray:
        """Flanger with feedback on ``(rows, n)`` int32-scaled samples; ``int_d``/``frac``:
        the ``(n,)`` integer and fractional delays."""
        out = np.empty_like(x)
        fb = self.feedback
        kernel = _flanger_kernel.compiled()
        if kernel is not None:
            kernel(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(int_d, dtype=np.int64),
                   np.ascontiguousarray(frac, dtype=np.float64), blen, in_gain, delay_gain, fb, quad, out)
            return out
        delays = np.asarray(int_d).tolist()
        fracs = np.asarray(frac).tolist()
        for bi in range(x.shape[0]):
            buf = [0.0] * blen
            pos = 0
            last = 0.0
            row = x[bi].tolist()
            res = [0.0] * len(row)
            for i, s in enumerate(row):
                pos = (pos + blen - 1) % blen
                buf[pos] = s + last * fb
                k = delays[i]
                d0 = buf[(pos + k) % blen]
                d1 = buf[(pos + k + 1) % blen]
                f = fracs[i]
                if quad:
                    d2 = buf[(pos + k + 2) % blen] - d0
                    d1 -= d0
                    delayed = d0 + ((d2 * 0.5 - d1) * f + (d1 * 2 - d2 * 0.5)) * f
                else:
                    delayed = d0 + (d1 - d0) * f
                last = delayed
                res[i] = s * in_gain + delayed * delay_gain
            out[bi] = res
        return out
