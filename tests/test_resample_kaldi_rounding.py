"""linear_resample rounds like Kaldi's LinearResample (scalar re-derivation, few samples)."""

from __future__ import annotations

import math

import numpy as np
import torch

from kaldibridge.functional.resample import linear_resample

F = np.float32


def _tap(delta_t: float, cutoff: float, zeros: int, rate_in: int) -> np.float32:
    t = float(F(delta_t))
    window = F(0.5 * (1 + math.cos(2 * math.pi * cutoff / zeros * t))) if abs(t) < zeros / (2.0 * cutoff) else F(0)
    filt = F(math.sin(2 * math.pi * cutoff * t) / (math.pi * t)) if t != 0 else F(2 * cutoff)
    return F(filt * window) / F(rate_in)


def _output(x: np.ndarray, n: int, rate_in: int, rate_out: int, cutoff: float, zeros: int) -> np.float32:
    width = zeros / (2.0 * cutoff)
    g = math.gcd(rate_in, rate_out)
    unit_out, unit_in = rate_out // g, rate_in // g
    unit, phase = divmod(n, unit_out)
    out_t = phase / float(rate_out)
    lo = math.ceil((out_t - width) * rate_in)
    hi = math.floor((out_t + width) * rate_in)
    first = unit * unit_in + lo
    interior = first >= 0 and first + (hi - lo + 1) <= x.size
    acc_d, acc_f = 0.0, F(0)
    for j, idx in enumerate(range(lo, hi + 1)):
        w = _tap(idx / float(rate_in) - out_t, cutoff, zeros, rate_in)
        s = first + j
        if 0 <= s < x.size:
            p = F(w * x[s])
            acc_d += float(p)
            acc_f = F(acc_f + p)
    return F(acc_d) if interior else acc_f


def test_linear_resample_matches_scalar_kaldi_rounding():
    rng = np.random.default_rng(3)
    x = rng.integers(-20000, 20000, size=400).astype(np.float32)
    for rate_in, rate_out in ((8000, 16000), (16000, 4000), (16000, 8000)):  # filters under 32 taps
        cutoff = float(F(0.99 * 0.5 * min(rate_in, rate_out)))
        y = linear_resample(torch.from_numpy(x), rate_in, rate_out, cutoff, 6).numpy()
        for n in list(range(4)) + [y.size // 2, y.size // 2 + 1, y.size - 2, y.size - 1]:
            assert y[n] == _output(x, n, rate_in, rate_out, cutoff, 6), (rate_in, rate_out, n)
