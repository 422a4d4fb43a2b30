"""SoX's ``bend``: pitch bends with a phase vocoder (analysis/synthesis every
``frame_size / oversample`` samples, SoX keeping its state in float32).

The loop is per analysis frame (vectorized over bins); the output is delayed by the
vocoder latency, as in SoX (no compensation), and has the input's length.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kaldibridge.sox._args import EffectUsageError, check_position_syntax, numeric, parse_position
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31
_F32 = np.float32


@register("bend")
class Bend(Effect):
    usage_text = "[-f frame-rate(25)] [-o over-sample(16)] {start,cents,end}"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.frame_rate = 25.0
        self.ovsamp = 16
        while rest and rest[0].startswith("-") and len(rest[0]) > 1 and rest[0][1] in "fo":
            tok = rest.pop(0)
            val = tok[2:] if len(tok) > 2 else (rest.pop(0) if rest else "")
            if tok[1] == "f":
                self.frame_rate = numeric(name, val, "frame_rate", 10, 80)
            else:
                self.ovsamp = int(numeric(name, val, "ovsamp", 4, 32))
        self.specs = rest
        for spec in rest:
            parts = spec.split(",")
            if len(parts) != 3 or not check_position_syntax(parts[0]) or not check_position_syntax(parts[2]):
                raise self.usage(spec)
            try:
                cents = float(parts[1])
            except ValueError:
                raise self.usage(spec) from None
            if cents == 0:
                raise self.usage(spec)

    def _bends(self, rate: float, in_len: int | None) -> list[tuple[int, float, int]]:
        out = []
        last = 0
        for i, spec in enumerate(self.specs):
            a, c, e = spec.split(",")
            got = parse_position(rate, a, last, in_len, "+")
            if got is None or got[0] is None:
                raise self.usage(spec)
            start = got[0]
            got2 = parse_position(rate, e, start, in_len, "+")
            if got2 is None or got2[0] is None:
                raise self.usage(spec)
            end = got2[0]
            last = end
            if end < start:
                raise EffectUsageError(self.name, f"Bend {i + 1} has negative width")
            if out and start < out[-1][0]:
                raise EffectUsageError(self.name, f"Bend {i + 1} overlaps with previous one")
            out.append((start, float(c), end - start))
        return out

    def apply(self, st: Stream, ctx: Context) -> Stream:
        bends = self._bends(st.rate, st.known_frames())
        if not any(d for _, _, d in bends):
            return st
        b, c, n = st.x.shape
        x32 = st.x.to(torch.float32).cpu().numpy()
        y = np.empty((b, c, n), dtype=np.float64)
        applied = 0
        for bi in range(b):
            for ch in range(c):
                y[bi, ch], applied = self._one(x32[bi, ch], st.rate, bends)
        if applied != len(bends):
            ctx.warn(self.name, f"Input audio too short; bends not applied: {len(bends) - applied}")
        return st.replace(torch.from_numpy(y).to(st.x.device), length=st.length)

    def _one(self, x: np.ndarray, rate: float, bends: list[tuple[int, float, int]]) -> tuple[np.ndarray, int]:
        m = int(rate / self.frame_rate + 0.5)
        size = 2
        while m > 2:
            size <<= 1
            m >>= 1
        half = size // 2
        step = size // self.ovsamp
        freq_per_bin = rate / size
        expct = 2.0 * math.pi * step / size
        latency = size - step
        k = np.arange(half + 1)
        win = -0.5 * np.cos(2 * math.pi * np.arange(size) / size) + 0.5
        in_fifo = np.zeros(size, dtype=_F32)
        out_fifo = np.zeros(size, dtype=_F32)
        last_phase = np.zeros(half + 1, dtype=_F32)
        sum_phase = np.zeros(half + 1, dtype=_F32)
        accum = np.zeros(2 * size, dtype=_F32)
        shift = 1.0
        pitch = _F32(shift)
        bends_pos = 0
        n = len(x)
        out = np.zeros(n, dtype=np.float64)
        rover = latency
        i = 0
        while i < n:
            take = min(n - i, size - rover)
            in_fifo[rover : rover + take] = x[i : i + take]
            out[i : i + take] = out_fifo[rover - latency : rover - latency + take]
            rover += take
            i += take
            in_pos = i
            if rover < size:
                break
            if bends_pos != len(bends) and in_pos >= bends[bends_pos][0] + bends[bends_pos][2]:
                shift *= 2.0 ** (bends[bends_pos][1] / 1200)
                pitch = _F32(shift)
                bends_pos += 1
            if bends_pos != len(bends) and in_pos >= bends[bends_pos][0]:
                start, cents, dur = bends[bends_pos]
                progress = (in_pos - start) / dur
                progress = 1 - math.cos(math.pi * progress)
                progress *= cents * (0.5 / 1200)
                pitch = _F32(shift * 2.0**progress)
            rover = latency
            spec = np.fft.fft(in_fifo.astype(np.float64) * win)[: half + 1]
            real, imag = spec.real, spec.imag
            magn = 2.0 * np.sqrt(real * real + imag * imag)
            phase = np.arctan2(imag, real)
            tmp = phase - last_phase.astype(np.float64)
            last_phase = phase.astype(_F32)
            tmp = tmp - k * expct
            qpd = np.trunc(tmp / math.pi).astype(np.int64)
            qpd = np.where(qpd >= 0, qpd + (qpd & 1), qpd - (qpd & 1))
            tmp = tmp - math.pi * qpd
            tmp = self.ovsamp * tmp / (2.0 * math.pi)
            ana_freq = (k * freq_per_bin + tmp * freq_per_bin).astype(_F32)
            ana_magn = magn.astype(_F32)
            syn_magn = np.zeros(size, dtype=_F32)
            syn_freq = np.zeros(size, dtype=_F32)
            index = np.trunc(k.astype(_F32) * pitch).astype(np.int64)  # float32 product, as in SoX
            ok = index <= half
            np.add.at(syn_magn, index[ok], ana_magn[ok])
            # the last k mapping to an index wins (indices are non-decreasing in k)
            idx_ok, k_ok = index[ok], k[ok]
            last = np.r_[idx_ok[1:] != idx_ok[:-1], True] if len(idx_ok) else np.zeros(0, dtype=bool)
            syn_freq[idx_ok[last]] = (ana_freq[k_ok[last]] * pitch).astype(_F32)
            magn2 = syn_magn[: half + 1].astype(np.float64)
            tmp2 = syn_freq[: half + 1].astype(np.float64) - k * freq_per_bin
            tmp2 = tmp2 / freq_per_bin
            tmp2 = 2.0 * math.pi * tmp2 / self.ovsamp
            tmp2 = tmp2 + k * expct
            sum_phase = (sum_phase.astype(np.float64) + tmp2).astype(_F32)
            ph = sum_phase.astype(np.float64)
            full = np.zeros(size, dtype=np.complex128)
            full[: half + 1] = magn2 * np.cos(ph) + 1j * (magn2 * np.sin(ph))
            time = np.real(np.fft.ifft(full)) * size
            accum[:size] = (accum[:size].astype(np.float64) + 2.0 * win * time / (half * self.ovsamp)).astype(_F32)
            out_fifo[:step] = accum[:step]
            accum[: 2 * size - step] = accum[step:].copy()
            accum[2 * size - step :] = 0
            in_fifo[:latency] = in_fifo[step:].copy()
        y = np.round(np.clip(out.astype(np.float64) * _SCALE, -_SCALE, _SCALE - 1)) / _SCALE
        return y, bends_pos
