"""SoX's ``compand``: a leaky-pump level detector driving a soft-knee transfer function.

The transfer function (points in dB, soft knee of ``curve_dB``, straight segments joined
by quadratic curves) is built as SoX's ``compandt.c`` builds it and evaluated vectorized.
The level detector is a nonlinear one-pole recursion (attack when rising, decay when
falling): with numba (:mod:`kaldibridge._jit`) a compiled kernel runs it, otherwise a
scalar Python loop per channel (about a microsecond per sample).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kaldibridge._jit import jit_kernel
from kaldibridge.sox._args import EffectUsageError, parse_double
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31
_MAX = _SCALE - 1
_LN10_20 = math.log(10) / 20


class Transfer:
    """Piecewise transfer function: log input level -> log gain."""

    def __init__(self, effect: str, points: str, gain: str | None) -> None:
        curve_db = 0.0
        if ":" in points:
            head, tail = points.split(":", 1)
            v = parse_double(head)
            if v is not None:
                curve_db = v
                points = tail
        curve_db = max(curve_db, 0.01)
        tokens = points.split(",")
        commas = len(tokens) - 1
        pts: list[list[float]] = []  # [x, y(gain)]
        it = iter(tokens)
        i = 0
        for text in it:
            x = self._value(effect, text)
            if pts and pts[-1][0] > x:
                raise EffectUsageError(effect, "transfer function input values must be strictly increasing")
            y = 0.0
            if i or (commas & 1):
                try:
                    y = self._value(effect, next(it)) - x
                except StopIteration:
                    raise EffectUsageError(effect, "syntax error trying to read transfer function value") from None
            pts.append([x, y])
            i += 1
        if not pts or pts[-1][0]:
            pts.append([0.0, 0.0])
        outgain = 0.0
        if gain is not None:
            g = parse_double(gain)
            if g is None:
                raise EffectUsageError(effect, "syntax error trying to read post-processing gain value")
            outgain = g
        pts.insert(0, [pts[0][0] - 2 * curve_db, pts[0][1]])
        k = 2
        while k < len(pts):
            g1 = (pts[k - 1][1] - pts[k - 2][1]) * (pts[k][0] - pts[k - 1][0])
            g2 = (pts[k][1] - pts[k - 1][1]) * (pts[k - 1][0] - pts[k - 2][0])
            if abs(g1 - g2):
                k += 1
                continue
            del pts[k - 1]
        # segments: even index = point/line, odd index = curve; [x, y, a, b]
        seg = [[0.0, 0.0, 0.0, 0.0] for _ in range(2 * len(pts) + 2)]
        for n, (x, y) in enumerate(pts):
            seg[2 * n][0] = x * _LN10_20
            seg[2 * n][1] = (y + outgain) * _LN10_20
        radius = curve_db * _LN10_20
        i = 4
        while i - 2 < len(seg) and seg[i - 2][0]:
            line1, curve, line2, line3 = seg[i - 4], seg[i - 3], seg[i - 2], seg[i]
            line1[2] = 0.0
            line1[3] = (line2[1] - line1[1]) / (line2[0] - line1[0])
            line2[2] = 0.0
            line2[3] = (line3[1] - line2[1]) / (line3[0] - line2[0])
            theta = math.atan2(line2[1] - line1[1], line2[0] - line1[0])
            length = math.hypot(line2[0] - line1[0], line2[1] - line1[1])
            r = min(radius, length)
            curve[0] = line2[0] - r * math.cos(theta)
            curve[1] = line2[1] - r * math.sin(theta)
            theta = math.atan2(line3[1] - line2[1], line3[0] - line2[0])
            length = math.hypot(line3[0] - line2[0], line3[1] - line2[1])
            r = min(radius, length / 2)
            x = line2[0] + r * math.cos(theta)
            y = line2[1] + r * math.sin(theta)
            cx = (curve[0] + line2[0] + x) / 3
            cy = (curve[1] + line2[1] + y) / 3
            line2[0], line2[1] = x, y
            in1, out1 = cx - curve[0], cy - curve[1]
            in2, out2 = line2[0] - curve[0], line2[1] - curve[1]
            curve[2] = (out2 / in2 - out1 / in1) / (in2 - in1)
            curve[3] = out1 / in1 - curve[2] * in1
            i += 2
        seg[i - 3][0] = 0.0
        seg[i - 3][1] = seg[i - 2][1]
        self.seg = seg[: i - 1]
        self.in_min = math.exp(seg[1][0])
        self.out_min = math.exp(seg[1][1])

    @staticmethod
    def _value(effect: str, text: str) -> float:
        if text == "-inf":
            return -20 * math.log10(_SCALE)
        v = parse_double(text)
        if v is None:
            raise EffectUsageError(effect, f"syntax error trying to read transfer function value {text!r}")
        if v > 0:
            raise EffectUsageError(effect, "transfer function values are relative to maximum volume so can't exceed 0dB")
        return v

    def __call__(self, level: np.ndarray) -> np.ndarray:
        """Gain (linear) for linear input levels."""
        seg = np.asarray(self.seg, dtype=np.float64)
        xs = seg[2:, 0]  # s[1].x for s = segments + 1 + k
        safe = np.where(level > self.in_min, level, 1.0)
        in_log = np.log(safe)
        pos = np.searchsorted(xs, in_log, side="left")
        pos = np.minimum(pos, len(seg) - 2)
        s = seg[pos + 1]
        d = in_log - s[:, 0]
        out = np.exp(s[:, 1] + d * (s[:, 2] * d + s[:, 3]))
        return np.where(level <= self.in_min, self.out_min, out)


@jit_kernel
def _envelope_kernel(levels, attack, decay, v0, out):  # pragma: no cover - compiled
    v = v0
    for n in range(levels.shape[0]):
        delta = levels[n] - v
        if delta > 0.0:
            v += delta * attack
        else:
            v += delta * decay
        out[n] = v


def _envelope(levels: np.ndarray, attack: float, decay: float, v0: float) -> np.ndarray:
    """SoX's leaky pump: ``v += (s - v) * (attack if s > v else decay)``, per frame."""
    out = np.empty(levels.shape[0])
    kernel = _envelope_kernel.compiled()
    if kernel is not None:
        kernel(np.ascontiguousarray(levels, dtype=np.float64), float(attack), float(decay), float(v0), out)
        return out
    v = v0
    for n, s in enumerate(levels.tolist()):
        delta = s - v
        v += delta * (attack if delta > 0.0 else decay)
        out[n] = v
    return out


