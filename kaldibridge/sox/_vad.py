"""SoX's ``vad``: cut leading non-speech, with SoX's spectral/cepstral detector.

Every ``1 / measure_freq`` seconds a Hann-windowed spectrum of the last
``measure_duration`` seconds is smoothed, a running noise spectrum is subtracted, and the
power of the liftered cepstrum (150 Hz .. 2 kHz pitch range by default) is the measure;
its smoothed value crossing ``trigger_level`` triggers, and the output then starts up to
``search_time`` earlier (where the measures last fell to zero), plus ``pre_trigger_time``.
The detector is :func:`kaldibridge.functional.vad_start` (batched); this module parses
SoX's options and cuts the stream.
"""

from __future__ import annotations

import torch

from kaldibridge.sox._args import EffectRefusedError, EffectUsageError, c_double_prefix, parse_frequency
from kaldibridge.sox._chain import Context, Effect, Stream, register

_NUMERIC = {  # option: (attribute, min, max)
    "b": ("boot_time", 0.1, 10), "N": ("noise_tc_up", 0.1, 10), "n": ("noise_tc_down", 0.001, 0.1),
    "r": ("noise_reduction", 0, 2), "f": ("measure_freq", 5, 50), "m": ("measure_duration", 0.01, 1),
    "M": ("measure_tc", 0.1, 1), "T": ("trigger_tc", 0.01, 1), "t": ("trigger_level", 0, 20),
    "s": ("search_time", 0.1, 4), "g": ("gap_time", 0.1, 1), "p": ("pre_trigger_time", 0, 4),
}
_FREQ = {"h": ("hp_filter", 10), "l": ("lp_filter", 1000), "H": ("hp_lifter", 10), "L": ("lp_lifter", 1000)}


@register("vad")
class Vad(Effect):
    usage_text = "[options]"
    modify_only = True

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.boot_time, self.noise_tc_up, self.noise_tc_down, self.noise_reduction = 0.35, 0.1, 0.01, 1.35
        self.measure_freq = 20.0
        self.measure_duration: float | None = None
        self.measure_tc = 0.4
        self.hp_filter, self.lp_filter, self.hp_lifter, self.lp_lifter = 50.0, 6000.0, 150.0, 2000.0
        self.trigger_tc, self.trigger_level, self.search_time, self.gap_time = 0.25, 7.0, 1.0, 0.25
        self.pre_trigger_time = 0.0
        rest = list(args)
        while rest:
            tok = rest.pop(0)
            if not tok.startswith("-") or len(tok) < 2:
                raise self.usage(tok)
            opt = tok[1]
            val = tok[2:] if len(tok) > 2 else (rest.pop(0) if rest else None)
            if val is None:
                raise self.usage(tok)
            if opt in _NUMERIC:
                attr, lo, hi = _NUMERIC[opt]
                got = c_double_prefix(val)
                if got is None or got[1] or not lo <= got[0] <= hi:
                    raise EffectUsageError(name, f"parameter `{attr}' must be between {lo:g} and {hi:g} (got {val!r})")
                setattr(self, attr, got[0])
            elif opt in _FREQ:
                attr, lo = _FREQ[opt]
                f, tail = parse_frequency(val)
                if f < lo or tail:
                    raise self.usage(val)
                setattr(self, attr, f)
            else:
                raise EffectUsageError(name, f"invalid option `-{opt}'")
        if self.measure_duration is None:
            self.measure_duration = 2 / self.measure_freq

    def apply(self, st: Stream, ctx: Context) -> Stream:
        from kaldibridge.errors import OptionError
        from kaldibridge.functional.voice_activity import vad_start

        try:
            starts = vad_start(
                st.x, st.rate, self.trigger_level, self.trigger_tc, self.search_time, self.gap_time,
                self.pre_trigger_time, self.boot_time, self.noise_tc_up, self.noise_tc_down,
                self.noise_reduction, self.measure_freq, self.measure_duration, self.measure_tc,
                self.hp_filter, self.lp_filter, self.hp_lifter, self.lp_lifter, multichannel=True,
            )
        except OptionError as e:
            raise EffectRefusedError(self.name, str(e)) from e
        distinct = sorted(set(starts.tolist()))
        if len(distinct) > 1:
            lengths = sorted({st.x.shape[-1] - s for s in distinct})
            raise OptionError(f"sox effect `vad': batch items give different lengths {lengths}; run them one by one")
        start = distinct[0] if distinct else 0
        if start >= 0:
            return st.replace(st.x[..., start:], length=None)
        pad = st.x.new_zeros(st.x.shape[:-1] + (-start,))
        return st.replace(torch.cat([pad, st.x], dim=-1), length=None)
