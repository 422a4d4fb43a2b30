"""SoX's ``stat`` and ``stats``: statistics reported as text (audio passes through).

The report is SoX's text, line for line; it is logged at INFO level on the
``kaldibridge.sox`` logger and appended to the ``reports`` list given to
:func:`kaldibridge.sox.apply_effects_tensor`.
"""

from __future__ import annotations

import math
import re

import numpy as np
import torch

from kaldibridge.functional.filtering import lfilter

from kaldibridge.sox._args import EffectUsageError, c_double_prefix
from kaldibridge.sox._chain import Context, Effect, Stream, register

_MAX = 2.0**31 - 1


@register("stat")
class Stat(Effect):
    usage_text = "[ -s N ] [ -rms ] [-v]"
    modify_only = True

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.scale = _MAX
        self.srms = False
        self.volume_only = False
        rest = list(args)
        while rest:
            tok = rest.pop(0)
            if tok == "-v":
                self.volume_only = True
            elif tok == "-rms":
                self.srms = True
            elif tok == "-s" and rest:
                got = c_double_prefix(rest.pop(0))
                if got is None or got[1]:
                    raise self.usage(tok)
                self.scale = got[0]
            else:
                raise EffectUsageError(name, f"unsupported option {tok!r}")

    def apply(self, st: Stream, ctx: Context) -> Stream:
        for b in range(st.x.shape[0]):
            ctx.report(self.name, self._report(st, b))
        return st

    def _report(self, st: Stream, b: int) -> str:
        ints = np.round(st.x[b].cpu().numpy() * 2.0**31).T.reshape(-1)  # interleaved
        read = ints.size
        if read == 0:
            return ""
        s = ints / self.scale
        mn, mx = float(s.min()), float(s.max())
        mid = mn / 2 + mx / 2
        sum1 = float(s.sum())
        sum2 = float((s * s).sum())
        asum = float(np.abs(s).sum())
        delta = np.abs(np.diff(np.concatenate([[s[0]], s])))
        dmax = float(delta.max())
        dmin = 0.0  # SoX starts the minimum at 0, so it never moves
        dsum1 = float(delta.sum())
        dsum2 = float((delta * delta).sum())
        scale = self.scale
        rms = 0.0
        if self.srms:
            rms = math.sqrt(sum2 / read)
            f = 1.0 / rms
            mx, mn, mid, asum, sum1 = mx * f, mn * f, mid * f, asum * f, sum1 * f
            sum2 *= f * f
            dmax, dmin, dsum1 = dmax * f, dmin * f, dsum1 * f
            dsum2 *= f * f
            scale *= rms
        amp = max(-mn, mx)
        if self.volume_only and amp > 0:
            return "%.3f\n" % (_MAX / (amp * scale))
        lines = [
            "Samples read:      %12d" % read,
            "Length (seconds):  %12.6f" % (read / st.rate / st.channels),
            ("Scaled by rms:     %12.6f" % rms) if self.srms else ("Scaled by:         %12.1f" % scale),
            "Maximum amplitude: %12.6f" % mx,
            "Minimum amplitude: %12.6f" % mn,
            "Midline amplitude: %12.6f" % mid,
            "Mean    norm:      %12.6f" % (asum / read),
            "Mean    amplitude: %12.6f" % (sum1 / read),
            "RMS     amplitude: %12.6f" % math.sqrt(sum2 / read),
            "Maximum delta:     %12.6f" % dmax,
            "Minimum delta:     %12.6f" % dmin,
            "Mean    delta:     %12.6f" % (dsum1 / (read - 1) if read > 1 else math.nan),
            "RMS     delta:     %12.6f" % (math.sqrt(dsum2 / (read - 1)) if read > 1 else math.nan),
            "Rough   frequency: %12d" % int(math.sqrt(dsum2 / sum2) * st.rate / (math.pi * 2) if sum2 else 0),
        ]
        if amp > 0:
            lines.append("Volume adjustment: %12.3f" % (_MAX / (amp * scale)))
        top = (ints.astype(np.int64) >> 30) + 2
        bins = np.bincount(top.clip(0, 3), minlength=4)
        if bins[2] == 0 and bins[3] == 0:
            lines.append("\nProbably text, not sound")
        else:
            ratio = float(np.float32(bins[0] + bins[3]) / np.float32(bins[1] + bins[2]))
            if ratio >= 3.0:
                lines.append("\nTry: -t raw -e unsigned-integer -b 8 ")
            elif ratio <= 1.0 / 3.0:
                pass
            elif 0.5 <= ratio <= 2.0:
                lines.append("\nTry: -t raw -e mu-law -b 8 ")
            else:
                lines.append("\nCan't guess the type")
        return "\n".join(lines) + "\n"


