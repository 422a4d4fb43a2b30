"""The fast stage computations of ``rate`` against direct formulas.

- ``_fft_filter`` (overlap-save blocks, spectrum images for power-of-two up-sampling)
  against ``numpy.convolve`` of the explicitly zero-stuffed, padded signal;
- the rational polyphase stage (block matrix products) against SoX's clock: output ``k``
  is the dot product of phase ``(at0 + k*step) mod L`` with the input from
  ``(at0 + k*step) div L`` on.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kaldibridge.sox import rate


def _stuffed(x: np.ndarray, big_l: int, lead: int, length: int) -> np.ndarray:
    xp = np.zeros(x.shape[:-1] + (length,))
    xp[..., lead : lead + x.shape[-1]] = x
    u = np.zeros(x.shape[:-1] + (length * big_l,))
    u[..., ::big_l] = xp
    return u


@pytest.mark.parametrize("big_l", [1, 2, 4, 8])
@pytest.mark.parametrize(("n", "taps"), [(5, 7), (3000, 409), (9000, 250), (700, 1)])
def test_fft_filter_matches_direct_convolution(big_l: int, n: int, taps: int) -> None:
    rng = np.random.default_rng(n + taps + big_l)
    x = rng.standard_normal((2, 1, n))
    h = rng.standard_normal(taps)
    lead, tail = 17, 40
    length = lead + n + tail
    got = rate._fft_filter(torch.from_numpy(x), torch.from_numpy(h), big_l, lead, length).numpy()
    u = _stuffed(x, big_l, lead, length)
    ref = np.stack([[np.convolve(row, h, mode="valid") for row in item] for item in u.reshape(2, 1, -1)])
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max()))


def _poly_reference(st: "rate._PolyStage", x: np.ndarray, flush: int) -> np.ndarray:
    n = st.num_coefs
    xp = np.concatenate([np.zeros(x.shape[:-1] + ((n - 1) >> 1,)), x, np.zeros(x.shape[:-1] + (flush + n + 64,))], axis=-1)
    num_in = x.shape[-1] + flush + ((n - 1) >> 1) - (n - 1)
    at0, step = st.at0 >> 32, st.step >> 32
    count = max(0, -(-(num_in * st.L - at0) // step))
    pos = at0 + np.arange(count) * step
    q, phase = pos // st.L, pos % st.L
    taps = st.table[..., 0].numpy()[phase]  # (count, n)
    windows = xp[..., q[:, None] + np.arange(n)[None, :]]  # (..., count, n)
    return (windows * taps).sum(-1)


def _rational_stages() -> list["rate._PolyStage"]:
    found = []
    for in_rate, out_rate in [(14400, 16000), (17600, 16000), (44100, 16000), (8000, 11025)]:
        opts = rate.Rate("rate", [str(out_rate)]).options
        for st in rate._cached_plan(in_rate / out_rate, tuple(vars(opts).items())):
            if isinstance(st, rate._PolyStage) and st.rational:
                found.append(st)
    return found


@pytest.mark.parametrize("n", [0, 1, 9, 1000, 4321])
def test_rational_poly_stage_matches_clock_formula(n: int) -> None:
    stages = _rational_stages()
    assert len(stages) >= 3
    rng = np.random.default_rng(n)
    for st in stages:
        x = rng.standard_normal((2, 3, n))
        got = st.run(torch.from_numpy(x), 20).numpy()
        ref = _poly_reference(st, x, 20)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max() if ref.size else 1.0))


def test_resample_length_and_tone() -> None:
    # a 1 kHz tone through 14.4 kHz -> 16 kHz keeps its frequency and level
    n = 14400
    t = np.arange(n) / 14400
    x = torch.from_numpy(0.5 * np.sin(2 * np.pi * 1000 * t)).reshape(1, 1, n)
    y = rate.resample(x, 14400, 16000)[0, 0].numpy()
    assert y.shape == (16000,)
    mid = y[2000:14000]
    ref = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(2000, 14000) / 16000)
    assert np.abs(mid - ref).max() < 1e-3