@register("compand")
class Compand(Effect):
    usage_text = "attack1,decay1{,attack2,decay2} [soft-knee-dB:]in-dB1[,out-dB1]{,in-dB2,out-dB2} [gain [initial-volume-dB [delay]]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if not 2 <= len(args) <= 5:
            raise self.usage()
        times = args[0].split(",")
        if (len(times) - 1) % 2 == 0:
            raise EffectUsageError(name, "there must be an even number of attack/decay parameters")
        self.times: list[tuple[float, float]] = []
        for k in range(0, len(times), 2):
            pair = []
            for t in times[k : k + 2]:
                v = parse_double(t)
                if v is None:
                    raise EffectUsageError(name, "syntax error trying to read attack/decay time")
                if v < 0:
                    raise EffectUsageError(name, "attack & decay times can't be less than 0 seconds")
                pair.append(v)
            self.times.append((pair[0], pair[1]))
        self.transfer = Transfer(name, args[1], args[2] if len(args) > 2 else None)
        self.init_vol = 1.0
        if len(args) > 3:
            v = parse_double(args[3])
            if v is None:
                raise EffectUsageError(name, "syntax error trying to read initial volume")
            if v > 0:
                raise EffectUsageError(name, "initial volume is relative to maximum volume so can't exceed 0dB")
            self.init_vol = 10.0 ** (v / 20)
        self.delay = 0.0
        if len(args) > 4:
            v = parse_double(args[4])
            if v is None:
                raise EffectUsageError(name, "syntax error trying to read delay value")
            if v < 0:
                raise EffectUsageError(name, "delay can't be less than 0 seconds")
            self.delay = v

    def apply(self, st: Stream, ctx: Context) -> Stream:
        rate = st.rate
        coefs = [tuple(1.0 - math.exp(-1.0 / (rate * t)) if t > 1.0 / rate else 1.0 for t in pair) for pair in self.times]
        b, c, n = st.x.shape
        xi = (st.x * _SCALE).cpu().numpy()
        shared = len(coefs) == 1 and c > 1
        gains = np.empty((b, c, n))
        for bi in range(b):
            if shared:
                lev = np.abs(xi[bi]).max(axis=0) / _SCALE
                env = _envelope(lev, coefs[0][0], coefs[0][1], self.init_vol)
                gains[bi] = self.transfer(env)[None, :]
            else:
                for ch in range(c):
                    att, dec = coefs[min(ch, len(coefs) - 1)] if len(coefs) > 1 else coefs[0]
                    env = _envelope(np.abs(xi[bi, ch]) / _SCALE, att, dec, self.init_vol)
                    gains[bi, ch] = self.transfer(env)
        delay = int(self.delay * rate * c)
        if delay > 0:
            # output sample k (interleaved) is input k - delay times the gain of the frame
            # being read when it leaves the buffer; the tail uses the last gain
            inter_x = xi.transpose(0, 2, 1).reshape(b, n * c)
            inter_g = gains.transpose(0, 2, 1).reshape(b, n * c)
            total = n * c
            idx = np.arange(total) + delay
            last = gains[:, :, -1]  # (b, c): the volumes when the buffer drains
            tail_g = last[:, idx % c]
            g = np.where(idx < total, inter_g[:, np.minimum(idx, total - 1)], tail_g)
            y = (inter_x * g).reshape(b, n, c).transpose(0, 2, 1)
        else:
            y = xi * gains
        y = np.trunc(y)
        over = (y > _MAX) | (y < -_SCALE)
        clipped = int(over.sum())
        if clipped:
            ctx.warn(self.name, f"{self.name} clipped {clipped} samples; decrease volume?")
        y = np.clip(y, -_SCALE, _MAX)
        return st.replace(torch.from_numpy(y / _SCALE).to(st.x.device), length=st.length)