def _sigfigs3(number: float) -> str:
    """SoX's ``lsx_sigfigs3``: three significant figures with k/M/G... suffixes."""
    symbols = "\0kMGTPEZY"
    text = "%#.3g" % number
    m = re.match(r"(\d+)(?:\.(\d+))?(?:e\+?(\d+))?$", text)
    if not m:
        return text
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) else 0
    if m.group(3) is None:
        if m.group(2) is not None and b:
            return text
        c = 2
    else:
        c = int(m.group(3))
        a = 100 * a + b
    if c < len(symbols) * 3 - 3:
        sym = symbols[c // 3]
        sym = "" if sym == "\0" else sym
        if c % 3 == 0:
            return "%u.%02u%s" % (a // 100, a % 100, sym)
        if c % 3 == 1:
            return "%u.%u%s" % (a // 10, a % 10, sym)
        return "%u%s" % (a, sym)
    return text


def _db(x: float) -> float:
    return math.log10(x) * 20 if x > 0 else -math.inf


class _ChanStats:
    def __init__(self, ints: np.ndarray, rate: float, tc: float) -> None:
        d = ints / 2.0**31
        self.n = d.size
        self.min = float(d.min())
        self.max = float(d.max())
        self.min_count, self.min_runs = self._runs(d == self.min)
        self.max_count, self.max_runs = self._runs(d == self.max)
        self.sigma_x = float(d.sum())
        self.sigma_x2 = float((d * d).sum())
        mult = math.exp(-1 / tc / rate)
        tc_samples = int(5 * tc * rate + 0.5)
        avg = lfilter(torch.from_numpy(d * d), [1.0, -mult], [1 - mult], clamp=False).numpy()
        tail = avg[tc_samples:]
        if self.n < tc_samples or tail.size == 0:
            self.min_s2 = self.max_s2 = self.sigma_x2 / self.n
        else:
            self.min_s2 = min(2.0, float(tail.min()))
            self.max_s2 = max(0.0, float(tail.max()))
        self.mask = int(np.bitwise_or.reduce(ints.astype(np.int64) & 0xFFFFFFFF)) if self.n else 0

    @staticmethod
    def _runs(flags: np.ndarray) -> tuple[int, float]:
        count = int(flags.sum())
        if not count:
            return 0, 0.0
        f = np.concatenate([[False], flags, [False]]).astype(np.int8)
        edges = np.diff(f)
        starts = np.nonzero(edges == 1)[0]
        ends = np.nonzero(edges == -1)[0]
        return count, float(((ends - starts).astype(np.float64) ** 2).sum())


def _bit_depth(mask: int, mn: float, mx: float) -> tuple[int, int]:
    result = 32
    while result and not (mask & 1):
        result -= 1
        mask >>= 1
    x = result
    low = -max(abs(mn), abs(mx))
    v = low * 2.0**31
    s = int(-(2**31)) if v <= -(2.0**31) - 0.5 else int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))
    m = (s << 1) & 0xFFFFFFFF
    while result and (m & 0x80000000):
        result -= 1
        m = (m << 1) & 0xFFFFFFFF
    return result, x


@register("stats")
class Stats(Effect):
    usage_text = "[-b bits|-x bits|-s scale] [-w window-time]"
    modify_only = True

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        from kaldibridge.sox._args import numeric

        self.tc = 0.05
        self.scale = 1.0
        rest = list(args)
        while rest:
            tok = rest.pop(0)
            if tok in ("-w", "-s") and rest:
                if tok == "-w":
                    self.tc = numeric(name, rest.pop(0), "time_constant", 0.01, 10)
                else:
                    self.scale = numeric(name, rest.pop(0), "scale", -99, 99)
            else:
                raise EffectUsageError(name, f"unsupported option {tok!r}")

    def _out(self, x: float) -> str:
        return " %9.*f" % (6 if abs(self.scale) < 10 else 5, self.scale * x)

    def apply(self, st: Stream, ctx: Context) -> Stream:
        for b in range(st.x.shape[0]):
            ints = np.round(st.x[b].cpu().numpy() * 2.0**31)
            chans = [_ChanStats(ints[c], st.rate, self.tc) for c in range(ints.shape[0])]
            ctx.report(self.name, self._report(chans, st.rate))
        return st

    def _report(self, q: list[_ChanStats], rate: float) -> str:
        flows = len(q)
        n = flows if flows > 1 else 0
        mn = min([2.0] + [c.min for c in q])
        mx = max([-2.0] + [c.max for c in q])
        min_s2 = min([2.0] + [c.min_s2 for c in q])
        max_s2 = max([0.0] + [c.max_s2 for c in q])
        sx = sum(c.sigma_x for c in q)
        sx2 = sum(c.sigma_x2 for c in q)
        num = sum(c.n for c in q)
        mask = 0
        max_sx = 0.0
        for c in q:
            mask |= c.mask
            if abs(c.sigma_x) > abs(max_sx):
                max_sx = c.sigma_x
        min_count = sum(c.min_count for c in q)
        max_count = sum(c.max_count for c in q)
        runs = sum(c.min_runs + c.max_runs for c in q)
        avg_peak = sum(max(-c.min, c.max) for c in q) / flows
        p = q[0]
        out = ""
        if n == 2:
            out += "             Overall     Left      Right\n"
        elif n:
            out += "             Overall" + "".join("     Ch%-3i" % (i + 1) for i in range(n)) + "\n"
        out += "DC offset " + self._out(max_sx / p.n) + "".join(self._out(c.sigma_x / c.n) for c in q[:n])
        out += "\nMin level " + self._out(mn) + "".join(self._out(c.min) for c in q[:n])
        out += "\nMax level " + self._out(mx) + "".join(self._out(c.max) for c in q[:n])
        out += "\nPk lev dB %10.2f" % _db(max(-mn, mx)) + "".join("%10.2f" % _db(max(-c.min, c.max)) for c in q[:n])
        out += "\nRMS lev dB%10.2f" % _db(math.sqrt(sx2 / num)) + "".join("%10.2f" % _db(math.sqrt(c.sigma_x2 / c.n)) for c in q[:n])
        out += "\nRMS Pk dB %10.2f" % _db(math.sqrt(max_s2)) + "".join("%10.2f" % _db(math.sqrt(c.max_s2)) for c in q[:n])
        out += "\nRMS Tr dB "
        out += ("%10.2f" % _db(math.sqrt(min_s2))) if min_s2 != 1 else "         -"
        out += "".join(("%10.2f" % _db(math.sqrt(c.min_s2))) if c.min_s2 != 1 else "         -" for c in q[:n])
        if flows > 1:
            out += "\nCrest factor       -"
        else:
            out += "\nCrest factor %7.2f" % (avg_peak / math.sqrt(sx2 / num) if sx2 else 1)
        out += "".join("%10.2f" % (max(-c.min, c.max) / math.sqrt(c.sigma_x2 / c.n) if c.sigma_x2 else 1) for c in q[:n])
        out += "\nFlat factor%9.2f" % _db(runs / (min_count + max_count))
        out += "".join(" %9.2f" % _db((c.min_runs + c.max_runs) / (c.min_count + c.max_count)) for c in q[:n])
        out += "\nPk count   %9s" % _sigfigs3((min_count + max_count) / flows)
        out += "".join(" %9s" % _sigfigs3(float(c.min_count + c.max_count)) for c in q[:n])
        b1, b2 = _bit_depth(mask, mn, mx)
        out += "\nBit-depth      %2u/%-2u" % (b1, b2)
        for c in q[:n]:
            b1, b2 = _bit_depth(c.mask, c.min, c.max)
            out += "     %2u/%-2u" % (b1, b2)
        out += "\nNum samples%9s" % _sigfigs3(float(p.n))
        out += "\nLength s   %9.3f" % (p.n / rate)
        out += "\nScale max " + self._out(1.0)
        out += "\nWindow s   %9.3f" % self.tc
        return out + "\n"
