"""SoX's ``stat``: amplitude and delta statistics, reported as text (audio passes through).

The report is SoX's text, line for line; it is logged at INFO level on the
``kaldibridge.sox`` logger and appended to the ``reports`` list given to
:func:`kaldibridge.sox.apply_effects_tensor`.
"""

from __future__ import annotations

import math

import numpy as np

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
