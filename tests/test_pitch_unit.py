"""Unit tests of kaldibridge.kaldi.features.pitch and its glibc rand() copy."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

import numpy as np
import pytest
import torch

from kaldibridge.errors import OptionError
from kaldibridge.kaldi.features import pitch as P
from kaldibridge.kaldi.features.pitch_viterbi import viterbi_step_numpy
from kaldibridge.kaldi.features.pitch import (
    GlibcRandom,
    KaldiPitch,
    PitchExtractionOptions,
    ProcessKaldiPitch,
    ProcessPitchOptions,
    compute_and_process_kaldi_pitch,
    compute_kaldi_pitch,
    process_kaldi_pitch,
)


def _libc():
    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return None
    lib = ctypes.CDLL(name)
    if not hasattr(lib, "gnu_get_libc_version"):  # rand() of other C libraries differs
        return None
    return lib


LIBC = _libc()


@pytest.mark.skipif(LIBC is None, reason="needs glibc to compare rand() with")
@pytest.mark.parametrize("seed", [0, 1, 2, 42, 12345, 2**31 - 1, 2**31 + 7, 2**32 - 1])
def test_glibc_random_matches_libc(seed):
    LIBC.srand(ctypes.c_uint(seed))
    expected = [LIBC.rand() for _ in range(700)]
    got = GlibcRandom(seed)
    assert got.rand(300).tolist() + got.rand(400).tolist() == expected


@pytest.mark.skipif(LIBC is None, reason="needs glibc to compare rand() with")
@pytest.mark.parametrize("seed", [1, 99, 2**32 - 1])
def test_glibc_random_long_draws_match_libc(seed):
    # long requests take the blocked (matrix) path; short ones the word-by-word loop
    LIBC.srand(ctypes.c_uint(seed))
    expected = [LIBC.rand() for _ in range(4000)]
    got = GlibcRandom(seed)
    draws = got.rand(5).tolist() + got.rand(1500).tolist() + got.rand(7).tolist() + got.rand(2488).tolist()
    assert draws == expected


def test_glibc_random_known_values():
    # well-known first outputs of glibc rand() without srand (seed 1)
    assert GlibcRandom(1).rand(3).tolist() == [1804289383, 846930886, 1681692777]
    assert GlibcRandom(0).rand(3).tolist() == [1804289383, 846930886, 1681692777]


def test_gauss_follows_box_muller_of_uniforms():
    a, b = GlibcRandom(7), GlibcRandom(7)
    g = a.gauss(50).astype(np.float64)
    u = b.uniform(100).reshape(50, 2)
    ref = np.sqrt(-2 * np.log(u[:, 0])) * np.cos(2 * np.pi * u[:, 1])
    np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


def _naive_step(su, local, prev):
    n = len(prev)
    fwd = np.empty(n, np.float32)
    bp = np.empty(n, np.int64)
    for i in range(n):
        costs = [su.trans[i, j] + prev[j] for j in range(n)]
        bp[i] = int(np.argmin(costs))
        fwd[i] = costs[bp[i]] + local[i]
    return bp, fwd - fwd.min()


@pytest.mark.parametrize("seed", range(4))
def test_viterbi_step_equals_naive_search(seed):
    su = P._make_setup(PitchExtractionOptions(min_f0=150.0, max_f0=400.0, delta_pitch=0.01, penalty_factor=0.5))
    rng = np.random.default_rng(seed)
    prev = np.zeros(su.num_lags, np.float32)
    for _ in range(5):  # a few frames, so that prev looks like a real forward cost
        nccf = np.clip(np.sin(np.arange(su.num_lags) / rng.uniform(3, 20)) + rng.normal(0, 0.2, su.num_lags), -1, 1)
        local = P._local_cost(su, nccf.astype(np.float32))
        buf = np.empty((su.num_lags, su.num_lags), np.float32)
        bp, fwd, _ = viterbi_step_numpy(su.trans, su.row_base, local, prev, buf)
        nbp, nfwd = _naive_step(su, local, prev)
        np.testing.assert_array_equal(bp, nbp)
        np.testing.assert_allclose(fwd, nfwd, atol=1e-6)
        prev = fwd


def test_lag_grid_is_geometric_and_covers_range():
    su = P._make_setup(PitchExtractionOptions())
    lags = su.lags.astype(np.float64)
    assert lags[0] == pytest.approx(1 / 400, rel=1e-6)
    assert lags[-1] <= 1 / 50 and lags[-1] * 1.005 > 1 / 50 * (1 - 1e-6)
    np.testing.assert_allclose(lags[1:] / lags[:-1], 1.005, rtol=1e-5)


@pytest.mark.parametrize("f0", [110.0, 220.0, 330.0])
def test_pitch_of_harmonic_tone(f0):
    fs = 16000
    t = np.arange(fs) / fs
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 4)) * 3000
    feats = compute_kaldi_pitch(x.astype(np.float32)).numpy()
    assert feats.shape == (98, 2)
    mid = feats[10:-10]
    assert np.all(np.abs(mid[:, 1] / f0 - 1) < 0.01)
    assert np.all(mid[:, 0] > 0.9)


def test_silence_gives_zero_nccf_and_max_f0():
    feats = compute_kaldi_pitch(np.zeros(8000, np.float32), max_f0=300.0).numpy()
    assert feats.shape[0] == 48
    assert np.all(feats[:, 0] == 0)
    np.testing.assert_allclose(feats[:, 1], 300.0, rtol=1e-6)


def test_too_short_input_warns_and_is_empty(caplog):
    with caplog.at_level(logging.WARNING, logger="kaldibridge"):
        out = compute_kaldi_pitch(np.ones(300, np.float32))
    assert tuple(out.shape) == (0, 0)
    assert "No frames output in pitch extraction" in caplog.text


def test_snip_edges_false_frame_count():
    x = np.random.default_rng(0).standard_normal(16000 + 123).astype(np.float32) * 1000
    assert compute_kaldi_pitch(x, snip_edges=False).shape[0] == round((16000 + 123) / 160)
    assert compute_kaldi_pitch(x).shape[0] == 1 + (16123 - 400) // 160


def test_chunked_offline_output_has_same_frames_and_close_values():
    rng = np.random.default_rng(3)
    fs = 16000
    t = np.arange(2 * fs) / fs
    x = (np.sin(2 * np.pi * (150 + 50 * t) * t) * 4000 + rng.standard_normal(t.size) * 50).astype(np.float32)
    off = compute_kaldi_pitch(x).numpy()
    on = compute_kaldi_pitch(x, frames_per_chunk=7).numpy()
    first = compute_kaldi_pitch(x, frames_per_chunk=7, simulate_first_pass_online=True).numpy()
    assert off.shape == on.shape == first.shape
    assert np.mean(np.abs(on[:, 1] - off[:, 1]) < 1) > 0.9


def test_simulate_first_pass_requires_chunks():
    with pytest.raises(OptionError):
        compute_kaldi_pitch(np.zeros(4000, np.float32), simulate_first_pass_online=True)


def test_max_frames_latency_delays_nothing_in_final_output():
    x = (np.sin(2 * np.pi * 200 * np.arange(16000) / 16000) * 3000).astype(np.float32)
    a = compute_kaldi_pitch(x, frames_per_chunk=5, max_frames_latency=20).numpy()
    b = compute_kaldi_pitch(x, frames_per_chunk=5).numpy()
    np.testing.assert_array_equal(a, b)
    c = compute_kaldi_pitch(x, frames_per_chunk=5, max_frames_latency=20, simulate_first_pass_online=True)
    assert c.shape == a.shape


def test_options_defaults_and_validation():
    o = PitchExtractionOptions()
    assert (o.sample_frequency, o.min_f0, o.max_f0, o.nccf_ballast, o.recompute_frame) == (16000.0, 50.0, 400.0, 7000.0, 500)
    assert o.nccf_window_size == 100 and o.nccf_window_shift == 40
    assert ProcessPitchOptions().dim == 3
    with pytest.raises(OptionError):
        PitchExtractionOptions(min_f0=500.0)
    with pytest.raises(OptionError):
        ProcessPitchOptions(add_pov_feature=False, add_normalized_log_pitch=False, add_delta_pitch=False)
    with pytest.raises(OptionError):
        compute_kaldi_pitch(np.zeros(4000, np.float32), lowpass_cutoff=3000.0)


def _raw(n=200, seed=0):
    rng = np.random.default_rng(seed)
    nccf = rng.uniform(-0.2, 1.0, n).astype(np.float32)
    pitch = (150 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))).astype(np.float32)
    return np.stack([nccf, pitch], axis=1)


def test_process_pitch_formulas_without_noise():
    raw = _raw()
    out = process_kaldi_pitch(raw, delta_pitch_noise_stddev=0.0, add_raw_log_pitch=True).numpy()
    n = raw[:, 0].astype(np.float64)
    logp = np.log(raw[:, 1].astype(np.float64))
    np.testing.assert_allclose(out[:, 0], 2 * ((1.0001 - n) ** 0.15 - 1), atol=1e-5)
    r = -5.2 + 5.4 * np.exp(7.5 * (np.abs(n) - 1)) + 4.8 * np.abs(n) - 2 * np.exp(-10 * np.abs(n)) + 4.2 * np.exp(20 * (np.abs(n) - 1))
    pov = 1 / (1 + np.exp(-r))
    for t in (0, 50, 199):
        lo, hi = max(0, t - 75), min(200, t + 76)
        avg = np.sum(pov[lo:hi] * logp[lo:hi]) / np.sum(pov[lo:hi])
        assert out[t, 1] == pytest.approx(2 * (logp[t] - avg), abs=1e-4)
    for t in (0, 1, 100, 199):
        idx = lambda j: min(max(t + j, 0), 199)  # noqa: E731
        d = sum(j * logp[idx(j)] for j in (-2, -1, 1, 2)) / 10
        assert out[t, 2] == pytest.approx(10 * d, abs=1e-4)
    np.testing.assert_allclose(out[:, 3], logp, rtol=1e-6)


def test_process_pitch_delay_repeats_first_frame():
    raw = _raw(50)
    base = process_kaldi_pitch(raw, delta_pitch_noise_stddev=0.0).numpy()
    d = process_kaldi_pitch(raw, delta_pitch_noise_stddev=0.0, delay=3).numpy()
    assert d.shape == (53, 3)
    np.testing.assert_array_equal(d[3:], base)
    np.testing.assert_array_equal(d[:3], np.repeat(base[:1], 3, axis=0))


def test_process_pitch_noise_stream_continues_across_calls():
    raw = _raw(30)
    rng = GlibcRandom(0)
    a = process_kaldi_pitch(raw, rng=rng).numpy()
    b = process_kaldi_pitch(raw, rng=rng).numpy()
    clean = process_kaldi_pitch(raw, delta_pitch_noise_stddev=0.0).numpy()
    expect = GlibcRandom(0).gauss(60) * np.float32(0.005) * 10
    np.testing.assert_allclose(a[:, 2] - clean[:, 2], expect[:30], atol=2e-6)
    np.testing.assert_allclose(b[:, 2] - clean[:, 2], expect[30:], atol=2e-6)
    m = ProcessKaldiPitch(seed=0)
    np.testing.assert_array_equal(m(torch.from_numpy(raw)).numpy(), a)


def test_compute_and_process_equals_pipeline_offline():
    x = (np.sin(2 * np.pi * 180 * np.arange(24000) / 16000) * 3000).astype(np.float32)
    x += np.random.default_rng(1).standard_normal(x.size).astype(np.float32) * 30
    raw = compute_kaldi_pitch(x)
    a = compute_and_process_kaldi_pitch(x, rng=GlibcRandom(1)).numpy()
    b = process_kaldi_pitch(raw, rng=GlibcRandom(1)).numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
    sim = compute_and_process_kaldi_pitch(
        x, PitchExtractionOptions(frames_per_chunk=10, simulate_first_pass_online=True), rng=GlibcRandom(1)
    )
    assert sim.shape == a.shape


def test_module_forms():
    x = torch.from_numpy((np.sin(2 * np.pi * 200 * np.arange(8000) / 8000) * 2000).astype(np.float32))
    m = KaldiPitch(sample_frequency=8000.0)
    np.testing.assert_array_equal(m(x).numpy(), compute_kaldi_pitch(x, sample_frequency=8000.0).numpy())


def test_cli_process_srand(tmp_path, capsys):
    from kaldibridge.cli.registry import load_tool

    raw = _raw(40)
    ark = tmp_path / "in.ark"
    with open(ark, "wb") as f:
        f.write(b"u1 \0BFM \x04" + np.int32(40).tobytes() + b"\x04" + np.int32(2).tobytes() + raw.astype("<f4").tobytes())
    out = tmp_path / "out.ark"
    status = load_tool("process-kaldi-pitch-feats").main(["--srand=5", f"ark:{ark}", f"ark:{out}"])
    assert status == 0
    assert "Post-processed pitch for 1 utterances." in capsys.readouterr().err
    data = out.read_bytes()
    got = np.frombuffer(data[data.index(b"FM ") + 13 :], dtype="<f4").reshape(40, 3)
    np.testing.assert_allclose(got, process_kaldi_pitch(raw, rng=GlibcRandom(5)).numpy(), atol=1e-6)
    assert not np.allclose(got, process_kaldi_pitch(raw, rng=GlibcRandom(0)).numpy(), atol=1e-6)