def _square_quadratic(x: list[float]) -> list[float]:
    return [x[0] * x[0], 2 * x[0] * x[1], 2 * x[0] * x[2] + x[1] * x[1], 2 * x[1] * x[2], x[2] * x[2]]


def _crossover(rate: float, freq: float) -> tuple[list[float], list[float], list[float]]:
    """4th-order Linkwitz-Riley low/high pair: squared Butterworth biquads."""
    w0 = 2 * math.pi * freq / rate
    if w0 > math.pi:
        raise EffectUsageError("mcompand", "frequency must not exceed half the sample-rate (Nyquist rate)")
    alpha = math.sin(w0) / (2 * math.sqrt(0.5))
    cw = math.cos(w0)
    x = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2, (1 + cw) / 2, -(1 + cw), (1 + cw) / 2, 1 + alpha, -2 * cw, 1 - alpha]
    norm = x[6]
    x = [v / norm for v in x]
    return _square_quadratic(x[0:3]), _square_quadratic(x[3:6]), _square_quadratic(x[6:9])


@register("mcompand")
class MCompand(Effect):
    usage_text = "quoted_compand_args [crossover_frequency[k] quoted_compand_args [...]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        from kaldibridge.sox._args import parse_frequency

        if len(args) % 2 == 0:
            raise EffectUsageError(name, "mcompand accepts only an odd number of arguments")
        self.bands = []
        prev = 0.0
        for i in range(0, len(args), 2):
            sub = args[i].split()
            if not 2 <= len(sub) <= 5:
                raise EffectUsageError(name, f"wrong number of parameters for the compander of band {i // 2 + 1}")
            times = sub[0].split(",")
            if (len(times) - 1) % 2 == 0:
                raise EffectUsageError(name, "compander: Odd number of attack & decay rate parameters")
            pairs = [(_atof(times[k]), _atof(times[k + 1])) for k in range(0, len(times) - 1, 2)]
            transfer = Transfer(name, sub[1], sub[2] if len(sub) > 2 else None)
            init = 10.0 ** (_atof(sub[3]) / 20) if len(sub) >= 4 else 1.0
            delay = _atof(sub[4]) if len(sub) >= 5 else 0.0
            if delay:
                raise EffectUsageError(name, "a compander delay within mcompand is not supported")
            top = 0.0
            if i + 1 < len(args):
                top, rest = parse_frequency(args[i + 1])
                if rest or top < 0:
                    raise EffectUsageError(name, "bad frequency in args to mcompand")
                if top < prev:
                    raise EffectUsageError(name, "mcompand crossover frequencies must be in ascending order.")
                prev = top
            self.bands.append((pairs, transfer, init, top))

    def apply(self, st: Stream, ctx: Context) -> Stream:
        from kaldibridge.functional.filtering import lfilter

        rate = st.rate
        b, c, n = st.x.shape
        rem = st.x * _SCALE
        total = torch.zeros_like(rem)
        clipped = 0
        for pairs, transfer, init, top in self.bands:
            if top:
                bl, bh, a = _crossover(rate, top)
                low = torch.round(lfilter(rem, a, bl, clamp=False))
                high = torch.round(lfilter(rem, a, bh, clamp=False))
                clipped += int(((low > _MAX) | (low < -_SCALE)).sum() + ((high > _MAX) | (high < -_SCALE)).sum())
                band_in, rem = low.clamp(-_SCALE, _MAX), high.clamp(-_SCALE, _MAX)
            else:
                band_in = rem
            coefs = [tuple(1.0 - math.exp(-1.0 / (rate * t)) if t > 1.0 / rate else 1.0 for t in p) for p in pairs]
            xi = band_in.cpu().numpy()
            gains = np.empty_like(xi)
            for bi in range(b):
                if len(coefs) == 1 and c > 1:
                    env = _envelope(np.abs(xi[bi]).max(axis=0) / _MAX, coefs[0][0], coefs[0][1], init)
                    gains[bi] = transfer(env)[None, :]
                else:
                    for ch in range(c):
                        att, dec = coefs[min(ch, len(coefs) - 1)]
                        gains[bi, ch] = transfer(_envelope(np.abs(xi[bi, ch]) / _MAX, att, dec, init))
            y = np.trunc(xi * gains)
            clipped += int(((y > _MAX) | (y < -_SCALE)).sum())
            y = torch.from_numpy(np.clip(y, -_SCALE, _MAX)).to(total)
            total = total + y
            clipped += int(((total > _MAX) | (total < -_SCALE)).sum())
            total = total.clamp(-_SCALE, _MAX)
        if clipped:
            ctx.warn(self.name, f"{self.name} clipped {clipped} samples; decrease volume?")
        return st.replace(total / _SCALE, length=st.length)


def _atof(text: str) -> float:
    from kaldibridge.sox._args import c_double_prefix

    got = c_double_prefix(text)
    return got[0] if got else 0.0
