"""SoX's ``tempo`` (WSOLA time stretching) and ``pitch`` (tempo, then a rate change).

Segments of ``segment`` frames are taken every ``factor * (segment - overlap)`` input
frames; each new segment is shifted within ``search`` frames to where its start best
matches (least squares, all channels) the tail of the previous one, then cross-faded over
``overlap`` frames, exactly as SoX's ``tempo.c`` does. The search for all candidate
shifts of a segment is one vectorized distance computation; the loop is over segments.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kaldibridge.sox._args import EffectUsageError, numeric, parse_double
from kaldibridge.sox._chain import Context, Effect, Stream, register

_PROFILES = {  # segment ms, segment power, overlap divisor, search divisor
    "default": (82.0, 0.0, 6.833, 5.587),
    "music": (82.0, 1.0, 7.0, 6.0),
    "speech": (35.0, 0.33, 2.5, 2.14),
    "linear": (20.0, 1.0, 2.0, 2.0),
}


def _best_offset(win: torch.Tensor, ref: torch.Tensor, search: int, quick: bool) -> int:
    """Index in ``[0, search)`` minimising ``sum((win[i:i+ov] - ref)**2)`` (first minimum).

    ``win``: (channels, >= search + overlap) float64; ``ref``: (channels, overlap).
    """
    ov = ref.shape[-1]
    if search <= 1:
        return 0
    w = win[:, : search - 1 + ov].cpu().numpy()
    r = ref.cpu().numpy()
    cands = np.lib.stride_tricks.sliding_window_view(w, ov, axis=-1)  # (channels, search, ov)
    diffs = ((cands - r[:, None, :]) ** 2).sum(axis=(0, 2)).astype(np.float32)
    if not quick:
        return int(np.argmin(diffs))  # first index of the minimum
    d = diffs.tolist()
    prev = best = (search + 1) >> 1
    least = d[best] if best < search else math.inf
    step = 64
    while step:
        for k in (-1, 1):
            j = 1
            while j < 4 or step == 64:
                i = prev + k * j * step
                if i < 0 or i >= search:
                    break
                if d[i] < least:
                    least, best = d[i], i
                j += 1
        prev = best
        step >>= 2
    return best


def wsola(x: torch.Tensor, rate: float, factor: float, segment_ms: float, search_ms: float, overlap_ms: float, quick: bool = False) -> torch.Tensor:
    """Time-stretch ``(channels, time)`` by ``1 / factor`` frames, SoX's tempo algorithm.

    Returns:
        ``(channels, round(time / factor))`` float64.
    """
    c, n = x.shape
    segment = int(rate * segment_ms / 1000 + 0.5)
    search = int(rate * search_ms / 1000 + 0.5)
    overlap = int(max(rate * overlap_ms / 1000 + 4.5, 16))
    overlap &= ~7
    if overlap * 2 > segment:
        overlap -= 8
    max_skip = math.ceil(factor * (segment - overlap))
    process_size = max(max_skip + overlap, segment) + search
    n_out = int(n / factor + 0.5)
    per_seg = segment - overlap
    n_seg = -(-n_out // per_seg) if n_out else 0
    starts = [int(factor * (k * per_seg) + 0.5) for k in range(n_seg + 1)]
    need = (starts[n_seg - 1] if n_seg else 0) + process_size
    stream = torch.nn.functional.pad(x, (search // 2, 0))
    stream = torch.nn.functional.pad(stream, (0, max(0, need - stream.shape[-1])))
    fade_step = np.float32(1.0) / np.float32(overlap)
    fade_in = torch.from_numpy((fade_step * np.arange(overlap, dtype=np.float32)).astype(np.float64)).to(x.device)
    fade_out = torch.from_numpy((np.float32(1.0) - fade_step * np.arange(overlap, dtype=np.float32)).astype(np.float64)).to(x.device)
    pieces = []
    tail = None
    for k in range(n_seg):
        p = starts[k]
        if k == 0:
            off = search // 2
            pieces.append(stream[:, p + off : p + off + overlap])
        else:
            off = _best_offset(stream[:, p:], tail, search, quick)
            pieces.append(tail * fade_out + stream[:, p + off : p + off + overlap] * fade_in)
        pieces.append(stream[:, p + off + overlap : p + off + segment - overlap])
        tail = stream[:, p + off + segment - overlap : p + off + segment]
    y = torch.cat(pieces, dim=-1) if pieces else x[:, :0]
    return y[:, :n_out]


@register("tempo", "pitch")
class Tempo(Effect):
    usage_text = "[-q] [-m | -s | -l] factor [segment-ms [search-ms [overlap-ms]]]"

    def __init__(self, name: str, args: list[str]) -> None:
        super().__init__(name, args)
        rest = list(args)
        if name == "pitch":
            self.usage_text = "[-q] shift-in-cents [segment-ms [search-ms [overlap-ms]]]"
            pos = 1 if rest and rest[0] == "-q" else 0
            cents = parse_double(rest[pos]) if len(rest) > pos else None
            if cents is None:
                raise self.usage(rest[pos] if len(rest) > pos else None)
            d = 2.0 ** (cents / 1200)
            rest[pos] = "%g" % (1 / d)
        self.quick = False
        profile = "default"
        search_ms: float | None = None
        while rest and rest[0].startswith("-") and len(rest[0]) > 1 and not rest[0][1].isdigit() and rest[0][1] != ".":
            for ch in rest.pop(0)[1:]:
                if ch == "q":
                    self.quick = True
                elif ch == "m":
                    profile = "music"
                elif ch == "s":
                    profile = "speech"
                elif ch == "l":
                    profile = "linear"
                    search_ms = 0.0
                else:
                    raise EffectUsageError(name, f"unknown option `-{ch}'")
        if not rest:
            raise self.usage()
        self.factor = numeric(name, rest.pop(0), "factor", 0.1, 100)
        seg = ov = None
        if rest:
            seg = numeric(name, rest.pop(0), "segment_ms", 10, 120)
        if rest:
            search_ms = numeric(name, rest.pop(0), "search_ms", 0, 30)
        if rest:
            ov = numeric(name, rest.pop(0), "overlap_ms", 0, 30)
        if rest:
            raise self.usage(rest[0])
        seg_ms, seg_pow, ov_div, search_div = _PROFILES[profile]
        if seg is None:
            seg = max(10.0, seg_ms / max(self.factor**seg_pow, 1))
        if ov is None:
            ov = seg / ov_div
        if search_ms is None:
            search_ms = seg / search_div
        self.segment_ms, self.search_ms, self.overlap_ms = seg, search_ms, min(ov, seg / 2)

    def apply(self, st: Stream, ctx: Context) -> Stream:
        if self.factor == 1:
            return st
        x32 = st.x.to(torch.float32).to(torch.float64)
        outs = [wsola(x32[b], st.rate, self.factor, self.segment_ms, self.search_ms, self.overlap_ms, self.quick) for b in range(x32.shape[0])]
        y = torch.stack(outs)
        rate = st.rate / self.factor if self.name == "pitch" else st.rate
        return Stream(y, rate, int(y.shape[1] * y.shape[2]), st.precision)
