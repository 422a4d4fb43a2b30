"""SoX's ``silence`` effect: trim leading silence, stop (or restart) at later silence.

The detector is SoX's: a running RMS over ``rate / 50`` interleaved samples, truncated to
an integer and masked to the signal's precision, compared with a threshold in percent or
dB. The RMS is computed for all samples at once; the start/stop state machine then walks
runs of above/below-threshold frames (not samples), reproducing SoX's cut points and its
hold-off quirks (``-l`` keeps ``duration`` of each silence; a hold-off flushed after a
shorter silence is emitted again).
"""

from __future__ import annotations

import math

import torch

from kaldibridge.sox._args import EffectUsageError, c_double_prefix, parse_samples
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31
_MAX = _SCALE - 1


def _parse_threshold(effect: str, text: str) -> tuple[float, str]:
    got = c_double_prefix(text)
    if got is None:
        raise EffectUsageError(effect, f"invalid threshold {text!r}")
    value, rest = got
    unit = rest[:1] if rest else "%"
    return value, unit


def _check_threshold(effect: str, value: float, unit: str) -> None:
    if unit not in "%d":
        raise EffectUsageError(effect, "Invalid unit specified")
    if unit == "%" and not 0.0 <= value <= 100.0:
        raise EffectUsageError(effect, "silence threshold should be between 0.0 and 100.0 %")
    if unit == "d" and value >= 0.0:
        raise EffectUsageError(effect, "silence threshold should be less than 0.0 dB")


def running_rms_flags(
    inter: torch.Tensor, channels: int, window: int, threshold: float, unit: str, precision: int, mode_any: bool
) -> torch.Tensor:
    """Per frame: is SoX's running RMS above ``threshold`` (any channel if ``mode_any``,
    else all channels)? ``inter``: 1-D interleaved int32-valued float64 samples, starting
    with an empty RMS window."""
    sq = inter * inter
    total = sq.numel()
    frames = total // channels
    csum = torch.cat([sq.new_zeros(1), torch.cumsum(sq, 0)])
    starts = torch.arange(frames, device=inter.device) * channels
    lo = (starts - window).clamp(min=0)
    window_sum = csum[starts] - csum[lo]
    oldest_idx = starts - window
    oldest = torch.where(oldest_idx >= 0, sq[oldest_idx.clamp(min=0)], torch.zeros_like(window_sum))
    base = window_sum - oldest
    xs = sq[: frames * channels].reshape(frames, channels)
    rms = torch.trunc(torch.sqrt(((base[:, None] + xs) / window).clamp(min=0)))
    shift = 32 - precision
    if shift > 0:
        rms = torch.floor(rms / 2.0**shift) * 2.0**shift
    scaled = rms / _MAX
    if unit == "%":
        above = scaled * 100 > threshold
    else:
        with torch.no_grad():
            db = torch.where(scaled > 0, 20 * torch.log10(scaled.clamp(min=1e-300)), torch.full_like(scaled, -math.inf))
        above = db > threshold
    return above.any(dim=1) if mode_any else above.all(dim=1)


def _runs(flags: list[bool], start: int) -> list[tuple[bool, int, int]]:
    out = []
    i = start
    n = len(flags)
    while i < n:
        j = i
        v = flags[i]
        while j < n and flags[j] == v:
            j += 1
        out.append((v, i, j))
        i = j
    return out


