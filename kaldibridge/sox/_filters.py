"""IIR effects of SoX's biquad family and its FIR effects (``fir``)."""

from __future__ import annotations

import math

import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.filtering import biquad_coeffs, deemph_coeffs, lfilter, riaa_coeffs
from kaldibridge.sox._args import EffectRefusedError, c_double_prefix, parse_double, parse_frequency
from kaldibridge.sox._chain import Context, Effect, Stream, register

_ALL_WIDTHS = "hkboqs"


class _Biquad(Effect):
    """Shared argument rules of SoX's ``lsx_biquad_getopts``."""

    kind = ""

    def _getopts(
        self, args: list[str], min_args: int, max_args: int, fc_pos: int, width_pos: int, gain_pos: int,
        allowed: str, width: float = 0.0, fc: float = 0.0,
    ) -> None:
        self.fc, self.width, self.gain = fc, width, 0.0
        width_type = allowed[:1]
        n = len(args)
        if n < min_args or n > max_args:
            raise self.usage()
        if n > fc_pos:
            f, rest = parse_frequency(args[fc_pos])
            if f <= 0 or rest:
                raise self.usage(args[fc_pos])
            self.fc = f
        if n > width_pos:
            got = c_double_prefix(args[width_pos])
            if got is None:
                raise self.usage(args[width_pos])
            w, rest = got
            if rest:
                width_type = rest[0]
                if rest[1:].strip():
                    raise self.usage(args[width_pos])
            if w <= 0:
                raise self.usage(args[width_pos])
            self.width = w
        if n > gain_pos:
            g = parse_double(args[gain_pos])
            if g is None:
                raise self.usage(args[gain_pos])
            self.gain = g
        if width_type not in allowed or (width_type == "s" and self.width > 1):
            raise self.usage(args[width_pos] if n > width_pos else None)
        if width_type not in _ALL_WIDTHS:
            width_type = "h"
        if width_type == "k":
            self.width *= 1000
            width_type = "h"
        self.width_type = width_type

    def coeffs(self, rate: float) -> tuple[list[float], list[float]] | None:
        try:
            return biquad_coeffs(self.kind, rate, self.fc, self.width, self.width_type, self.gain)  # type: ignore[arg-type]
        except OptionError as exc:
            raise EffectRefusedError(self.name, str(exc)) from None

    def apply(self, st: Stream, ctx: Context) -> Stream:
        c = self.coeffs(st.rate)
        if c is None:
            return st
        b, a = c
        return st.replace(lfilter(st.x * 2.0**31, b, a) / 2.0**31, length=st.length)


@register("highpass", "lowpass")
class HiLo(_Biquad):
    usage_text = "[-1|-2] frequency [width[q|o|h|k](0.707q)]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        if rest and rest[0] == "-1":
            self._getopts(rest[1:], 1, 1, 0, 1, 2, "")
            self.kind = name + "1"
            return
        if rest and rest[0] == "-2":
            rest = rest[1:]
        self._getopts(rest, 1, 2, 0, 1, 2, "qohk", width=math.sqrt(0.5))
        self.kind = name


@register("bandpass")
class Bandpass(_Biquad):
    usage_text = "[-c] frequency width[h|k|q|o]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.kind = "bandpass"
        if rest and rest[0] == "-c":
            rest, self.kind = rest[1:], "bandpass_csg"
        self._getopts(rest, 2, 2, 0, 1, 2, "hkqob")


@register("bandreject")
class Bandreject(_Biquad):
    usage_text = "frequency width[h|k|q|o]"
    kind = "bandreject"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self._getopts(list(args), 2, 2, 0, 1, 2, "hkqob")


@register("allpass")
class Allpass(_Biquad):
    usage_text = "frequency width[h|k|q|o]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.kind = "allpass"
        if rest and rest[0] == "-1":
            rest, self.kind = rest[1:], "allpass1"
        elif rest and rest[0] == "-2":
            rest, self.kind = rest[1:], "allpass2"
        m = 2 if self.kind == "allpass" else 1
        self._getopts(rest, m, m, 0, 1, 2, "hkqo")


