"""IIR effects of SoX's biquad family and its FIR effects (``fir``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.filtering import biquad_coeffs, deemph_coeffs, riaa_coeffs
from kaldibridge.sox._iir import iir_filter
from kaldibridge.sox._args import EffectRefusedError, EffectUsageError, c_double_prefix, numeric, parse_double, parse_frequency
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
        return st.replace(iir_filter(st.x * 2.0**31, b, a).mul_(2.0**-31), length=st.length)


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


class _FixedBiquad(_Biquad):
    """A biquad effect without arguments whose filter depends only on the sample rate."""

    design: Callable[[float], tuple[list[float], list[float]]]

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if args:
            raise self.usage(args[0])

    def coeffs(self, rate: float) -> tuple[list[float], list[float]] | None:
        try:
            return self.design(rate)
        except OptionError as exc:
            raise EffectRefusedError(self.name, str(exc)) from None


@register("deemph")
class Deemph(_FixedBiquad):
    design = staticmethod(deemph_coeffs)


@register("riaa")
class Riaa(_FixedBiquad):
    design = staticmethod(riaa_coeffs)


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
def fir_centered(x: torch.Tensor, taps: torch.Tensor, post_peak: int | None = None) -> torch.Tensor:
    """``y[n] = sum_k h[k] x[n + d - k]`` with ``d = N - 1 - post_peak`` (default
    ``post_peak = N // 2``, i.e. ``d = (N-1)//2``): SoX's delay-compensated FIR
    (``dft_filter``), output as long as the input.

    Args:
        x: ``(..., time)`` float64.
        taps: ``(N,)`` float64.
        post_peak: taps after the filter's peak.
    """
    n = x.shape[-1]
    k = taps.numel()
    size = n + k - 1
    nfft = 1 << max(0, (size - 1).bit_length())
    y = torch.fft.irfft(torch.fft.rfft(x, nfft) * torch.fft.rfft(taps.to(x), nfft), nfft)
    d = k - 1 - (k // 2 if post_peak is None else post_peak)
    return y[..., d : d + n]


class FirEffect(Effect):
    """Base of effects that run a designed FIR with the delay removed."""

    post_peak: int | None = None

    def taps(self, rate: float) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, st: Stream, ctx: Context) -> Stream:
        h = self.taps(st.rate).to(device=st.x.device, dtype=torch.float64)
        return st.replace(fir_centered(st.x, h, self.post_peak), length=st.length)


def _blackman(h: list[float], alpha: float = 0.16) -> list[float]:
    m = len(h) - 1
    return [v * ((1 - alpha) * 0.5 - 0.5 * math.cos(2 * math.pi * i / m) + alpha * 0.5 * math.cos(4 * math.pi * i / m)) for i, v in enumerate(h)]


@register("hilbert")
class Hilbert(FirEffect):
    usage_text = "[-n taps]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.n_taps = 0
        while rest and rest[0].startswith("-") and len(rest[0]) > 1:
            tok = rest.pop(0)
            if tok[1] != "n":
                raise EffectUsageError(name, f"invalid option `{tok}'")
            val = tok[2:] if len(tok) > 2 else (rest.pop(0) if rest else "")
            self.n_taps = int(numeric(name, val, "taps", 3, 32767))
        if self.n_taps and self.n_taps % 2 == 0:
            raise EffectUsageError(name, "only filters with an odd number of taps are supported")
        if rest:
            raise self.usage(rest[0])

    def taps(self, rate: float) -> torch.Tensor:
        n = self.n_taps
        if not n:
            n = int(rate / 76.5 + 2)
            n += 1 - n % 2
        h = []
        for i in range(n):
            k = i - n // 2
            h.append(0.0 if k % 2 == 0 else (1 - math.cos(math.pi * k)) / (math.pi * k))
        self.post_peak = n // 2
        return torch.tensor(_blackman(h), dtype=torch.float64)


@register("sinc")
class Sinc(FirEffect):
    usage_text = "[-a att|-b beta] [-p phase|-M|-I|-L] [-t tbw|-n taps] [freqHP][-freqLP [-t tbw|-n taps]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.att = 0.0
        self.beta = -1.0
        self.phase = 50.0
        self.round = False
        self.fc0 = self.fc1 = 0.0
        tbw = [0.0, 0.0]
        ntaps = [0, 0]
        rest = list(args)
        for i in range(2):
            while rest and rest[0].startswith("-") and len(rest[0]) > 1 and rest[0][1] in "rabpMILtn":
                tok = rest.pop(0)
                k = 1
                while k < len(tok):
                    ch = tok[k]
                    k += 1
                    if ch in "abptn":
                        val = tok[k:] if k < len(tok) else (rest.pop(0) if rest else "")
                        k = len(tok)
                        if ch == "a":
                            self.att = numeric(name, val, "att", 40, 180)
                        elif ch == "b":
                            self.beta = numeric(name, val, "beta", 0, 256)
                        elif ch == "p":
                            self.phase = numeric(name, val, "phase", 0, 100)
                        elif ch == "n":
                            ntaps[1] = int(numeric(name, val, "num_taps", 11, 32767))
                        else:
                            f, tail = parse_frequency(val)
                            if f < 1 or tail:
                                raise self.usage(val)
                            tbw[1] = f
                    elif ch == "r":
                        self.round = True
                    elif ch == "M":
                        self.phase = 0
                    elif ch == "I":
                        self.phase = 25
                    elif ch == "L":
                        self.phase = 50
                    else:
                        raise self.usage(tok)
            if (self.att and self.beta >= 0) or (tbw[1] and ntaps[1]):
                raise self.usage()
            if i == 0 or not self.fc1:
                tbw[0], ntaps[0] = tbw[1], ntaps[1]
            if i == 0 and rest:
                text = rest.pop(0)
                if not text.startswith("-"):
                    self.fc0, text = parse_frequency(text)
                if text.startswith("-"):
                    self.fc1, text = parse_frequency(text[1:])
                if text or self.fc0 < 0 or self.fc1 < 0:
                    raise self.usage(text or None)
        if rest:
            raise self.usage(rest[0])
        self.tbw, self.ntaps = tbw, ntaps

    def _lpf(self, fn: float, fc: float, tbw: float, n: int) -> tuple[list[float] | None, int]:
        from kaldibridge.sox.rate import kaiser_params, make_lpf

        fc /= fn
        if fc <= 0 or fc >= 1:
            return None, 0
        att = self.att or 120.0
        self.beta, num = kaiser_params(att, fc, (tbw / fn if tbw else 0.05) * 0.5, self.beta, n)
        if not n:
            num = min(max(num, 11), 32767)
            if self.round:
                num = 1 + 2 * int(int((num // 2) * fc + 0.5) / fc + 0.5)
        num |= 1
        return make_lpf(num, fc, self.beta, 0.0, 1.0), num

    def taps(self, rate: float) -> torch.Tensor:
        from kaldibridge.sox.rate import fir_to_phase

        fn = rate * 0.5
        if self.fc0 >= fn or self.fc1 >= fn:
            raise EffectRefusedError(self.name, "filter frequency must be less than sample-rate / 2")
        self.beta = -1.0 if self.beta < 0 else self.beta
        h0, n0 = self._lpf(fn, self.fc0, self.tbw[0], self.ntaps[0])
        h1, n1 = self._lpf(fn, self.fc1, self.tbw[1], self.ntaps[1])

        def invert(h: list[float]) -> list[float]:
            out = [-v for v in h]
            out[(len(h) - 1) // 2] += 1
            return out

        if h0 is not None:
            h0 = invert(h0)
        hs = [h0, h1]
        ns = [n0, n1]
        longer = int(ns[1] > ns[0])
        n = ns[longer]
        h = hs[longer]
        if h is None:
            raise EffectRefusedError(self.name, "no filter frequency given")
        if h0 is not None and h1 is not None:
            short = hs[1 - longer]
            assert short is not None
            off = (n - ns[1 - longer]) // 2
            h = list(h)
            for i, v in enumerate(short):
                h[i + off] += v
            if self.fc0 < self.fc1:
                h = invert(h)
        if self.phase != 50:
            h, self.post_peak = fir_to_phase(h, self.phase)
        else:
            self.post_peak = n >> 1
        return torch.tensor(h, dtype=torch.float64)


@register("fir")
class Fir(FirEffect):
    usage_text = "[coef-file|coefs]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.file: str | None = None
        vals = []
        if len(args) == 1:
            self.file = args[0]  # like sox: a single argument names a coefficient file
        else:
            for a in args:
                got = c_double_prefix(a)
                if got is None or got[1].strip():
                    raise self.usage(a)
                vals.append(got[0])
        if not args:
            raise self.usage()
        self.h = torch.tensor(vals, dtype=torch.float64)

    def taps(self, rate: float) -> torch.Tensor:
        if self.file is None:
            return self.h
        try:
            with open(self.file, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise EffectRefusedError(self.name, f"couldn't open file {self.file}: {exc.strerror}") from None
        vals = []
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            for tok in line.split():
                got = c_double_prefix(tok)
                if got is None or got[1]:
                    raise EffectRefusedError(self.name, f"{self.file}: invalid coefficient {tok!r}")
                vals.append(got[0])
        if not vals:
            raise EffectRefusedError(self.name, f"{self.file}: no coefficients")
        return torch.tensor(vals, dtype=torch.float64)


# ISO 226:2003 equal-loudness parameters: frequency (Hz), alpha_f, L_U (dB), T_f (dB).
_ISO226 = (
    (20, 0.532, -31.6, 78.5), (25, 0.506, -27.2, 68.7), (31.5, 0.480, -23.0, 59.5),
    (40, 0.455, -19.1, 51.1), (50, 0.432, -15.9, 44.0), (63, 0.409, -13.0, 37.5),
    (80, 0.387, -10.3, 31.5), (100, 0.367, -8.1, 26.5), (125, 0.349, -6.2, 22.1),
    (160, 0.330, -4.5, 17.9), (200, 0.315, -3.1, 14.4), (250, 0.301, -2.0, 11.4),
    (315, 0.288, -1.1, 8.6), (400, 0.276, -0.4, 6.2), (500, 0.267, 0.0, 4.4),
    (630, 0.259, 0.3, 3.0), (800, 0.253, 0.5, 2.2), (1000, 0.250, 0.0, 2.4),
    (1250, 0.246, -2.7, 3.5), (1600, 0.244, -4.1, 1.7), (2000, 0.243, -1.0, -1.3),
    (2500, 0.243, 1.7, -4.2), (3150, 0.243, 2.5, -6.0), (4000, 0.242, 1.2, -5.4),
    (5000, 0.242, -2.1, -1.5), (6300, 0.245, -7.1, 6.0), (8000, 0.254, -11.2, 12.6),
    (10000, 0.271, -10.7, 13.9), (12500, 0.301, -3.1, 12.3),
)


def _spl(phon: float, af: float, lu: float, tf: float) -> float:
    """Sound pressure level (dB) of ``phon`` loudness at one ISO 226 frequency."""
    return 10 / af * math.log10(4.47e-3 * (10.0 ** (0.025 * phon) - 1.15) + (0.4 * 10.0 ** ((tf + lu) / 10 - 9)) ** af) - lu + 94


def _natural_spline(x: list[float], y: list[float]) -> list[float]:
    """Second derivatives of the natural cubic spline through ``(x, y)``."""
    n = len(x)
    y2 = [0.0] * n
    u = [0.0] * n
    for i in range(1, n - 1):
        sig = (x[i] - x[i - 1]) / (x[i + 1] - x[i - 1])
        p = sig * y2[i - 1] + 2
        y2[i] = (sig - 1) / p
        u[i] = (y[i + 1] - y[i]) / (x[i + 1] - x[i]) - (y[i] - y[i - 1]) / (x[i] - x[i - 1])
        u[i] = (6 * u[i] / (x[i + 1] - x[i - 1]) - sig * u[i - 1]) / p
    y2[n - 1] = 0.0
    for i in range(n - 2, -1, -1):
        y2[i] = y2[i] * y2[i + 1] + u[i]
    return y2


def _spline_eval(x: np.ndarray, y: np.ndarray, y2: np.ndarray, t: np.ndarray) -> np.ndarray:
    # SoX's bisection keeps x[lo] <= t < x[hi] (ties go up): emulate with side="right"
    hi = np.clip(np.searchsorted(x, t, side="right"), 1, len(x) - 1)
    lo = hi - 1
    d = x[hi] - x[lo]
    a = (x[hi] - t) / d
    b = (t - x[lo]) / d
    return a * y[lo] + b * y[hi] + ((a**3 - a) * y2[lo] + (b**3 - b) * y2[hi]) * d * d / 6


@register("loudness")
class Loudness(FirEffect):
    usage_text = "[gain [ref]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.delta, self.start, n = -10.0, 65.0, 1023
        if rest:
            self.delta = numeric(name, rest.pop(0), "delta", -50, 15)
        if rest:
            self.start = numeric(name, rest.pop(0), "start", 50, 75)
        if rest:
            n = int(numeric(name, rest.pop(0), "n", 127, 2047))
        if rest:
            raise self.usage(rest[0])
        self.n = 2 * n + 1
        self.post_peak = self.n >> 1

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.delta == 0:
            return st
        return super().apply(st, ctx)

    def taps(self, rate: float) -> torch.Tensor:
        from kaldibridge.sox.rate import bessel_i0, kaiser_beta

        fs = [math.log(1.0)]
        spl = [self.delta * 0.2]
        for f, af, lu, tf in _ISO226:
            spl.append(_spl(self.start + self.delta, af, lu, tf) - _spl(self.start, af, lu, tf))
            fs.append(math.log(f))
        fs.append(math.log(100000.0))
        spl.append(spl[0])
        y2 = np.asarray(_natural_spline(fs, spl))
        work_len = 8192
        while work_len < rate / 2:
            work_len <<= 1
        freqs = rate * np.arange(work_len // 2 + 1) / work_len
        with np.errstate(divide="ignore"):
            logf = np.log(np.maximum(freqs, 1e-300))
        level = np.where(freqs < 1, spl[0], _spline_eval(np.asarray(fs), np.asarray(spl), y2, logf))
        mag = np.exp(level * math.log(10.0) * 0.05)
        work = np.fft.irfft(mag, work_len)
        n = self.n
        h = work[(work_len - n // 2 + np.arange(n)) % work_len]
        beta = kaiser_beta(40 + 2.0 / 3 * abs(self.delta), 0.1)
        m = n - 1
        xk = 2.0 * np.arange(n) / m - 1
        i0b = bessel_i0(beta)
        win = np.array([bessel_i0(beta * math.sqrt(max(0.0, 1 - v * v))) for v in xk]) / i0b
        return torch.from_numpy(h * win)
