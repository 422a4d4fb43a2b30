"""Sample-arithmetic and sample-moving effects: gain, vol, norm, dcshift, fade, pad, trim,
reverse, repeat, delay, remix, channels, swap, oops, tremolo, contrast, speed, upsample,
downsample. Each follows the SoX source of the same name (``src/<effect>.c``)."""

from __future__ import annotations

import math

import torch

from kaldibridge.sox._args import (
    EffectRefusedError,
    EffectUsageError,
    c_double_prefix,
    check_position_syntax,
    db_to_linear,
    numeric,
    parse_double,
    parse_position,
    parse_samples,
)
from kaldibridge.sox._chain import Context, Effect, Stream, register

_SCALE = 2.0**31
_MAX = _SCALE - 1


# ----------------------------------------------------------------------------- gain / norm
@register("gain")
class Gain(Effect):
    usage_text = "[-e|-b|-B|-r] [-n] [-l|-h] [gain-dB]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.normalise = self.equalise = self.balance = self.balance_no_clip = False
        self.restore = self.headroom = self.limiter = False
        rest = list(args)
        while rest and rest[0].startswith("-") and len(rest[0]) > 1 and not rest[0][1].isdigit() and rest[0][1] != ".":
            for ch in rest[0][1:]:
                if ch == "n":
                    self.normalise = True
                elif ch == "e":
                    self.equalise = True
                elif ch == "B":
                    self.balance = True
                elif ch == "b":
                    self.balance_no_clip = True
                elif ch == "r":
                    self.restore = True
                elif ch == "h":
                    self.headroom = True
                elif ch == "l":
                    self.limiter = True
                else:
                    raise self.usage(rest[0])
            rest.pop(0)
        if self.equalise + self.balance + self.balance_no_clip + self.restore > 1:
            raise EffectUsageError(name, "only one of -e, -B, -b, -r may be given")
        if self.normalise and self.restore:
            raise EffectUsageError(name, "only one of -n, -r may be given")
        if self.limiter and self.headroom:
            raise EffectUsageError(name, "only one of -l, -h may be given")
        db = 0.0
        if rest:
            db = numeric(name, rest.pop(0), "fixed_gain", -math.inf, math.inf)
        if rest:
            raise self.usage(rest[0])
        self.fixed = db_to_linear(db)
        self.scan = self.normalise or self.equalise or self.balance or self.balance_no_clip or self.restore

    def _limit(self, d: torch.Tensor) -> torch.Tensor:
        lim = (1 - 1 / self.fixed) * (1.0 / _MAX)
        safe = torch.where(d == 0, torch.ones_like(d), d)
        pos = 1 / (1 / safe + lim)
        neg = 1 / (1 / safe - lim)
        return torch.where(d > 0, pos, torch.where(d < 0, neg, torch.zeros_like(d)))

    def apply(self, st: Stream, ctx: Context) -> Stream:
        xi = st.x * _SCALE  # exact int32 values
        if self.restore:
            raise EffectRefusedError(self.name, "can't reclaim headroom")
        if not self.scan:
            mult = torch.full_like(xi[:, :, :1], self.fixed)
        elif self.balance or self.balance_no_clip:
            rms = (st.x**2).mean(dim=2, keepdim=True).sqrt()
            max_rms = rms.amax(dim=1, keepdim=True)
            hi = xi.amax(dim=2, keepdim=True).clamp(min=1)
            lo = xi.amin(dim=2, keepdim=True).clamp(max=-1)
            peak = torch.maximum(hi / _MAX, lo / -_SCALE)
            mult = torch.where(rms != 0, max_rms / torch.where(rms != 0, rms, torch.ones_like(rms)), torch.ones_like(rms))
            max_peak = (mult * peak).amax(dim=1, keepdim=True)
            mult = mult * self.fixed
            if self.normalise:
                mult = mult / max_peak
            elif self.balance_no_clip:
                mult = torch.where(max_peak > 1, mult / max_peak, mult)
        elif self.equalise and not self.normalise:
            hi = xi.amax(dim=2, keepdim=True).clamp(min=1)
            lo = xi.amin(dim=2, keepdim=True).clamp(max=-1)
            peak = torch.maximum(hi / _MAX, lo / -_SCALE)
            mult = self.fixed / peak * peak.amax(dim=1, keepdim=True)
        else:
            # one gain for all channels, except with -e (SoX then runs one instance per
            # channel, so `-e -n` normalises each channel on its own)
            dims = (2,) if self.equalise else (1, 2)
            hi = xi.amax(dim=dims, keepdim=True).clamp(min=1)
            lo = xi.amin(dim=dims, keepdim=True).clamp(max=-1)
            mult = torch.minimum(_MAX / hi, -_SCALE / lo) * self.fixed
        d = xi * mult
        if self.limiter:
            d = self._limit(d)
        return st.replace(d / _SCALE)