@register("silence")
class Silence(Effect):
    usage_text = "[ -l ] above_periods [ duration threshold[d|%] ] [ below_periods duration threshold[d|%] ]"
    modify_only = True

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.leave = False
        if rest and rest[0] == "-l":
            self.leave = True
            rest.pop(0)
        if not rest:
            raise self.usage()
        try:
            self.start_periods = int(rest.pop(0))
        except ValueError:
            raise self.usage(args[-1]) from None
        if self.start_periods < 0:
            raise EffectUsageError(name, "Periods must not be negative")
        self.start = self.start_periods > 0
        if self.start:
            if len(rest) < 2:
                raise self.usage()
            self.start_dur = rest.pop(0)
            got = parse_samples(0.0, self.start_dur, "s")
            if got is None or got[1]:
                raise self.usage(self.start_dur)
            self.start_thr, self.start_unit = _parse_threshold(name, rest.pop(0))
        self.stop = False
        self.restart = False
        if rest:
            if len(rest) < 3:
                raise self.usage()
            try:
                self.stop_periods = int(rest.pop(0))
            except ValueError:
                raise self.usage() from None
            if self.stop_periods < 0:
                self.stop_periods = -self.stop_periods
                self.restart = True
            self.stop = True
            self.stop_dur = rest.pop(0)
            got = parse_samples(0.0, self.stop_dur, "s")
            if got is None or got[1]:
                raise self.usage(self.stop_dur)
            self.stop_thr, self.stop_unit = _parse_threshold(name, rest.pop(0))
        if self.start:
            _check_threshold(name, self.start_thr, self.start_unit)
        if self.stop:
            _check_threshold(name, self.stop_thr, self.stop_unit)
        if rest:
            raise self.usage(rest[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if st.x.shape[0] == 1:
            keep = self._segments(st.x[0], st.rate, st.precision)
            return st.replace(_gather(st.x, keep), length=None)
        outs = [_gather(st.x[b : b + 1], self._segments(st.x[b], st.rate, st.precision)) for b in range(st.x.shape[0])]
        return st.replace(_stack_same(outs, self.name), length=None)

    def _segments(self, x: torch.Tensor, rate: float, precision: int) -> list[tuple[int, int]]:
        c, n = x.shape
        inter = (x * _SCALE).transpose(0, 1).reshape(-1)
        window = int(rate / 50) * c
        d1 = 0
        d2 = 0
        if self.start:
            got = parse_samples(rate, self.start_dur, "s")
            d1 = max(1, got[0]) if got else 1
        if self.stop:
            got = parse_samples(rate, self.stop_dur, "s")
            d2 = max(1, got[0]) if got else 1
        out: list[tuple[int, int]] = []
        t = 0
        while t < n:
            seg = inter[t * c :]
            # ---- TRIM: look for start_periods runs of d1 frames above the start threshold
            if self.start:
                a = running_rms_flags(seg, c, window, self.start_thr, self.start_unit, precision, True).tolist()
                found = 0
                begin = None
                for v, s, e in _runs(a, 0):
                    if not v:
                        continue
                    done = (e - s) // d1
                    if found + done >= self.start_periods:
                        begin = s + (self.start_periods - found - 1) * d1
                        break
                    found += done
                if begin is None:
                    return out
                copy_from = t + begin
            else:
                copy_from = t
            if not self.stop:
                out.append((copy_from, n))
                return out
            # ---- COPY: RMS continues from the same window (not cleared)
            b = running_rms_flags(seg, c, window, self.stop_thr, self.stop_unit, precision, False).tolist()
            rel = copy_from - t
            hold: list[tuple[int, int]] = []
            h = 0
            found = 0
            stopped_at = None
            for v, s, e in _runs(b, rel):
                if v:
                    if h and not self.leave:
                        out.extend(hold)
                        hold, h = [], 0
                    out.append((t + s, t + e))
                    continue
                i = s
                while i < e:
                    take = min(e - i, d2 - h)
                    if self.leave:
                        out.append((t + i, t + i + take))
                    hold.append((t + i, t + i + take))
                    h += take
                    i += take
                    if h >= d2:
                        found += 1
                        if found >= self.stop_periods:
                            hold, h = [], 0
                            stopped_at = i
                            break
                        out.extend(hold)
                        hold, h = [], 0
                if stopped_at is not None:
                    break
            if stopped_at is None:
                out.extend(hold)  # drain
                return out
            if not self.restart:
                return out
            t = t + stopped_at
        return out


def _gather(x: torch.Tensor, segs: list[tuple[int, int]]) -> torch.Tensor:
    parts = [x[..., s:e] for s, e in segs if e > s]
    return torch.cat(parts, dim=-1) if parts else x[..., :0]


def _stack_same(outs: list[torch.Tensor], effect: str) -> torch.Tensor:
    from kaldibridge.errors import OptionError

    lengths = {int(o.shape[-1]) for o in outs}
    if len(lengths) != 1:
        raise OptionError(f"sox effect `{effect}': batch items give different lengths {sorted(lengths)}; run them one by one")
    return torch.cat(outs, dim=0)
