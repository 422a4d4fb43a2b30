"""SoX's ``vad``: cut leading non-speech, with SoX's spectral/cepstral detector.

Every ``1 / measure_freq`` seconds a Hann-windowed spectrum of the last
``measure_duration`` seconds is smoothed, a running noise spectrum is subtracted, and the
power of the liftered cepstrum (150 Hz .. 2 kHz pitch range by default) is the measure;
its smoothed value crossing ``trigger_level`` triggers, and the output then starts up to
``search_time`` earlier (where the measures last fell to zero), plus ``pre_trigger_time``.
All windowed FFTs are computed at once; only the per-measure smoothing is a loop.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kaldibridge.sox._args import EffectRefusedError, EffectUsageError, c_double_prefix, parse_frequency
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31

_NUMERIC = {  # option: (attribute, min, max)
    "b": ("boot_time", 0.1, 10), "N": ("noise_tc_up", 0.1, 10), "n": ("noise_tc_down", 0.001, 0.1),
    "r": ("noise_reduction", 0, 2), "f": ("measure_freq", 5, 50), "m": ("measure_duration", 0.01, 1),
    "M": ("measure_tc", 0.1, 1), "T": ("trigger_tc", 0.01, 1), "t": ("trigger_level", 0, 20),
    "s": ("search_time", 0.1, 4), "g": ("gap_time", 0.1, 1), "p": ("pre_trigger_time", 0, 4),
}
_FREQ = {"h": ("hp_filter", 10), "l": ("lp_filter", 1000), "H": ("hp_lifter", 10), "L": ("lp_lifter", 1000)}


def _hann(n: int) -> np.ndarray:
    m = n - 1
    i = np.arange(n)
    return 0.5 - 0.5 * np.cos(2 * math.pi * i / m) if m > 0 else np.ones(n)


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
        outs = [self._one(st.x[b], st.rate) for b in range(st.x.shape[0])]
        lengths = {int(o.shape[-1]) for o in outs}
        if len(lengths) != 1:
            from kaldibridge.errors import OptionError

            raise OptionError(f"sox effect `vad': batch items give different lengths {sorted(lengths)}; run them one by one")
        return st.replace(torch.stack(outs), length=None)

    def _one(self, x: torch.Tensor, rate: float) -> torch.Tensor:
        c, n = x.shape
        assert self.measure_duration is not None
        fixed_pre = int(self.pre_trigger_time * rate + 0.5)
        mlen = int(rate * self.measure_duration + 0.5)
        dft = 16
        while dft < mlen:
            dft <<= 1
        period = int(rate / self.measure_freq + 0.5)
        nmeas = math.ceil(self.search_time * self.measure_freq)
        gap = int(self.gap_time * self.measure_freq + 0.5)
        samples_len = fixed_pre + nmeas * period + mlen
        spec_win = np.full(mlen, 2.0 / _SCALE / math.sqrt(mlen)) * _hann(mlen)
        s0 = max(int(self.hp_filter / rate * dft + 0.5), 1)
        s1 = min(int(self.lp_filter / rate * dft + 0.5), dft // 2)
        cep_win = np.full(s1 - s0, 2 / math.sqrt(s1 - s0)) * _hann(s1 - s0)
        c0 = math.ceil(rate * 0.5 / self.lp_lifter)
        c1 = min(math.floor(rate * 0.5 / self.hp_lifter), dft // 4)
        if c1 <= c0:
            raise EffectRefusedError(self.name, "the lifter range is empty at this sample rate")
        up = math.exp(-1 / (self.noise_tc_up * self.measure_freq))
        down = math.exp(-1 / (self.noise_tc_down * self.measure_freq))
        meas_mult = math.exp(-1 / (self.measure_tc * self.measure_freq))
        trig_mult = math.exp(-1 / (self.trigger_tc * self.measure_freq))
        boot_max = int(self.boot_time * self.measure_freq - 0.5)
        if n < mlen:
            return x[:, :0]
        xi = (x * _SCALE).cpu().numpy()
        k_count = (n - mlen) // period + 1
        idx = np.arange(k_count)[:, None] * period + np.arange(mlen)[None, :]
        frames = xi[:, idx] * spec_win  # (c, K, mlen)
        mags = np.abs(np.fft.rfft(frames, dft, axis=-1))[..., s0:s1]  # (c, K, bins)
        spectrum = np.zeros((c, s1 - s0))
        noise = np.zeros((c, s1 - s0))
        mean = np.zeros(c)
        history = np.zeros((c, k_count))
        boot = 0
        for k in range(k_count):
            mult = boot / (1.0 + boot) if boot >= 0 else meas_mult
            spectrum = spectrum * mult + mags[:, k] * (1 - mult)
            d = spectrum**2
            if boot >= 0:
                nmult = np.zeros_like(d)
            else:
                nmult = np.where(d > noise, up, down)
            noise = noise * nmult + d * (1 - nmult)
            d = np.sqrt(np.maximum(0.0, d - self.noise_reduction * noise))
            seq = np.zeros((c, dft // 2))
            seq[:, s0:s1] = d * cep_win
            cep = np.fft.rfft(seq, axis=-1)[:, c0:c1]
            power = (np.abs(cep) ** 2).sum(axis=-1) / (c1 - c0)
            with np.errstate(divide="ignore"):
                meas = np.maximum(0.0, 21 + np.log(power))
            history[:, k] = meas
            mean = mean * trig_mult + meas * (1 - trig_mult)
            triggered = False
            flush = 0
            for ch in range(c):
                # as SoX: once a channel has triggered, every later channel of this measure
                # also takes part in choosing the start, triggered or not
                triggered = triggered or bool(mean[ch] >= self.trigger_level)
                if triggered:
                    j_trig = j_zero = nmeas
                    for j in range(nmeas):
                        v = history[ch, k - j] if k - j >= 0 else 0.0
                        if v >= self.trigger_level and j <= j_trig + gap:
                            j_zero = j_trig = j
                        elif v == 0 and j_trig >= j_zero:
                            j_zero = j
                    jj = min(nmeas, j_zero)
                    flush = min(max(jj, flush), nmeas)
            if triggered:
                consumed = mlen + k * period
                start = consumed + (nmeas - flush) * period - samples_len
                if start >= 0:
                    return x[:, start:]
                return torch.cat([x.new_zeros(c, -start), x], dim=-1)
            if boot >= 0:
                boot = -1 if boot == boot_max else boot + 1
        return x[:, :0]