@register("norm")
class Norm(Gain):
    usage_text = "[level]"

    def __init__(self, name: str, args: list[str]) -> None:
        if len(args) > 1:
            self.name = name
            raise self.usage(args[1])
        super().__init__(name, ["-n", *args])
        self.name = name


# ----------------------------------------------------------------------------- vol
@register("vol")
class Vol(Effect):
    usage_text = "GAIN [TYPE [LIMITERGAIN]]\n\t(default TYPE=amplitude: 1 is constant, < 0 change phase;\n\tTYPE=power 1 is constant; TYPE=dB: 0 is constant, +6 doubles ampl.)"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        if not rest:
            raise self.usage()
        first = rest.pop(0)
        got = c_double_prefix(first)
        if got is None:
            raise self.usage(first)
        gain, tail = got
        type_txt = tail.strip()
        if type_txt and " " in type_txt:
            raise self.usage(first)
        have_type = bool(type_txt)
        if not have_type and rest:
            type_txt = rest.pop(0)
            have_type = True
        if have_type:
            kinds = [k for k in ("amplitude", "dB", "power") if k.lower().startswith(type_txt.lower())]
            if not type_txt or not kinds:
                raise self.usage(type_txt)
            kind = kinds[0]
            if kind == "dB":
                gain = db_to_linear(gain)
            elif kind == "power":
                gain = math.sqrt(gain) if gain > 0 else -math.sqrt(-gain)
        self.gain = gain
        self.limiter_gain: float | None = None
        if rest:
            lg = parse_double(rest[0])
            if abs(gain) < 1 or lg is None or lg <= 0 or lg >= 1:
                raise self.usage(rest[0])
            self.limiter_gain = lg
            self.threshold = _MAX * (1.0 - lg) / (abs(gain) - lg)
            rest.pop(0)
        if rest:
            raise self.usage(rest[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.gain == 1:
            return st
        xi = st.x * _SCALE
        if self.limiter_gain is None:
            y = torch.trunc(self.gain * xi)
        else:
            lg, thr = self.limiter_gain, self.threshold
            up = xi > thr
            down = xi < -thr
            y = torch.where(up, _MAX - lg * (_MAX - xi), torch.where(down, -(_MAX - lg * (_MAX + xi)), self.gain * xi))
            y = torch.where(down, y.clamp(min=-_SCALE), y)
            limited = int((up | down).sum())
            if limited:
                pct = int(limited * 100.0 / max(1, xi.numel()))
                ctx.warn(self.name, f"limited {limited} values ({pct} percent).")
            y = torch.trunc(y)
        return st.replace(y / _SCALE)


# ----------------------------------------------------------------------------- dcshift
@register("dcshift")
class DcShift(Effect):
    usage_text = "shift [ limitergain ]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if not args or len(args) > 2:
            raise self.usage()
        got = c_double_prefix(args[0])
        if got is None:
            raise self.usage(args[0])
        self.shift = got[0]
        self.limiter_gain: float | None = None
        if len(args) > 1:
            got2 = c_double_prefix(args[1])
            if got2 is None:
                raise self.usage(args[1])
            self.limiter_gain = got2[0]
            self.threshold = _MAX * (1.0 - (abs(self.shift) - self.limiter_gain))

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.shift == 0:
            return st
        xi = st.x * _SCALE
        if self.limiter_gain is None:
            return st.replace((self.shift * _SCALE + xi) / _SCALE)
        thr, lg, dc = self.threshold, self.limiter_gain, self.shift
        up = (xi > thr) & (dc > 0)
        down = (xi < -thr) & (dc < 0)
        # SoX adds the raw shift (not scaled to the sample range) on limited samples.
        y = torch.where(
            up,
            (xi - thr) * lg / (_MAX - thr) + thr + dc,
            torch.where(down, (xi + thr) * lg / (_MAX - thr) - thr + dc, dc * _MAX + xi),
        )
        limited = int((up | down).sum())
        if limited:
            ctx.warn(self.name, f"DCSHIFT limited {limited} values ({int(limited * 100.0 / max(1, xi.numel()))} percent).")
        over = (y > _MAX) | (y < -_SCALE)
        n = int(over.sum())
        if n:
            ctx.warn(self.name, f"dcshift clipped {n} samples; decrease volume?")
        return st.replace(torch.trunc(y.clamp(-_SCALE, _MAX)) / _SCALE)


# ----------------------------------------------------------------------------- fade
_FADE_TYPES = "qhltp"


def fade_gain(t: torch.Tensor, kind: str) -> torch.Tensor:
    """SoX's fade curves over ``t`` in [0, 1]."""
    t = t.clamp(0.0, 1.0)
    if kind == "t":
        return t
    if kind == "q":
        return torch.sin(t * math.pi / 2)
    if kind == "h":
        return (1 - torch.cos(t * math.pi)) / 2
    if kind == "l":
        return torch.pow(torch.full_like(t, 0.1), (1 - t) * 5)
    return 1 - (1 - t) * (1 - t)


@register("fade")
class Fade(Effect):
    usage_text = "[ type ] fade-in-length [ stop-position [ fade-out-length ] ]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        if not 1 <= len(rest) <= 4:
            raise self.usage()
        self.kind = "l"
        if rest[0][:1] in _FADE_TYPES and rest[0]:
            self.kind = rest.pop(0)[0]
        if not rest:
            raise self.usage()
        self.in_str = rest[0]
        got = parse_samples(0.0, self.in_str, "t")
        if got is None or got[1]:
            raise self.usage(self.in_str)
        self.stop_str = rest[1] if len(rest) > 1 else None
        self.out_str = rest[2] if len(rest) > 2 else None
        if self.stop_str is not None and not check_position_syntax(self.stop_str):
            raise self.usage(self.stop_str)
        if self.out_str is not None:
            got = parse_samples(0.0, self.out_str, "t")
            if got is None or got[1]:
                raise self.usage(self.out_str)

    def apply(self, st: Stream, ctx: Context) -> Stream:
        rate = st.rate
        in_len = st.known_frames()
        got = parse_samples(rate, self.in_str, "t")
        assert got is not None
        in_stop = got[0]
        do_out = self.stop_str is not None
        truncate = False
        out_stop = out_start = 0
        if do_out:
            pos = parse_position(rate, self.stop_str or "", 0, in_len, "=")
            if pos is None or pos[0] is None:
                raise EffectRefusedError(self.name, "audio length is unknown")
            out_stop = pos[0]
            truncate = out_stop != 0
            if not truncate:
                out_stop = in_len or 0
                if not out_stop:
                    raise EffectRefusedError(self.name, "cannot fade out: audio length is neither known nor given")
            if self.out_str is not None:
                g2 = parse_samples(rate, self.out_str, "t")
                assert g2 is not None
                out_start = out_stop - g2[0]
            else:
                out_start = out_stop - in_stop
        if out_start:
            if in_stop > out_start:
                in_stop -= 1
            if in_stop > out_start:
                raise EffectRefusedError(self.name, "fade-out overlaps fade-in")
        x = st.x
        n = x.shape[-1]
        if do_out:
            if out_stop > n:
                ctx.warn(self.name, "End time past end of audio. Padding with silence")
                x = torch.nn.functional.pad(x, (0, out_stop - n))
            else:
                x = x[..., :out_stop]
        m = x.shape[-1]
        idx = torch.arange(m, dtype=torch.float64, device=x.device)
        gain = torch.ones(m, dtype=torch.float64, device=x.device)
        if in_stop > 0:
            gin = fade_gain(idx / in_stop, self.kind)
            gain = torch.where(idx < in_stop, gin, gain)
        if do_out and out_stop > out_start:
            gout = fade_gain((out_stop - idx) / (out_stop - out_start), self.kind)
            gain = torch.where((idx >= in_stop) & (idx >= out_start), gout, gain)
        y = torch.trunc(x * _SCALE * gain) / _SCALE
        length = out_stop * st.channels if truncate else st.length
        if not truncate and do_out:
            length = st.length
        return st.replace(y, length=length)


# ----------------------------------------------------------------------------- pad
@register("pad")
class Pad(Effect):
    modify_only = True
    usage_text = "{length[@position]}"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self._parse(1e5, None, check_order=False)

    def _parse(self, rate: float, in_len: int | None, check_order: bool) -> list[tuple[int, int | None]]:
        pads: list[tuple[int, int | None]] = []
        last = 0
        for i, a in enumerate(self.args):
            got = parse_samples(rate, a, "t")
            if got is None:
                raise self.usage(a)
            length, rest = got
            start: int | None
            if rest == "":
                start = 0 if i == 0 else None  # None: at the end
            else:
                if rest[0] != "@":
                    raise self.usage(a)
                if in_len is None and not check_order:
                    if not check_position_syntax(rest[1:]):
                        raise self.usage(a)
                    start = 0
                else:
                    pos = parse_position(rate, rest[1:], last, in_len, "=")
                    if pos is None or pos[1] != "":
                        raise self.usage(a)
                    start = pos[0]
                    last = start or 0
            if check_order and i > 0:
                prev = pads[-1][1]
                cur = start
                if (cur if cur is not None else math.inf) <= (prev if prev is not None else math.inf):
                    raise self.usage(a)
            pads.append((length, start))
        return pads

    def apply(self, st: Stream, ctx: Context) -> Stream:
        in_len = st.known_frames()
        pads = self._parse(st.rate, in_len, check_order=True)
        if in_len is not None:
            fixed = [p for p in pads if p[1] is not None]
            if fixed and fixed[-1][1] is not None and fixed[-1][1] > in_len:
                raise EffectRefusedError(self.name, "pad position after end of audio")
        x = st.x
        n = x.shape[-1]
        pieces = []
        pos = 0
        applied = 0
        for length, start in pads:
            at = n if start is None else start
            if at > n:
                break
            pieces.append(x[..., pos:at])
            pieces.append(x.new_zeros(*x.shape[:-1], length))
            pos = at
            applied += 1
        pieces.append(x[..., pos:])
        if applied != len(pads):
            ctx.warn(self.name, f"Input audio too short; pads not applied: {len(pads) - applied}")
        y = torch.cat(pieces, dim=-1)
        length = None if st.length is None else st.length + sum(p[0] for p in pads) * st.channels
        return st.replace(y, length=length)


# ----------------------------------------------------------------------------- trim
@register("trim")
class Trim(Effect):
    modify_only = True
    usage_text = "{position}"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        for a in args:
            if not check_position_syntax(a):
                raise self.usage(a)

    def apply(self, st: Stream, ctx: Context) -> Stream:
        in_len = st.known_frames()
        positions: list[int | None] = []
        last = 0
        for i, a in enumerate(self.args):
            got = parse_position(st.rate, a, last, in_len, "+")
            if got is None:
                raise EffectRefusedError(self.name, f"Position {i + 1} is relative to end of audio, but audio length is unknown")
            positions.append(got[0])
            last = got[0] or 0
        prev = 0
        for i, p in enumerate(positions):
            if p is not None and p < prev:
                raise EffectRefusedError(self.name, f"Position {i} is behind the following position.")
            prev = p or prev
        if positions and in_len is not None:
            first, final = positions[0], positions[-1]
            if (first is not None and first > in_len) or (final is not None and final > in_len):
                which = "Start" if first is not None and first > in_len else "End"
                ctx.warn(self.name, f"{which} position is after expected end of audio.")
        if len(positions) == 1 and positions[0] == 0:
            return st
        n = st.frames
        segs = []
        for i in range(0, len(positions), 2):
            a = positions[i] or 0
            b = positions[i + 1] if i + 1 < len(positions) else n
            if b is None:
                b = n
            segs.append(st.x[..., min(a, n):min(b, n)])
        y = torch.cat(segs, dim=-1) if segs else st.x[..., :0]
        if in_len is None:
            length = None
        else:
            total = 0
            for i in range(0, len(positions) - 1, 2):
                total += min(positions[i + 1] or 0, in_len) - min(positions[i] or 0, in_len)
            if len(positions) % 2:
                total += in_len - min(positions[-1] or 0, in_len)
            length = total * st.channels
        return st.replace(y, length=length)


# ----------------------------------------------------------------------------- reverse, repeat
@register("reverse")
class Reverse(Effect):
    modify_only = True
    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if args:
            raise self.usage(args[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        return st.replace(st.x.flip(-1), length=st.length)


@register("repeat")
class Repeat(Effect):
    modify_only = True
    usage_text = "[count (1)|-]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.count = 1
        if len(args) == 1 and args[0] == "-":
            raise self.usage("- (infinite repetition is not supported on tensors)")
        if args:
            self.count = int(numeric(name, args[0], "num_repeats", 0, 2**32 - 2))
        if len(args) > 1:
            raise self.usage(args[1])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.count == 0:
            return st
        length = None if st.length is None else st.length * (self.count + 1)
        return st.replace(st.x.repeat(1, 1, self.count + 1), length=length)


# ----------------------------------------------------------------------------- delay
@register("delay")
class Delay(Effect):
    modify_only = True
    usage_text = "{position}"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        for a in args:
            if not check_position_syntax(a):
                raise self.usage(a)

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if len(self.args) > st.channels:
            raise EffectRefusedError(self.name, "too few input channels")
        in_len = st.known_frames()
        delays = []
        last = 0
        for a in self.args:
            got = parse_position(st.rate, a, last, in_len, "=")
            if got is None or got[0] is None:
                raise EffectRefusedError(self.name, "Position relative to end of audio specified, but audio length is unknown")
            delays.append(got[0])
            last = got[0]
        delays += [0] * (st.channels - len(delays))
        mx = max(delays) if delays else 0
        if mx == 0:
            return st
        chans = [torch.nn.functional.pad(st.x[:, c : c + 1], (d, mx - d)) for c, d in enumerate(delays)]
        length = None if st.length is None else st.length + mx * st.channels
        return st.replace(torch.cat(chans, dim=1), length=length)


# ----------------------------------------------------------------------------- remix & co
def _remix_apply(st: Stream, matrix: torch.Tensor) -> torch.Tensor:
    """``matrix``: (out, in) mixing weights."""
    m = matrix.to(dtype=st.x.dtype, device=st.x.device)
    return torch.einsum("oc,bct->bot", m, st.x * _SCALE) / _SCALE


_SEPS = "-vpi,"


@register("remix")
class Remix(Effect):
    usage_text = "[-m|-a] [-p] <0|in-chan[v|p|i volume]{,in-chan[v|p|i volume]}>"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        self.mode = "semi"
        self.power = False
        if rest and rest[0] == "-m":
            self.mode = "manual"
            rest.pop(0)
        if rest and rest[0] == "-a":
            self.mode = "automatic"
            rest.pop(0)
        if rest and rest[0] == "-p":
            self.power = True
            rest.pop(0)
        if not rest:
            raise EffectUsageError(name, "must specify at least one output channel")
        self.specs = rest
        self._parse(1)
        self.declared_channels = len(rest)

    def _int(self, text: str) -> tuple[int, str] | None:
        import re

        m = re.match(r"\s*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)", text)
        if not m:
            return None
        tok = m.group(1)
        val = int(tok, 16) if tok.lower().startswith("0x") else (int(tok, 8) if tok.startswith("0") and len(tok) > 1 else int(tok))
        if m.group(0).strip().startswith("-"):
            val = -val
        return val, text[m.end():]

    def _field(self, text: str, seps: str, is_float: bool, default: float) -> tuple[float, str, str]:
        """One PARSE step: returns (value, separator, rest)."""
        if text == "":
            return default, seps[-1], ""
        if text[0] in seps:
            return default, text[0], text[1:]
        got = c_double_prefix(text) if is_float else self._int(text)
        if got is None:
            raise self.usage(text)
        val, rest = got
        if rest == "":
            return val, seps[-1], ""
        if rest[0] not in seps:
            raise self.usage(text)
        return val, rest[0], rest[1:]

    def _parse(self, channels: int) -> list[list[tuple[int, float]]]:
        out = []
        self.min_in = 0
        for spec in self.specs:
            text = spec
            items: list[tuple[int, float]] = []
            mul_spec = False
            j = 0
            while text:
                chan1, sep1, text = self._field(text, _SEPS, False, 1)
                chan1 = int(chan1)
                if chan1 < 0:
                    raise self.usage(spec)
                if chan1 == 0:
                    if j or text:
                        raise self.usage(spec)
                    continue
                chan2 = chan1
                if sep1 == "-":
                    chan2f, sep1, text = self._field(text, _SEPS[1:], False, channels)
                    chan2 = int(chan2f)
                    if chan2 < 0:
                        raise self.usage(spec)
                mult = math.inf
                if sep1 != ",":
                    mult, _sep2, text = self._field(text, ",", True, 1.0 if sep1 == "v" else 0.0)
                    if sep1 != "v":
                        mult = (1 if sep1 == "p" else -1) * db_to_linear(mult)
                    mul_spec = True
                lo, hi = min(chan1, chan2), max(chan1, chan2)
                for c in range(lo, hi + 1):
                    items.append((c - 1, mult))
                    j += 1
                self.min_in = max(self.min_in, hi)
            count = len(items)
            norm = 1.0 / (math.sqrt(count) if self.power else count) if count else 1.0
            fixed = []
            for c, m in items:
                if m == math.inf:
                    m = norm if (self.mode == "automatic" or (self.mode == "semi" and not mul_spec)) else 1.0
                fixed.append((c, m))
            out.append(fixed)
        return out

    def apply(self, st: Stream, ctx: Context) -> Stream:
        specs = self._parse(st.channels)
        if st.channels < self.min_in:
            raise EffectRefusedError(self.name, "too few input channels")
        mat = torch.zeros(len(specs), st.channels, dtype=torch.float64)
        for o, items in enumerate(specs):
            for c, m in items:
                mat[o, c] += m
        return st.replace(_remix_apply(st, mat), length="auto")


@register("oops")
class Oops(Remix):
    usage_text = ""

    def __init__(self, name: str, args: list[str]) -> None:
        if args:
            self.name = name
            raise self.usage(args[0])
        super().__init__(name, ["1,2i", "1,2i"])
        self.args = []


@register("channels")
class Channels(Effect):
    usage_text = "number"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.count: int | None = None
        if len(args) == 1:
            v = parse_double(args[0])
            if v is None or v != int(v) or v <= 0:
                raise self.usage(args[0])
            self.count = int(v)
            self.declared_channels = self.count
        elif args:
            raise self.usage(args[1])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        n_out = self.count if self.count is not None else ctx.out_channels
        n_in = st.channels
        if n_in == n_out:
            return st
        mat = torch.zeros(n_out, n_in, dtype=torch.float64)
        if n_in > n_out:
            for j in range(n_out):
                per = (n_in + n_out - 1 - j) // n_out
                for i in range(per):
                    mat[j, i * n_out + j] = 1.0 / per
        else:
            for j in range(n_out):
                mat[j, j % n_in] = 1.0
        # SoX keeps the stream length (in samples) of its input here.
        return st.replace(_remix_apply(st, mat), length=st.length if getattr(self, "keep_length", False) else "auto")


@register("swap")
class Swap(Effect):
    modify_only = True
    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if args:
            raise self.usage(args[0])

    def apply(self, st: Stream, ctx: Context) -> Stream:
        c = st.channels
        if c < 2:
            return st
        order = []
        for i in range(0, c - 1, 2):
            order += [i + 1, i]
        if c % 2:
            order.append(c - 1)
        return st.replace(st.x[:, order], length=st.length)


# ----------------------------------------------------------------------------- tremolo, contrast
@register("tremolo")
class Tremolo(Effect):
    usage_text = "speed_Hz [depth_percent]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if not 1 <= len(args) <= 2:
            raise self.usage()
        speed = parse_double(args[0])
        depth = parse_double(args[1]) if len(args) > 1 else 40.0
        if speed is None or speed < 0:
            raise self.usage(args[0])
        if depth is None or depth <= 0 or depth > 100:
            raise self.usage(args[1])
        self.speed, self.depth = speed, depth

    def apply(self, st: Stream, ctx: Context) -> Stream:
        n = st.frames
        t = torch.arange(n, dtype=torch.float64, device=st.x.device)
        phase = torch.remainder(self.speed * t / st.rate + 0.25, 1.0)
        offset = 1 - self.depth / 200
        g = torch.sin(2 * math.pi * phase) * (1 - abs(offset)) + offset
        return st.replace(st.x * g, length=st.length)


@register("contrast")
class Contrast(Effect):
    usage_text = "[enhancement (75)]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        amount = 75.0
        if args:
            amount = numeric(name, args[0], "contrast", 0, 100)
        if len(args) > 1:
            raise self.usage(args[1])
        self.amount = amount / 750

    def apply(self, st: Stream, ctx: Context) -> Stream:
        d = st.x * (math.pi / 2)
        y = torch.sin(d + self.amount * torch.sin(d * 4)) * _MAX
        return st.replace(y / _SCALE, length=st.length)


# ----------------------------------------------------------------------------- rate relabels
@register("speed")
class Speed(Effect):
    modify_only = True
    usage_text = "factor[c]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        if len(args) != 1:
            raise self.usage()
        got = c_double_prefix(args[0])
        if got is None:
            raise self.usage(args[0])
        value, rest = got
        cents = False
        if rest.rstrip() == "":
            pass
        elif rest[0] == "c" and rest[1:].strip() == "":
            cents = True
        else:
            raise self.usage(args[0])
        if not cents and not value > 0:
            raise self.usage(args[0])
        self.factor = 2.0 ** (value / 1200) if cents else value

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.factor == 1:
            return st
        return Stream(st.x, st.rate * self.factor, st.length)


class _IntegerFactor(Effect):
    """``upsample`` / ``downsample``: one optional integer factor (default 2) up to ``max_factor``."""

    modify_only = True
    usage_text = "[factor (2)]"
    max_factor = 1

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        self.factor = 2
        if args:
            self.factor = int(numeric(name, args[0], "factor", 1, self.max_factor))
        if len(args) > 1:
            raise self.usage(args[1])


@register("upsample")
class Upsample(_IntegerFactor):
    max_factor = 256

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.factor == 1:
            return st
        b, c, n = st.x.shape
        y = st.x.new_zeros(b, c, n, self.factor)
        y[..., 0] = st.x
        return Stream(y.reshape(b, c, n * self.factor), st.rate * self.factor, None if st.length is None else st.length * self.factor)


@register("downsample")
class Downsample(_IntegerFactor):
    max_factor = 16384

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.factor == 1:
            return st
        y = st.x[..., :: self.factor]
        return Stream(y.contiguous(), st.rate / self.factor, int(y.shape[1] * y.shape[2]))