@register("bass", "treble")
class Tone(_Biquad):
    usage_text = "gain [frequency [width[s|h|k|q|o]](0.5s)]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.kind = name
        self._getopts(list(args), 1, 3, 1, 2, 0, "shkqo", width=0.5, fc=100.0 if name == "bass" else 3000.0)

    def coeffs(self, rate: float) -> tuple[list[float], list[float]] | None:
        if self.gain == 0:
            return None
        return super().coeffs(rate)


@register("equalizer")
class Equalizer(_Biquad):
    usage_text = "frequency width[q|o|h|k] gain"
    kind = "equalizer"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self._getopts(list(args), 3, 3, 0, 1, 2, "qohk")

    def coeffs(self, rate: float) -> tuple[list[float], list[float]] | None:
        if self.gain == 0:
            return None
        return super().coeffs(rate)


@register("band")
class Band(_Biquad):
    usage_text = "[-n] center [width[h|k|q|o]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.kind = "band"
        if rest and rest[0] == "-n":
            rest, self.kind = rest[1:], "band_n"
        self._getopts(rest, 1, 2, 0, 1, 2, "hkqo")


@register("deemph")
class Deemph(_Biquad):
    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if args:
            raise self.usage(args[0])

    def coeffs(self, rate: float) -> tuple[list[float], list[float]] | None:
        try:
            return deemph_coeffs(rate)
        except OptionError as exc:
            raise EffectRefusedError(self.name, str(exc)) from None


@register("riaa")
class Riaa(_Biquad):
    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if args:
            raise self.usage(args[0])

    def coeffs(self, rate: float) -> tuple[list[float], list[float]] | None:
        try:
            return riaa_coeffs(rate)
        except OptionError as exc:
            raise EffectRefusedError(self.name, str(exc)) from None


@register("biquad")
class Biquad(_Biquad):
    usage_text = "b0 b1 b2 a0 a1 a2"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if len(args) != 6:
            raise self.usage()
        vals = []
        for a in args:
            got = c_double_prefix(a)
            if got is None or got[1]:
                raise self.usage(a)
            vals.append(got[0])
        self.b, self.a = vals[:3], vals[3:]

    def coeffs(self, rate: float) -> tuple[list[float], list[float]] | None:
        return self.b, self.a


# ----------------------------------------------------------------------------- FIR
def fir_centered(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """``y[n] = sum_k h[k] x[n + (N-1)//2 - k]``: SoX's zero-delay FIR, same length as x.

    Args:
        x: ``(..., time)`` float64.
        taps: ``(N,)`` float64.
    """
    n = x.shape[-1]
    k = taps.numel()
    size = n + k - 1
    nfft = 1 << max(0, (size - 1).bit_length())
    y = torch.fft.irfft(torch.fft.rfft(x, nfft) * torch.fft.rfft(taps.to(x), nfft), nfft)
    d = (k - 1) // 2
    return y[..., d : d + n]


class FirEffect(Effect):
    """Base of effects that run a designed FIR with the delay removed."""

    def taps(self, rate: float) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, st: Stream, ctx: Context) -> Stream:
        h = self.taps(st.rate).to(device=st.x.device, dtype=torch.float64)
        return st.replace(fir_centered(st.x, h), length=st.length)


@register("fir")
class Fir(FirEffect):
    usage_text = "[coef-file|coefs]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        vals = []
        for a in args:
            got = c_double_prefix(a)
            if got is None or got[1].strip():
                raise self.usage(a + " (coefficient files are not supported; pass the coefficients)")
            vals.append(got[0])
        if not vals:
            raise self.usage()
        self.h = torch.tensor(vals, dtype=torch.float64)

    def taps(self, rate: float) -> torch.Tensor:
        return self.h
