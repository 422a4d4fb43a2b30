"""Band-limited resampling with a windowed-sinc filter.

Three entry points share one kernel builder (:func:`_windowed_sinc`):

* :func:`resample` -- torchaudio-compatible polyphase resampling of ``(..., time)``
  tensors (CPU or GPU).
* :func:`linear_resample` -- the rational-ratio resampler whose support, cutoff and
  output count follow the classic "ticks" construction: for output sample ``n`` at time
  ``n / new_freq``, the inputs within ``num_zeros / (2 * filter_cutoff)`` seconds
  contribute with a Hann-windowed sinc of cutoff ``filter_cutoff``. The whole signal is
  processed and flushed (the end is zero-padded).
* :func:`arbitrary_resample_matrix` -- a dense ``(num_in, num_out)`` matrix that samples an
  evenly spaced signal at arbitrary (e.g. log-spaced) time points.

Kaldi: ``LinearResample`` / ``ResampleWaveform`` / ``ArbitraryResample`` in
``src/feat/resample.cc`` (this module is core-layer and only mentions Kaldi here).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from kaldibridge.errors import OptionError

__all__ = [
    "resample",
    "linear_resample",
    "linear_resample_num_output",
    "arbitrary_resample_matrix",
]

ResamplingMethod = Literal["sinc_interp_hann", "sinc_interp_kaiser"]


def _windowed_sinc(
    t: np.ndarray | torch.Tensor,
    num_zeros: float,
    window: ResamplingMethod = "sinc_interp_hann",
    beta: float | None = None,
) -> np.ndarray | torch.Tensor:
    """Windowed sinc ``sinc(t) * w(t)`` with ``t`` in units of half-periods of the cutoff.

    ``t = 2 * cutoff * dt`` where ``dt`` is the time offset from the filter centre; the
    window reaches zero at ``|t| = num_zeros``. The Hann window is
    ``cos(pi t / (2 num_zeros))**2``; the Kaiser window is
    ``I0(beta sqrt(1 - (t/num_zeros)**2)) / I0(beta)``.

    Args:
        t: offsets, any shape, numpy (computed in float64) or torch.
        num_zeros: half-width of the window in zero crossings of the sinc.
        window: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"``.
        beta: Kaiser shape parameter (default 14.769656459379492).

    Returns:
        Values of ``sin(pi t) / (pi t) * w(t)`` (1 at ``t = 0``), zero where ``|t| >= num_zeros``.
    """
    lib = torch if isinstance(t, torch.Tensor) else np
    inside = lib.abs(t) < num_zeros
    tc = lib.clip(t, -num_zeros, num_zeros) if lib is np else t.clamp(-num_zeros, num_zeros)
    if window == "sinc_interp_hann":
        w = lib.cos(tc * (math.pi / (2.0 * num_zeros))) ** 2
    elif window == "sinc_interp_kaiser":
        b = 14.769656459379492 if beta is None else float(beta)
        arg = b * lib.sqrt(lib.clip(1.0 - (tc / num_zeros) ** 2, 0.0, None)) if lib is np else (
            b * torch.sqrt((1.0 - (tc / num_zeros) ** 2).clamp(min=0.0))
        )
        if lib is np:
            w = np.i0(arg) / np.i0(b)
        else:
            w = torch.special.i0(arg) / torch.special.i0(torch.tensor(b, dtype=arg.dtype, device=arg.device))
    else:
        raise OptionError(f"unknown resampling_method {window!r} (expected sinc_interp_hann or sinc_interp_kaiser)")
    pt = math.pi * tc
    if lib is np:
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(tc == 0, 1.0, np.sin(pt) / np.where(tc == 0, 1.0, pt))
    else:
        s = torch.where(tc == 0, torch.ones_like(pt), torch.sin(pt) / torch.where(tc == 0, torch.ones_like(pt), pt))
    return lib.where(inside, s * w, 0.0 * s)


def _check_rates(orig_freq: float, new_freq: float) -> tuple[int, int]:
    if orig_freq <= 0 or new_freq <= 0 or int(orig_freq) != orig_freq or int(new_freq) != new_freq:
        raise OptionError(
            f"resampling needs positive integer sample rates, got orig_freq={orig_freq}, new_freq={new_freq}"
        )
    return int(orig_freq), int(new_freq)


# --------------------------------------------------------------------------- linear


def linear_resample_num_output(
    num_input: int,
    orig_freq: int,
    new_freq: int,
    filter_cutoff: float,
    num_zeros: int,
    flush: bool = True,
) -> int:
    """Number of output samples of :func:`linear_resample` for ``num_input`` inputs.

    With ``flush=True`` this counts the output times ``n / new_freq`` inside
    ``[0, num_input / orig_freq)``. With ``flush=False`` (a streaming resampler that has
    not seen the end yet) the interval is shortened by the filter half-width, floored to
    whole ticks of ``1 / lcm(orig_freq, new_freq)`` seconds.

    Args:
        num_input: input samples seen so far.
        orig_freq, new_freq: integer sample rates in Hz.
        filter_cutoff: low-pass cutoff in Hz.
        num_zeros: filter half-width in zero crossings.
        flush: whether the input is complete.

    Returns:
        The number of output samples.
    """
    orig_freq, new_freq = _check_rates(orig_freq, new_freq)
    tick_freq = orig_freq * new_freq // math.gcd(orig_freq, new_freq)
    ticks = int(num_input) * (tick_freq // orig_freq)
    if not flush:
        window_width = num_zeros / (2.0 * float(np.float32(filter_cutoff)))
        ticks -= int(math.floor(window_width * tick_freq))
    if ticks <= 0:
        return 0
    per_out = tick_freq // new_freq
    last = ticks // per_out
    if last * per_out == ticks:
        last -= 1
    return last + 1


def _linear_phase_kernels(
    orig_freq: int, new_freq: int, filter_cutoff: float, num_zeros: int
) -> tuple[np.ndarray, int, int, int, np.ndarray, np.ndarray]:
    """Per-phase filter taps of :func:`linear_resample` on one common input range.

    Returns:
        ``(kernels, base, in_unit, out_unit, lo, hi)``: ``kernels`` is float32
        ``(out_unit, width)``; output ``k * out_unit + p`` is
        ``sum_m kernels[p, m] * x[k * in_unit + base + m]``, the taps of phase ``p`` lying in
        ``lo[p] <= m <= hi[p]`` (int numpy ``(out_unit,)``).
    """
    g = math.gcd(orig_freq, new_freq)
    in_unit, out_unit = orig_freq // g, new_freq // g
    cutoff = float(np.float32(filter_cutoff))
    window_width = num_zeros / (2.0 * cutoff)
    phases = np.arange(out_unit, dtype=np.float64)
    out_t = phases / new_freq
    first = np.ceil((out_t - window_width) * orig_freq).astype(np.int64)
    last = np.floor((out_t + window_width) * orig_freq).astype(np.int64)
    base = int(first.min())
    width = int((last - base).max()) + 1
    idx = base + np.arange(width, dtype=np.int64)
    dt = idx[None, :] / float(orig_freq) - out_t[:, None]
    # The reference evaluates the filter at a single-precision offset, rounds the sinc and
    # the raised-cosine window to float32 separately (each computed in double) and
    # multiplies them in float32.
    t = dt.astype(np.float32).astype(np.float64)
    two_pi_c = 2.0 * math.pi * cutoff
    window = np.where(np.abs(t) < window_width, 0.5 * (1.0 + np.cos(two_pi_c / num_zeros * t)), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(t == 0, 2.0 * cutoff, np.sin(two_pi_c * t) / np.where(t == 0, 1.0, math.pi * t))
    taps = (sinc.astype(np.float32) * window.astype(np.float32)) / np.float32(orig_freq)
    inside = (idx[None, :] >= first[:, None]) & (idx[None, :] <= last[:, None])
    taps = np.where(inside, taps, np.float32(0.0)).astype(np.float32)
    return taps, base, in_unit, out_unit, first - base, last - base


def linear_resample(
    waveform: torch.Tensor | np.ndarray,
    orig_freq: int,
    new_freq: int,
    filter_cutoff: float,
    num_zeros: int,
) -> torch.Tensor:
    """Resample a whole signal with a Hann-windowed sinc low-pass at ``filter_cutoff`` Hz.

    Output sample ``n`` (time ``n / new_freq``) is
    ``sum_k x[k] * h(k / orig_freq - n / new_freq) / orig_freq`` with
    ``h(t) = 2 C sinc(2 C t) * hann(t)``, ``C = filter_cutoff``, and the window spanning
    ``|t| < num_zeros / (2 C)``. Samples outside the signal count as zero. The number of
    outputs is :func:`linear_resample_num_output` with ``flush=True``.

    Args:
        waveform: ``(..., time)`` float tensor or array.
        orig_freq: input rate in Hz (integer).
        new_freq: output rate in Hz (integer).
        filter_cutoff: cutoff in Hz; at most half of each rate.
        num_zeros: filter half-width in zero crossings (> 0).

    Returns:
        ``(..., new_time)`` float32 tensor on the input's device.

    Kaldi: ``LinearResample::Resample(input, flush=true)``; ``ResampleWaveform`` is
    ``filter_cutoff = 0.99 * 0.5 * min(orig_freq, new_freq)``, ``num_zeros = 6``.
    Same taps and the same float rounding as the reference (products summed in float64,
    float32 at the signal edges); for filters of 32 taps or more its SIMD dot product
    groups the first products differently (about 1e-7 relative).
    """
    orig_freq, new_freq = _check_rates(orig_freq, new_freq)
    if not (filter_cutoff > 0 and 2 * filter_cutoff <= orig_freq and 2 * filter_cutoff <= new_freq):
        raise OptionError(
            f"filter_cutoff={filter_cutoff} must be positive and at most half of "
            f"orig_freq={orig_freq} and new_freq={new_freq}"
        )
    if int(num_zeros) != num_zeros or num_zeros <= 0:
        raise OptionError(f"num_zeros must be a positive integer, got {num_zeros}")
    x = torch.as_tensor(waveform)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    x = x.to(torch.float32)
    shape = x.shape
    n_in = shape[-1]
    n_out = linear_resample_num_output(n_in, orig_freq, new_freq, filter_cutoff, int(num_zeros), True)
    flat = x.reshape(-1, n_in)
    if n_out == 0:
        return flat.new_zeros(shape[:-1] + (0,))
    taps, base, in_unit, out_unit, lo_tap, hi_tap = _linear_phase_kernels(
        orig_freq, new_freq, filter_cutoff, int(num_zeros))
    width = taps.shape[1]
    num_blocks = -(-n_out // out_unit)
    # Enough padding that block k reads x[k*in_unit + base : ... + width] for every block.
    pad_left = max(0, -base)
    start = base + pad_left  # offset of padded index 0 relative to ... (>= 0)
    need = (num_blocks - 1) * in_unit + start + width
    pad_right = max(0, need - (n_in + pad_left))
    xp = torch.nn.functional.pad(flat, (pad_left, pad_right))
    if start > 0:
        xp = xp[:, start:]
    taps_t = torch.from_numpy(taps).to(device=x.device)
    y = _phase_sums(xp, taps_t, lo_tap, hi_tap, in_unit, num_blocks)  # (B, out_unit, blocks)
    # Outputs whose taps reach outside the signal are summed in float32 by the reference.
    k = torch.arange(num_blocks, device=x.device)[None, :] * in_unit
    lo = torch.from_numpy(lo_tap + base).to(x.device)[:, None]
    hi = torch.from_numpy(hi_tap + base).to(x.device)[:, None]
    edge = (k + lo < 0) | (k + hi >= n_in)
    if bool(edge.any()):
        cols = torch.nonzero(edge.any(dim=0)).squeeze(1)
        y_edge = _phase_sums(xp, taps_t, lo_tap, hi_tap, in_unit, num_blocks, cols)
        y[:, :, cols] = torch.where(edge[:, cols], y_edge, y[:, :, cols])
    y = y.transpose(1, 2).reshape(flat.shape[0], -1)[:, :n_out]
    return y.reshape(shape[:-1] + (n_out,)).contiguous()


_STRIDED_PHASES = 8  # up to this many output phases, _phase_sums reads strided views


def _phase_sums(
    xp: torch.Tensor, taps: torch.Tensor, lo: np.ndarray, hi: np.ndarray, in_unit: int, num_blocks: int,
    cols: torch.Tensor | None = None,
) -> torch.Tensor:
    """``y[b, p, k] = sum_m taps[p, m] * xp[b, k * in_unit + m]`` in the reference's order.

    Each phase's float32 products, from its first tap ``lo[p]`` to its last ``hi[p]``, are
    accumulated in float64 and rounded once (the reference's BLAS dot product for its
    short filters), or, for the block indices ``cols`` (signal edges), in float32 (its
    plain loop there).

    Returns:
        float32 ``(B, out_unit, blocks)`` (``blocks = len(cols)`` when given).
    """
    device = xp.device
    n_taps = int((hi - lo).max()) + 1
    k = torch.arange(num_blocks, device=device) if cols is None else cols
    lo_t = torch.from_numpy(lo).to(device)
    start = k[None, :] * in_unit + lo_t[:, None]  # (out_unit, blocks)
    tap_idx = (lo_t[:, None] + torch.arange(n_taps, device=device)[None, :]).clamp_max(taps.shape[1] - 1)
    live = torch.arange(n_taps, device=device)[None, :] <= torch.from_numpy(hi - lo).to(device)[:, None]
    phase_taps = torch.where(live, taps.gather(1, tap_idx), taps.new_zeros(()))  # (out_unit, n_taps)
    acc_dtype = torch.float32 if cols is not None else torch.float64
    acc = xp.new_zeros((xp.shape[0],) + tuple(start.shape), dtype=acc_dtype)
    # zero taps past a phase's last one may read up to n_taps samples beyond the padding
    xe = torch.nn.functional.pad(xp, (0, n_taps))
    if cols is None and len(lo) <= _STRIDED_PHASES:
        # Few phases (e.g. 16 kHz -> 4 kHz): strided views instead of index gathers, the same
        # products summed in the same order.
        for p in range(len(lo)):
            for j in range(n_taps):
                s = int(lo[p]) + j
                acc[:, p] += xe[:, s : s + (num_blocks - 1) * in_unit + 1 : in_unit] * phase_taps[p, j]
        return acc.to(torch.float32)
    for j in range(n_taps):
        acc += xe[:, start + j] * phase_taps[None, :, j, None]  # float32 product, exact widening
    return acc.to(torch.float32)


# --------------------------------------------------------------------------- arbitrary


def arbitrary_resample_matrix(
    num_input: int,
    sample_rate: float,
    filter_cutoff: float,
    sample_points: np.ndarray,
    num_zeros: int,
) -> np.ndarray:
    """Weights that evaluate a band-limited signal at arbitrary times.

    ``y = x @ W`` gives ``y[..., i] = sum_k x[..., k] h(t_i - k / sample_rate) / sample_rate``
    with the same Hann-windowed sinc ``h`` as :func:`linear_resample`, restricted to
    ``0 <= k < num_input`` (the signal is zero elsewhere, not periodic).

    Args:
        num_input: length of the evenly spaced input.
        sample_rate: its rate in Hz.
        filter_cutoff: low-pass cutoff in Hz (at most ``sample_rate / 2``).
        sample_points: ``(num_out,)`` times in seconds.
        num_zeros: filter half-width in zero crossings.

    Returns:
        float32 array ``(num_input, num_out)``. Computed in single precision, as the
        reference does, so that the support and the tap values agree with it.

    Kaldi: ``ArbitraryResample`` (``src/feat/resample.cc``).
    """
    if num_input <= 0 or sample_rate <= 0 or filter_cutoff <= 0 or 2 * filter_cutoff > sample_rate or num_zeros <= 0:
        raise OptionError(
            f"invalid arbitrary resampling setup: num_input={num_input}, sample_rate={sample_rate}, "
            f"filter_cutoff={filter_cutoff}, num_zeros={num_zeros}"
        )
    f32 = np.float32
    rate = f32(sample_rate)
    cutoff = f32(filter_cutoff)
    pts = np.asarray(sample_points, dtype=np.float32)
    half = f32(num_zeros / (2.0 * float(cutoff)))
    lo = np.ceil(rate * (pts - half)).astype(np.int64)
    hi = np.floor(rate * (pts + half)).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, num_input - 1)
    k = np.arange(num_input, dtype=np.int64)
    used = (k[:, None] >= lo[None, :]) & (k[:, None] <= hi[None, :])
    dt = (pts[None, :] - (k.astype(np.float32) / rate)[:, None]).astype(np.float32)
    dt64 = dt.astype(np.float64)
    c64 = float(cutoff)
    inside = np.abs(dt64) < num_zeros / (2.0 * c64)
    win = (0.5 * (1.0 + np.cos(2.0 * math.pi * c64 / num_zeros * dt64))).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        filt = np.where(dt64 != 0, np.sin(2.0 * math.pi * c64 * dt64) / (math.pi * np.where(dt64 != 0, dt64, 1.0)), 2.0 * c64)
    filt = filt.astype(np.float32)
    w = np.where(inside, filt * win, f32(0.0)).astype(np.float32) / rate
    return np.where(used, w, f32(0.0)).astype(np.float32)


# --------------------------------------------------------------------------- torchaudio-style


def _sinc_resample_kernel(
    orig: int,
    new: int,
    lowpass_filter_width: int,
    rolloff: float,
    resampling_method: ResamplingMethod,
    beta: float | None,
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[torch.Tensor, int]:
    base_freq = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base_freq)
    idx = torch.arange(-width, width + orig, dtype=torch.float64, device=device) / orig
    t = idx[None, :] - torch.arange(new, dtype=torch.float64, device=device)[:, None] / new
    t = t * base_freq
    k = _windowed_sinc(t, float(lowpass_filter_width), resampling_method, beta) * (base_freq / orig)
    return k.to(dtype)[:, None, :], width


def resample(
    waveform: torch.Tensor,
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
    resampling_method: ResamplingMethod = "sinc_interp_hann",
    beta: float | None = None,
) -> torch.Tensor:
    """Resample ``(..., time)`` audio by a rational factor (torchaudio-compatible).

    The signal is filtered with a windowed sinc whose cutoff is
    ``rolloff * min(orig_freq, new_freq) / 2`` and evaluated at the new sample times; the
    output has ``ceil(new_freq * time / orig_freq)`` samples (after reducing the ratio by
    the gcd). Works on any device and float dtype; batched over leading dimensions.

    Args:
        waveform: ``(..., time)`` float tensor.
        orig_freq: input rate in Hz (integer-valued).
        new_freq: output rate in Hz (integer-valued).
        lowpass_filter_width: filter half-width in zero crossings.
        rolloff: cutoff as a fraction of the lower Nyquist frequency.
        resampling_method: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"``.
        beta: Kaiser window shape (default 14.769656459379492).

    Returns:
        ``(..., new_time)`` tensor with the input's dtype and device.
    """
    if lowpass_filter_width <= 0:
        raise OptionError(f"lowpass_filter_width must be positive, got {lowpass_filter_width}")
    if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
        raise OptionError(
            f"unknown resampling_method {resampling_method!r} (expected sinc_interp_hann or sinc_interp_kaiser)"
        )
    orig, new = _check_rates(orig_freq, new_freq)
    if orig == new:
        return waveform
    if not waveform.is_floating_point():
        raise OptionError(f"resample expects a floating-point waveform, got {waveform.dtype}")
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    kernel, width = _sinc_resample_kernel(
        orig, new, lowpass_filter_width, rolloff, resampling_method, beta, waveform.dtype, waveform.device
    )
    shape = waveform.shape
    length = shape[-1]
    x = waveform.reshape(-1, length)
    x = torch.nn.functional.pad(x, (width, width + orig))
    y = torch.nn.functional.conv1d(x[:, None, :], kernel, stride=orig)
    y = y.transpose(1, 2).reshape(x.shape[0], -1)
    target = -(-new * length // orig)
    y = y[:, :target]
    return y.reshape(shape[:-1] + (y.shape[-1],))
