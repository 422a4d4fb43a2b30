"""SoX's ``stretch``: the older overlap-add time stretcher (fixed segments, linear fades).

Each cycle fills a ``window``-ms segment, adds it (faded in and out over ``fading`` of the
segment) into the output accumulator, advances the input by ``ishift`` and emits
``oshift`` samples, as SoX's ``stretch.c`` state machine does; the loop is per cycle
(segment-sized vector operations), not per sample.
"""

from __future__ import annotations

import numpy as np
import torch

from kaldibridge.sox._args import EffectUsageError, c_double_prefix
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31
_MAX = _SCALE - 1


def _num(effect: str, text: str, what: str) -> float:
    got = c_double_prefix(text)
    if got is None:
        raise EffectUsageError(effect, f"error while parsing {what}")
    return got[0]


@register("stretch")
class Stretch(Effect):
    usage_text = "factor [window fade shift fading]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.factor = _num(name, args[0], "factor") if args else 1.0
        self.window = _num(name, args[1], "window size") if len(args) > 1 else 20.0
        if len(args) > 2 and args[2][:1] not in ("l", "L"):
            raise EffectUsageError(name, "error while parsing fade type")
        self.shift = 0.8 if self.factor > 1.0 else 1.0
        if len(args) > 3:
            self.shift = _num(name, args[3], "shift ratio")
        if self.shift > 1.0 or self.shift <= 0.0:
            raise EffectUsageError(name, "error with shift ratio value")
        fading = 1.0 - self.factor * self.shift if self.factor < 1.0 else 1.0 - self.shift
        self.fading = min(fading, 0.5)
        if len(args) > 4:
            self.fading = _num(name, args[4], "fading ratio")
        if self.fading > 0.5 or self.fading < 0.0:
            raise EffectUsageError(name, "error with fading ratio value")
        if len(args) > 5:
            raise self.usage(args[5])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.factor == 1:
            return st
        b, c, n = st.x.shape
        xi = (st.x * _SCALE).cpu().numpy()
        outs = [[self._one(xi[bi, ch], st.rate) for ch in range(c)] for bi in range(b)]
        lengths = {len(o) for row in outs for o in row}
        if len(lengths) != 1:  # pragma: no cover - all channels share the same clock
            raise EffectUsageError(self.name, "channels produced different lengths")
        y = np.array(outs, dtype=np.float64)
        return st.replace(torch.from_numpy(y / _SCALE).to(st.x.device), length=None)

    def _one(self, x: np.ndarray, rate: float) -> np.ndarray:
        seg = int(rate * 0.001 * self.window)
        if self.factor < 1.0:
            ishift = int(self.shift * seg)
            oshift = int(self.factor * ishift)
        else:
            oshift = int(self.shift * seg)
            ishift = int(oshift / self.factor)
        overlap = int(self.fading * seg)
        fade = np.zeros(overlap)
        if overlap > 1:
            slope = 1.0 / (overlap - 1)
            fade = slope * (overlap - np.arange(overlap) - 1.0)
            fade[0] = 1.0
            fade[-1] = 0.0
        elif overlap == 1:
            fade[0] = 1.0
        weights = np.ones(seg)
        if overlap:
            weights[:overlap] = fade[::-1]
            weights[seg - overlap :] = fade
        ibuf = np.zeros(seg)
        obuf = np.zeros(seg)
        index = seg // 2
        oindex = index
        pos = 0
        n = len(x)
        out: list[np.ndarray] = []
        while pos < n:
            take = min(n - pos, seg - index)
            ibuf[index : index + take] = x[pos : pos + take]
            pos += take
            index += take
            if index < seg:
                break
            obuf += weights * ibuf
            ibuf[: seg - ishift] = ibuf[ishift:].copy()
            index -= ishift
            if oindex < oshift:
                out.append(obuf[oindex:oshift].copy())
                oindex = oshift
            oindex -= oshift
            obuf[: seg - oshift] = obuf[oshift:].copy()
            obuf[seg - oshift :] = 0.0
        # drain: the partial segment is zero-padded and added, then emitted up to `index`
        ibuf[index:] = 0.0
        obuf += weights * ibuf
        if oindex < index:
            out.append(obuf[oindex:index].copy())
        y = np.concatenate(out) if out else np.zeros(0)
        return np.trunc(np.clip(y.astype(np.float32).astype(np.float64), -_SCALE, _MAX))
