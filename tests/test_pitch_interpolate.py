"""interpolate-pitch: linear and model-based pitch interpolation, rand_r, the tool."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys

import numpy as np
import pytest

from kaldibridge.errors import OptionError
from kaldibridge.kaldi.features.pitch_interpolate import (
    InterpolationStats,
    PitchInterpolatorOptions,
    interpolate_pitch,
    linear_interpolate_pitch,
)
from kaldibridge.kaldi.features.pitch_rand import GlibcRandom, kaldi_randn_rows, rand_r_streams


def _libc():
    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return None
    lib = ctypes.CDLL(name)
    libm_name = ctypes.util.find_library("m")
    if not hasattr(lib, "gnu_get_libc_version") or libm_name is None:
        return None
    libm = ctypes.CDLL(libm_name)
    for fn in ("logf", "cosf", "sinf", "sqrtf"):
        func = getattr(libm, fn)
        func.restype = ctypes.c_float
        func.argtypes = [ctypes.c_float]
        setattr(lib, fn, func)
    return lib


LIBC = _libc()
needs_glibc = pytest.mark.skipif(LIBC is None, reason="needs glibc (rand, rand_r, logf) as the reference")


def _mat(pitch, pov=None):
    pitch = np.asarray(pitch, dtype=np.float32)
    pov = np.full(pitch.shape, 0.8, np.float32) if pov is None else np.asarray(pov, np.float32)
    return np.stack([pov, pitch], axis=1)


# --------------------------------------------------------------------------- linear


def test_linear_fills_inner_gap_with_a_straight_line():
    out = linear_interpolate_pitch(_mat([100, 110, 0, 0, 0, 150, 160])).numpy()
    np.testing.assert_allclose(out[:, 1], [100, 110, 120, 130, 140, 150, 160], rtol=1e-6)
    np.testing.assert_array_equal(out[:, 0], np.float32(0.8))


def test_linear_edges_lean_to_ninety_percent():
    out = linear_interpolate_pitch(_mat([0, 0, 0, 200, 0, 0])).numpy()[:, 1]
    # leading run: from 0.9 * 200 at frame -1 to 200 at frame 3
    np.testing.assert_allclose(out[:3], 180 + 20 * np.arange(1, 4) / 4, rtol=1e-6)
    # trailing run: from 200 at frame 3 to 0.9 * 200 at frame 6
    np.testing.assert_allclose(out[4:], 200 - 20 * np.arange(1, 3) / 3, rtol=1e-6)


def test_linear_ignores_frame_zero_as_left_neighbour():
    # the reference only takes the left value when the frame before the gap is > 0
    out = linear_interpolate_pitch(_mat([300, 0, 100])).numpy()[:, 1]
    assert out[0] == 300
    # gap [1, 2): from 0.9 * 100 at frame 0 (not 300) to 100 at frame 2
    assert out[1] == pytest.approx(95.0, rel=1e-6)


def test_linear_all_unvoiced_gives_ones_and_empty_passes():
    np.testing.assert_array_equal(linear_interpolate_pitch(_mat([0, 0, 0])).numpy()[:, 1], 1.0)
    assert tuple(linear_interpolate_pitch(np.zeros((0, 2), np.float32)).shape) == (0, 2)


def test_linear_does_not_modify_its_input():
    m = _mat([100, 0, 120])
    linear_interpolate_pitch(m)
    assert m[1, 1] == 0


# --------------------------------------------------------------------------- rand_r


@needs_glibc
def test_rand_r_streams_match_libc():
    seeds = np.array([1, 27437, 1804289383 + 27437, 2**32 - 1])
    got = rand_r_streams(seeds, 40)
    for s, row in zip(seeds.tolist(), got):
        state = ctypes.c_uint(s)
        assert row.tolist() == [LIBC.rand_r(ctypes.byref(state)) for _ in range(40)]


@needs_glibc
@pytest.mark.parametrize("dim", [1, 6, 7])
def test_randn_rows_follow_box_muller_of_libc(dim):
    seed = 846930886 + 27437
    state = ctypes.c_uint(seed)
    u = [np.float32((LIBC.rand_r(ctypes.byref(state)) + 1.0) / (2147483647 + 2.0)) for _ in range(dim + 1)]
    want = []
    for k in range(0, dim - 1, 2):
        mag = LIBC.sqrtf(np.float32(-2.0) * np.float32(LIBC.logf(u[k])))
        ang = np.float32(2.0 * math.pi * float(u[k + 1]))
        want += [np.float32(mag) * np.float32(LIBC.cosf(ang)), np.float32(mag) * np.float32(LIBC.sinf(ang))]
    if dim % 2:
        mag = LIBC.sqrtf(np.float32(-2.0) * np.float32(LIBC.logf(u[dim - 1])))
        want.append(np.float32(mag) * np.float32(LIBC.cosf(np.float32(2.0 * math.pi * float(u[dim])))))
    got = kaldi_randn_rows(np.array([seed]), dim)[0]
    np.testing.assert_allclose(got, np.array(want, np.float32), rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- model-based


def _reference(mat, opts, lib):
    """A literal scalar transcription of the reference algorithm, drawing from libc."""
    f = np.float32
    interval = f(opts.pitch_interval)
    n = mat.shape[0]
    lo, hi = f(1.0e10), f(0.0)
    pv = []
    for t in range(n):
        p = f(mat[t, 0]) * f(opts.max_voicing_prob)
        if mat[t, 1] == 0:
            p = f(0.0)
        else:
            lo, hi = min(lo, f(mat[t, 1])), max(hi, f(mat[t, 1]))
        pv.append(f(p))
    if hi == 0:
        lo = hi = f(100.0)
    if float(hi) <= float(lo) + 2.0 * float(interval):
        hi = f(float(lo) + 2.0 * float(interval))
    num = int(math.floor(float(f(f(hi - lo) / interval)) + 0.5)) + 2
    grid, obs = [], []
    for t in range(n):
        u = f((lib.rand() + 1.0) / (2147483647 + 2.0))
        grid.append(f(lo - f(interval * u)))
        obs.append(0 if mat[t, 1] == 0 else int(math.floor(float(f(f(f(mat[t, 1]) - grid[t]) / interval)) + 0.5)))

    def observe(alpha, t):
        const = f((1.0 - float(pv[t])) * float(f(opts.interpolator_factor)))
        spec = f(pv[t] + const)
        alpha = [f(a + f(lib.logf(const))) for a in alpha]
        alpha[obs[t]] = f(alpha[obs[t]] + f(lib.logf(f(spec / const))))
        state = ctypes.c_uint(lib.rand() + 27437)
        us = [f((lib.rand_r(ctypes.byref(state)) + 1.0) / (2147483647 + 2.0)) for _ in range(num + num % 2)]
        noise = []
        for k in range(0, num - num % 2, 2):
            mag = f(lib.sqrtf(f(-2.0) * f(lib.logf(us[k]))))
            ang = f(2.0 * math.pi * float(us[k + 1]))
            noise += [f(mag * f(lib.cosf(ang))), f(mag * f(lib.sinf(ang)))]
        if num % 2:
            mag = f(lib.sqrtf(f(-2.0) * f(lib.logf(us[num - 1]))))
            noise.append(f(mag * f(lib.cosf(f(2.0 * math.pi * float(us[num]))))))
        return [f(a + f(f(0.01) * x)) for a, x in zip(alpha, noise)]

    k_max = int(math.floor(float(f(f(opts.max_pitch_change_per_frame) / interval)) + 0.5))
    alpha = observe([f(0.0)] * num, 0)
    back = []
    for t in range(1, n):
        new, bp = [], []
        for p in range(num):
            best, bj = f(-1.0e10), -1
            for q in range(max(p - k_max, 0), min(p + k_max, num - 1) + 1):
                d = f(f(grid[t - 1] + f(q * interval)) - f(grid[t] + f(p * interval)))
                s = f(float(alpha[q]) - 0.5 * float(d) * float(d))
                if s > best:
                    best, bj = s, q
            new.append(best)
            bp.append(bj)
        back.append(bp)
        alpha = observe(new, t)
    state = int(np.argmax(np.array(alpha, np.float32)))
    out = mat.copy()
    for t in range(n - 1, -1, -1):
        out[t, 1] = f(grid[t] + f(interval * state))
        if t > 0:
            state = back[t - 1][state]
    return out


@needs_glibc
@pytest.mark.parametrize(
    "opts",
    [PitchInterpolatorOptions(), PitchInterpolatorOptions(pitch_interval=3.0, interpolator_factor=0.01, max_pitch_change_per_frame=20.0)],
    ids=["defaults", "coarse"],
)
def test_model_based_equals_scalar_reference(opts):
    rng = np.random.default_rng(4)
    n = 60
    pitch = (140 + 25 * np.sin(np.arange(n) / 6) + rng.normal(0, 3, n)).astype(np.float32)
    pitch[10:22] = 0
    pitch[rng.random(n) < 0.1] = 0
    m = _mat(pitch, rng.uniform(0.1, 1.0, n))
    LIBC.srand(ctypes.c_uint(1))
    want = _reference(m, opts, LIBC)
    got = interpolate_pitch(m, opts, rng=GlibcRandom(1)).numpy()
    np.testing.assert_array_equal(got[:, 0], m[:, 0])
    np.testing.assert_allclose(got[:, 1], want[:, 1], rtol=1e-6)


def test_model_based_fills_gaps_between_neighbours_and_follows_voiced_frames():
    n = 120
    pitch = np.linspace(120, 180, n).astype(np.float32)
    pitch[40:70] = 0
    stats = InterpolationStats()
    out = interpolate_pitch(_mat(pitch, np.full(n, 1.0)), stats=stats).numpy()[:, 1]
    voiced = pitch > 0
    assert np.max(np.abs(out[voiced] - pitch[voiced])) <= 4.0  # within one grid step
    assert np.all((out[40:70] > 130) & (out[40:70] < 170))
    assert stats.frames == n and stats.zero >= 30
    assert stats.message().startswith(f"Over {n} frames, ")


def test_model_based_noise_stream_continues():
    m = _mat(np.linspace(100, 140, 30))
    m[5:15, 1] = 0
    g = GlibcRandom(1)
    a = interpolate_pitch(m, rng=g).numpy()
    b = interpolate_pitch(m, rng=g).numpy()
    a2 = interpolate_pitch(m, rng=GlibcRandom(1)).numpy()
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a[:, 1], b[:, 1])  # the per-frame grid offsets differ


@pytest.mark.parametrize(
    "bad",
    [{"pitch_interval": 0.0}, {"interpolator_factor": 1.0}, {"max_voicing_prob": 0.4},
     {"max_pitch_change_per_frame": 8.0}],
)
def test_model_based_option_checks(bad):
    with pytest.raises(OptionError):
        interpolate_pitch(_mat([100, 0, 110]), **bad)


def test_model_based_needs_two_columns():
    with pytest.raises(OptionError):
        interpolate_pitch(np.ones((4, 3), np.float32))


# --------------------------------------------------------------------------- tool


def _write_ark(path, mats):
    with open(path, "wb") as f:
        for key, m in mats.items():
            rows, cols = m.shape
            f.write(key.encode() + b" \0BFM \x04" + np.int32(rows).tobytes() + b"\x04" + np.int32(cols).tobytes())
            f.write(np.ascontiguousarray(m, "<f4").tobytes())


def _read_ark(data, rows, cols, which):
    start = 0
    for _ in range(which + 1):
        start = data.index(b"FM ", start) + 13
    return np.frombuffer(data[start : start + rows * cols * 4], dtype="<f4").reshape(rows, cols)


@pytest.mark.parametrize("linear", [False, True])
def test_tool_matches_api(tmp_path, capsys, linear):
    from kaldibridge.cli.registry import load_tool

    m1 = _mat(np.r_[np.linspace(100, 130, 20), np.zeros(8), np.linspace(140, 150, 12)])
    m2 = _mat(np.r_[np.zeros(5), np.linspace(200, 180, 25)])
    _write_ark(tmp_path / "in.ark", {"u1": m1, "u2": m2})
    argv = [f"--linear-interpolation={'true' if linear else 'false'}", f"ark:{tmp_path / 'in.ark'}",
            f"ark:{tmp_path / 'out.ark'}"]
    assert load_tool("interpolate-pitch").main(argv) == 0
    err = capsys.readouterr().err
    assert "Done 2 utterances, 0 with errors." in err
    assert ("% were zero at input" in err) is (not linear)
    data = (tmp_path / "out.ark").read_bytes()
    if linear:
        want1, want2 = linear_interpolate_pitch(m1).numpy(), linear_interpolate_pitch(m2).numpy()
    else:
        g = GlibcRandom(1)  # the tool never seeds; the stream runs on across utterances
        want1, want2 = interpolate_pitch(m1, rng=g).numpy(), interpolate_pitch(m2, rng=g).numpy()
    np.testing.assert_array_equal(_read_ark(data, 40, 2, 0), want1)
    np.testing.assert_array_equal(_read_ark(data, 30, 2, 1), want2)
