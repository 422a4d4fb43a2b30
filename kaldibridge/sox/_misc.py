"""Echo family, overdrive and earwax (SoX ``echo.c``, ``echos.c``, ``overdrive.c``,
``earwax.c``)."""

from __future__ import annotations

import numpy as np
import torch

from kaldibridge.functional.filtering import lfilter
from kaldibridge.sox._args import EffectRefusedError, c_double_prefix, db_to_linear, numeric
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31


def _f32(v: float) -> float:
    """SoX keeps these parameters in C ``float``."""
    return float(np.float32(v))


def _sparse_fir(x: torch.Tensor, delays: list[int], gains: list[float], extra: int) -> torch.Tensor:
    """``y[n] = sum_j g_j x[n - d_j]`` over ``time + extra`` samples."""
    n = x.shape[-1]
    y = x.new_zeros(*x.shape[:-1], n + extra)
    for d, g in zip(delays, gains):
        y[..., d : d + n] += g * x
    return y


@register("echo", "echos")
class Echo(Effect):
    usage_text = "gain-in gain-out delay decay [ delay decay ... ]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if len(args) < 4 or len(args) % 2:
            raise self.usage()
        vals = []
        for a in args:
            got = c_double_prefix(a)
            vals.append(_f32(got[0]) if got is not None else 0.0)
        self.in_gain, self.out_gain = vals[0], vals[1]
        self.delays = vals[2::2]
        self.decays = vals[3::2]
        if len(self.delays) > 7:
            raise self.usage(f"too many delays ({len(self.delays)}), use at most 7")

    def apply(self, st: Stream, ctx: Context) -> Stream:
        tag = self.name
        if self.in_gain < 0:
            raise EffectRefusedError(tag, "gain-in must be positive!")
        if self.in_gain > 1:
            raise EffectRefusedError(tag, "gain-in must be less than 1.0!")
        if self.out_gain < 0:
            raise EffectRefusedError(tag, "gain-out must be positive!")
        samples = []
        for d, g in zip(self.delays, self.decays):
            s = int(d * st.rate / 1000.0)
            if s < 1:
                raise EffectRefusedError(tag, "delay must be positive!")
            if s > 50 * 50 * 1024:
                raise EffectRefusedError(tag, f"delay must be less than {50 * 50 * 1024 / st.rate:g} seconds!")
            if g < 0:
                raise EffectRefusedError(tag, "decay must be positive!")
            if g > 1:
                raise EffectRefusedError(tag, "decay must be less than 1.0!")
            samples.append(s)
        if (1.0 + sum(self.decays)) * self.in_gain > 1.0 / self.out_gain:
            ctx.warn(tag, f"{tag}: warning >>> gain-out can cause saturation of output <<<")
        d_in = st.x * (_SCALE / 256)
        if self.name == "echo":
            extra = max(samples)
            gains = list(self.decays)
        else:
            # SoX writes each delay line from the one before it after that one was already
            # updated with the current input, so line j carries (j + 1) times the input.
            extra = sum(samples)
            gains = [g * (j + 1) for j, g in enumerate(self.decays)]
        y = _sparse_fir(d_in, [0, *samples], [self.in_gain, *gains], extra) * self.out_gain
        y = torch.trunc(y)
        over = (y > 2**23 - 1) | (y < -(2**23))
        n = int(over.sum())
        if n:
            ctx.warn(tag, f"{tag} clipped {n} samples; decrease volume?")
        y = y.clamp(-(2**23), 2**23 - 1) * 256
        return st.replace(y / _SCALE, length=None)


@register("overdrive")
class Overdrive(Effect):
    usage_text = "[gain [colour]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        gain = colour = 20.0
        if rest:
            gain = numeric(name, rest.pop(0), "gain", 0, 100)
        if rest:
            colour = numeric(name, rest.pop(0), "colour", 0, 100)
        if rest:
            raise self.usage(rest[0])
        self.gain = db_to_linear(gain)
        self.colour = colour / 200

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.gain == 1:
            return st
        d0 = st.x
        d = d0 * self.gain + self.colour
        shaped = torch.where(d < -1, torch.full_like(d, -2.0 / 3), torch.where(d > 1, torch.full_like(d, 2.0 / 3), d - d * d * d * (1.0 / 3)))
        last_out = lfilter(shaped, [1.0, -0.995], [1.0, -1.0], clamp=False)
        return st.replace(d0 * 0.5 + last_out * 0.75, length=st.length)


# 32-tap stereo cross-feed FIR (one ear at 30 degrees, the other at 330 degrees), applied to
# the interleaved L/R stream; integer taps as SoX defines them.
_EARWAX_TAPS = (
    4, -6, 4, -11, -1, -5, 3, 3, -2, 5, -5, 0, 9, 1, 6, 3, -4, -1, -5, -3, -2, -5, -7, 1,
    6, -7, 30, -29, 12, -3, -11, 4, -3, 7, -20, 23, 2, 0, 1, -6, -14, -5, 15, -18, 6, 7,
    15, -10, -14, 22, -7, -2, -4, 9, 6, -12, 6, -6, 0, -11, 0, -5, 4, 0,
)


@register("earwax")
class Earwax(Effect):
    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if args:
            raise self.usage(args[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if st.rate != 44100 or st.channels != 2:
            raise EffectRefusedError(self.name, "works only with stereo audio sampled at 44100Hz (i.e. CDDA)")
        b, c, n = st.x.shape
        inter = (st.x * _SCALE).transpose(1, 2).reshape(b, n * c)
        scaled = torch.trunc(inter / 64)
        taps = torch.tensor(_EARWAX_TAPS, dtype=torch.float64, device=st.x.device)
        y = lfilter(scaled, [1.0], taps, clamp=False)
        return st.replace((y / _SCALE).reshape(b, n, c).transpose(1, 2).contiguous(), length=st.length)
