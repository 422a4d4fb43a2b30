"""Modulated-delay effects with torchaudio's names and SoX's arithmetic: phaser, flanger.

Both effects read their own past through a delay that an LFO sweeps, so each output
sample can depend on the one just before it. Neither is computed as a per-sample loop:

- ``phaser`` is ``y[i] = u[i] + decay * y[i - k(i)]`` with one delayed term, so every
  sample's dependencies form a chain ``i -> i - k(i) -> ...``. The chains are summed by
  pointer doubling: after step ``t`` each sample holds the sum over the first ``2**t``
  links of its chain, so ``log2(block)`` gather-and-add passes over the batch give the
  result, block after block of 32768 samples (links leaving a block end on final values).
- ``flanger`` without feedback is a gather of the input at the modulated delay. With
  feedback its delay line is a linear recursion with two or three taps whose shortest lag
  is ``1 + floor(delay)``; the signal is cut into the longest blocks whose taps all lie
  before the block (one sample where the LFO delay is zero, up to the whole delay line
  at its peak), and each block is one vectorized step over the batch. Eager CPU calls
  that need no gradient run the same delay line as a compiled per-sample loop instead when
  the optional ``numba`` is installed (:mod:`kaldibridge._jit`; about 100x faster than the
  blocks at 16 kHz with the default 0..2 ms sweep, where most blocks are a few samples).

The LFO tables, delays and block boundaries depend only on the parameters and the signal
length, so both functions trace under ``torch.compile(fullgraph=True)``. Everything is
computed in float64 and returned in the input's dtype.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from kaldibridge._jit import jit_kernel
from kaldibridge.errors import OptionError
from kaldibridge.functional._compile import constant_result, is_compiling as _is_compiling
from kaldibridge.functional.effects import _check_float

__all__ = ["phaser", "flanger", "wave_table"]

# Below this weight the remaining links of a phaser chain cannot change a float64 sum of
# signals in [-1, 1] (they are over 1e5 times smaller than its rounding step).
_NEGLIGIBLE = 1e-24
_PHASER_BLOCK = 1 << 15  # samples per pointer-doubling block


def wave_table(
    kind: Literal["sine", "triangle"],
    size: int,
    low: float,
    high: float,
    phase: float,
    as_int: bool,
    device: torch.device | None = None,
) -> Tensor:
    """One period of SoX's LFO (``lsx_generate_wave_table``).

    Args:
        kind: ``"sine"`` or ``"triangle"``.
        size: samples per period.
        low: minimum value.
        high: maximum value.
        phase: starting phase in radians.
        as_int: round half away from zero to integers (int64) instead of rounding to
            float32 (returned as float64 holding float32 values).
        device: where the table is made.

    Returns:
        ``(size,)`` tensor.
    """
    offset = int(phase / math.pi / 2 * size + 0.5)
    point = (torch.arange(size, dtype=torch.int64, device=device) + offset) % size
    pf = point.to(torch.float64)
    if kind == "sine":
        d = (torch.sin(pf / size * 2 * math.pi) + 1) / 2
    else:
        d = pf * 2 / size
        quarter = torch.div(4 * point, size, rounding_mode="floor")
        d = torch.where(quarter == 0, d + 0.5, torch.where(quarter == 3, d - 1.5, 1.5 - d))
    d = d * (high - low) + low
    if as_int:
        return torch.trunc(d + torch.where(d < 0, -0.5, 0.5)).to(torch.int64)
    return d.to(torch.float32).to(torch.float64)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise OptionError(f"{name} must be between {low:g} and {high:g}, got {value!r}")


def phaser(
    waveform: Tensor,
    sample_rate: int,
    gain_in: float = 0.4,
    gain_out: float = 0.74,
    delay_ms: float = 3.0,
    decay: float = 0.4,
    mod_speed: float = 0.5,
    sinusoidal: bool = True,
) -> Tensor:
    """Phasing effect (SoX ``phaser gain-in gain-out delay decay speed [-s|-t]``).

    With ``D = round(delay_ms * sample_rate / 1000)`` and an LFO ``m(i)`` sweeping the
    integers ``1 .. D`` once every ``1 / mod_speed`` seconds (sine or triangle)::

        v[i] = gain_in * x[i] + decay * v[i - (D + 1 - m(i))]     (v = 0 before the start)
        y[i] = clamp(gain_out * v[i], -1, 1)

    Every leading dimension is an independent signal. Differentiable in ``waveform``.

    Args:
        waveform: ``(..., time)`` float tensor.
        sample_rate: Hz.
        gain_in: input gain, in [0, 1].
        gain_out: output gain, in [0, 1e9].
        delay_ms: longest delay in milliseconds, in (0, 5]; at least one sample.
        decay: feedback gain, in [0, 0.99].
        mod_speed: LFO rate in Hz, in [0.1, 2].
        sinusoidal: sine LFO (``-s``), else triangle (``-t``).

    Returns:
        ``(..., time)`` tensor with ``waveform``'s dtype (computed in float64).

    Raises:
        OptionError: a parameter out of SoX's range, a delay shorter than one sample or an
            integer waveform.

    Differences:
        torchaudio runs a Python loop per sample; the result here is the same recursion
        summed in a different order (equal to float64 rounding).
    """
    _check_float(waveform, "phaser")
    _check_range("gain_in", gain_in, 0.0, 1.0)
    _check_range("gain_out", gain_out, 0.0, 1e9)
    _check_range("delay_ms", delay_ms, 0.0, 5.0)
    _check_range("decay", decay, 0.0, 0.99)
    _check_range("mod_speed", mod_speed, 0.1, 2.0)
    delay_len = int(delay_ms * 0.001 * sample_rate + 0.5)
    if delay_len < 1:
        raise OptionError(f"phaser: delay_ms={delay_ms} is shorter than one sample at {sample_rate} Hz")
    mod_len = int(sample_rate / mod_speed + 0.5)
    n = waveform.shape[-1]
    device = waveform.device
    mod = wave_table("sine" if sinusoidal else "triangle", mod_len, 1.0, float(delay_len), math.pi / 2, True, device)
    t = torch.arange(n, device=device)
    parents = t - (delay_len + 1 - mod[t % mod_len])  # i - lag(i), lag in [1, delay_len]
    u = waveform.to(torch.float64) * gain_in
    # Blocks of time keep the working set small; a block's links that leave it land on
    # final values of the previous ``delay_len`` samples (zeros before the start).
    tail = u.new_zeros(*u.shape[:-1], delay_len)
    pieces = []
    for s in range(0, n, _PHASER_BLOCK):
        e = min(s + _PHASER_BLOCK, n)
        par = parents[s:e]
        inside = par >= s
        outside = tail[..., (par - (s - delay_len)).clamp(0, delay_len - 1)]
        acc = u[..., s:e] + torch.where(inside, torch.zeros((), dtype=u.dtype, device=device), decay * outside)
        # Node j + 1 is sample s + j; node 0 is a zero that is its own parent.
        link = torch.cat([torch.zeros(1, dtype=torch.int64, device=device), torch.where(inside, par - s + 1, 0)])
        acc = torch.nn.functional.pad(acc, (1, 0))
        weight = float(decay)
        length = 1  # links summed so far
        while length < e - s and weight >= _NEGLIGIBLE:
            acc = acc + weight * acc[..., link]
            link = link[link]
            weight *= weight
            length *= 2
        block = acc[..., 1:]
        pieces.append(block)
        tail = torch.cat([tail, block], dim=-1)[..., -delay_len:]
    v = torch.cat(pieces, dim=-1) if pieces else u
    return (v * gain_out).clamp(-1.0, 1.0).to(waveform.dtype)


_BLOCK_CACHE: dict[tuple[object, ...], tuple[int, ...]] = {}


@constant_result
def _block_ends(
    sample_rate: int, low: float, high: float, lfo_len: int, sine: bool, offset: int, n: int
) -> tuple[int, ...]:
    """Greedy partition of ``range(n)`` into blocks ``[s, t)`` in which every sample's
    newest tap, ``i - floor(lfo(i))``, is at most ``s``.

    Only Python numbers go in and out, so ``torch.compile`` runs this once at trace time
    and the block boundaries are constants of the graph. The LFO table is rebuilt here from
    those numbers; a lag one lower than the table's (possible only within 1e-6 of an
    integer) is assumed, which can only shorten a block.
    """
    key = (sample_rate, low, high, lfo_len, sine, offset, n)
    if key in _BLOCK_CACHE:
        return _BLOCK_CACHE[key]
    table = wave_table("sine" if sine else "triangle", lfo_len, low, high, 3 * math.pi / 2, False).numpy()
    lag = np.maximum(np.floor(table - 1e-6), 0).astype(np.int64)[(np.arange(n) + offset) % lfo_len]
    newest = np.arange(n) - lag
    span = int(lag.max(initial=0)) + 1
    ends = []
    s = 0
    while s < n:
        window = newest[s + 1 : s + span + 1] > s
        t = s + 1 + (int(window.argmax()) if window.any() else window.shape[0])
        ends.append(t)
        s = t
    if len(_BLOCK_CACHE) >= 32:
        _BLOCK_CACHE.clear()
    _BLOCK_CACHE[key] = tuple(ends)
    return _BLOCK_CACHE[key]


def flanger(
    waveform: Tensor,
    sample_rate: int,
    delay: float = 0.0,
    depth: float = 2.0,
    regen: float = 0.0,
    width: float = 71.0,
    speed: float = 0.5,
    phase: float = 25.0,
    modulation: Literal["sinusoidal", "triangular"] = "sinusoidal",
    interpolation: Literal["linear", "quadratic"] = "linear",
) -> Tensor:
    """Flanging effect (SoX ``flanger delay depth regen width speed shape phase interp``).

    Each channel reads a delay line at ``delay .. delay + depth`` milliseconds, swept by an
    LFO whose phase is offset by ``phase`` percent of a period per channel; the delay line
    holds the input plus ``regen`` percent of the previous delayed sample::

        w[i] = x[i] + r * e[i - 1]            e[i] = interpolate(w, i - lfo(i))
        y[i] = clamp(x[i] / (1 + g) + e[i] * g / (1 + g) * (1 - |r|), -1, 1)

    with ``r = regen / 100`` and ``g = width / 100``. Channels are independent apart from
    the LFO phase; every other leading dimension is a batch.

    Args:
        waveform: ``(..., channel, time)`` float tensor with at most 4 channels, or
            ``(time,)`` for one channel.
        sample_rate: Hz.
        delay: base delay in ms, in [0, 30].
        depth: sweep depth in ms, in [0, 10].
        regen: feedback in percent, in [-95, 95].
        width: delayed-signal mix in percent, in [0, 100].
        speed: LFO rate in Hz, in [0.1, 10].
        phase: LFO phase offset between channels in percent, in [0, 100].
        modulation: LFO shape.
        interpolation: fractional-delay interpolation.

    Returns:
        Tensor of ``waveform``'s shape and dtype (computed in float64). Differentiable in
        ``waveform``.

    Raises:
        OptionError: a parameter out of SoX's range, an unknown shape, more than 4
            channels or an integer waveform.

    Differences:
        torchaudio requires the channel dimension; a 1-D input is accepted here as one
        channel.
    """
    _check_float(waveform, "flanger")
    if modulation not in ("sinusoidal", "triangular"):
        raise OptionError(f"flanger: modulation must be 'sinusoidal' or 'triangular', got {modulation!r}")
    if interpolation not in ("linear", "quadratic"):
        raise OptionError(f"flanger: interpolation must be 'linear' or 'quadratic', got {interpolation!r}")
    _check_range("delay", delay, 0.0, 30.0)
    _check_range("depth", depth, 0.0, 10.0)
    _check_range("regen", regen, -95.0, 95.0)
    _check_range("width", width, 0.0, 100.0)
    _check_range("speed", speed, 0.1, 10.0)
    _check_range("phase", phase, 0.0, 100.0)
    mono = waveform.ndim == 1
    x = waveform.unsqueeze(0) if mono else waveform
    channels, n = x.shape[-2], x.shape[-1]
    if channels > 4:
        raise OptionError(f"flanger: at most 4 channels (dim -2), got {channels}")
    feedback = regen / 100
    mix = width / 100
    in_gain = 1 / (1 + mix)
    delay_gain = mix / (1 + mix) * (1 - abs(feedback))
    buf_len = int((delay / 1000 + depth / 1000) * sample_rate + 0.5) + 2
    lfo_len = int(sample_rate / speed)
    low, high = float(math.floor(delay / 1000 * sample_rate + 0.5)), buf_len - 2.0
    sine = modulation == "sinusoidal"
    table = wave_table("sine" if sine else "triangle", lfo_len, low, high, 3 * math.pi / 2, False)
    # Per channel: integer lag, fractional part, and the taps' weights at lags k, k+1(, k+2).
    t = torch.arange(n)
    offsets = [int(c * lfo_len * (phase / 100) + 0.5) for c in range(channels)]
    lfo = torch.stack([table[(t + off) % lfo_len] for off in offsets])  # (channels, n)
    lag0 = torch.floor(lfo)
    frac = lfo - lag0
    x64 = x.to(torch.float64)
    if feedback != 0.0 and _use_kernel(x64):
        delayed = _flanger_feedback_compiled(x64, lag0, frac, 2 if interpolation == "linear" else 3, feedback)
    else:
        # the array paths: per tap, its weight and its index into the zero-padded signal
        if interpolation == "linear":
            weights = [1 - frac, frac]
        else:
            weights = [1 - 1.5 * frac + 0.5 * frac * frac, 2 * frac - frac * frac, 0.5 * frac * frac - 0.5 * frac]
        pad = buf_len + 1  # zeros before the start cover the longest lag (buf_len - 2 + 2)
        device = x.device
        tap_w = [w.to(device) for w in weights]
        tap_idx = [(t - lag0.to(torch.int64) - j + pad).to(device) for j in range(len(weights))]
        if feedback == 0.0:
            xp = torch.nn.functional.pad(x64, (pad, 0))
            delayed = sum(torch.gather(xp, -1, idx.expand(*x.shape[:-1], n)) * w for idx, w in zip(tap_idx, tap_w))
        else:
            delayed = torch.stack(
                [
                    _flanger_feedback(
                        x64[..., c, :], tap_idx, tap_w, c,
                        _block_ends(sample_rate, low, high, lfo_len, sine, offsets[c], n), pad, feedback,
                    )
                    for c in range(channels)
                ],
                dim=-2,
            )
    y = (x64 * in_gain + delayed * delay_gain).clamp(-1.0, 1.0).to(waveform.dtype)
    return y.squeeze(0) if mono else y


def _use_kernel(x: Tensor) -> bool:
    """The compiled loop serves eager CPU calls that need no gradient, when numba is there."""
    if x.device.type != "cpu" or (torch.is_grad_enabled() and x.requires_grad) or _is_compiling():
        return False
    return _flanger_kernel.compiled() is not None


@jit_kernel
def _flanger_kernel(x, lag, frac, taps, feedback, out):  # type: ignore[no-untyped-def]  # pragma: no cover - numba
    """Per-sample delay line of the flanger with feedback, for numba.

    ``x`` (rows, n) float64, ``lag``/``frac`` (n,) the LFO's integer and fractional delay,
    ``taps`` 2 (linear) or 3 (quadratic); writes the delayed signal into ``out``.
    """
    rows, n = x.shape
    w = np.zeros(n)
    for r in range(rows):
        last = 0.0
        for i in range(n):
            w[i] = x[r, i] + feedback * last
            f = frac[i]
            if taps == 2:
                c0, c1, c2 = 1.0 - f, f, 0.0
            else:
                c0 = 1.0 - 1.5 * f + 0.5 * f * f
                c1 = 2.0 * f - f * f
                c2 = 0.5 * f * f - 0.5 * f
            src = i - lag[i]
            acc = 0.0
            if src >= 0:
                acc += w[src] * c0
            if src - 1 >= 0:
                acc += w[src - 1] * c1
            if taps == 3 and src - 2 >= 0:
                acc += w[src - 2] * c2
            out[r, i] = acc
            last = acc


def _flanger_feedback_compiled(x: Tensor, lag: Tensor, frac: Tensor, taps: int, feedback: float) -> Tensor:
    """The delayed signal of every channel with :func:`_flanger_kernel` (CPU, no gradient).

    ``lag``/``frac``: ``(channels, n)`` integer (as float) and fractional LFO delays.
    """
    channels, n = x.shape[-2], x.shape[-1]
    rows = x.reshape(math.prod(x.shape[:-2]), channels, n).numpy()
    out = np.empty_like(rows)
    lags = lag.to(torch.int64).numpy()
    fracs = frac.numpy()
    kernel = _flanger_kernel.compiled()
    for c in range(channels):
        block = np.empty((rows.shape[0], n))
        kernel(np.ascontiguousarray(rows[:, c]), lags[c], fracs[c], taps, feedback, block)
        out[:, c] = block
    return torch.from_numpy(out).reshape(x.shape)


def _flanger_feedback(
    x: Tensor, tap_idx: list[Tensor], tap_w: list[Tensor], channel: int, ends: tuple[int, ...], pad: int, feedback: float
) -> Tensor:
    """The delayed signal ``e`` of one channel with feedback, block by block.

    ``w`` (the delay-line input, ``pad`` zeros first) and ``e`` are filled in place; a block
    ``[s, t)`` of ``e`` reads ``w`` only up to index ``s``, which is already final.
    """
    n = x.shape[-1]
    lead = x.shape[:-1]
    w = torch.zeros(*lead, pad + n + 1, dtype=x.dtype, device=x.device)
    e = torch.zeros(*lead, n, dtype=x.dtype, device=x.device)
    xs = torch.nn.functional.pad(x, (0, 1))  # x[n] = 0 for the write after the last block
    w[..., pad] = xs[..., 0]
    s = 0
    for t in ends:
        block = sum(w[..., idx[channel, s:t]] * wt[channel, s:t] for idx, wt in zip(tap_idx, tap_w))
        e[..., s:t] = block
        w[..., pad + s + 1 : pad + t + 1] = xs[..., s + 1 : t + 1] + feedback * block
        s = t
    return e
