"""Benchmark: Kaldi pitch (extraction + post-processing) on 5 minutes of 16 kHz audio.

kaldibridge's ``compute_and_process_kaldi_pitch`` against the peer
``kaldi_native_fbank.compute_and_process_kaldi_pitch`` (a C++ port of Kaldi's pitch
code; pip package ``kaldi-native-fbank``, not a kaldibridge dependency), on the same
generated speech-like signal, single thread. Prints seconds, real-time factors (audio
seconds per compute second) and the ratio. Without the peer installed only kaldibridge
is timed (for reference: Kaldi's own binary runs pitch at about 550x real time per core).

The Viterbi search runs compiled when numba is installed (``kaldibridge[fast]``) and as
dense numpy otherwise; the benchmark names the path it timed and, unless ``--no-numpy``,
also times the numpy path (in a subprocess with ``KALDIBRIDGE_NO_NUMBA=1``, on a shorter
excerpt scaled to the same real-time factor, since that path is about 10x slower).

Usage: python benchmarks/bench_pitch.py [--minutes 5] [--repeats 3] [--no-numpy]
       [--numpy-minutes 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kaldibridge.kaldi.features.pitch import (  # noqa: E402
    GlibcRandom,
    PitchExtractionOptions,
    ProcessPitchOptions,
    compute_and_process_kaldi_pitch,
    compute_kaldi_pitch,
)
from kaldibridge.kaldi.features.pitch_viterbi import compiled_path_available  # noqa: E402


def speech_like(seconds: float, fs: int = 16000, seed: int = 0) -> np.ndarray:
    """Harmonic 'voiced' stretches with a gliding f0, noise 'unvoiced' stretches, pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    f0 = 140 + 50 * np.sin(2 * np.pi * 0.37 * t) + 20 * np.sin(2 * np.pi * 2.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / fs
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    seg = np.repeat(rng.integers(0, 3, size=n // 3200 + 1), 3200)[:n]  # 0.2 s segments
    x = np.where(seg == 0, voiced * 4000, np.where(seg == 1, rng.standard_normal(n) * 800, 0.0))
    x = x + rng.standard_normal(n) * 20
    return np.clip(x, -32768, 32767).astype(np.float32)


def best_time(fn, repeats: int) -> float:
    """Best CPU time (process_time) over ``repeats`` runs; wall time is also printed,
    since on a shared machine wall time mostly measures the neighbours."""
    best, best_wall = float("inf"), float("inf")
    for _ in range(repeats):
        t0, w0 = time.process_time(), time.perf_counter()
        fn()
        best = min(best, time.process_time() - t0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    print(f"    (wall {best_wall:.3f} s)")
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-numpy", action="store_true", help="do not also time the numpy Viterbi path")
    ap.add_argument("--numpy-minutes", type=float, default=1.0, help="audio length for the numpy path")
    ap.add_argument("--only-kaldibridge", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(1)
    seconds = args.minutes * 60
    x = speech_like(seconds)
    popts, qopts = PitchExtractionOptions(), ProcessPitchOptions()
    path = "compiled (numba)" if compiled_path_available() else "numpy"
    print(f"audio: {seconds:.0f} s at 16 kHz, generated (seed 0); threads: 1; times are CPU seconds")
    print(f"Viterbi path: {path}")

    if compiled_path_available():  # compile (or load the cached kernels) outside the timing
        compute_kaldi_pitch(x[:16000], popts)
    t_raw = best_time(lambda: compute_kaldi_pitch(x, popts), args.repeats)
    print(f"kaldibridge compute_kaldi_pitch:             {t_raw:7.3f} s  {seconds / t_raw:7.1f}x real time")
    t_kb = best_time(lambda: compute_and_process_kaldi_pitch(x, popts, qopts, rng=GlibcRandom(1)), args.repeats)
    print(f"kaldibridge compute_and_process_kaldi_pitch: {t_kb:7.3f} s  {seconds / t_kb:7.1f}x real time")
    if args.only_kaldibridge:
        return
    if compiled_path_available() and not args.no_numpy:
        env = {**os.environ, "KALDIBRIDGE_NO_NUMBA": "1"}
        cmd = [sys.executable, __file__, "--only-kaldibridge", "--minutes", str(args.numpy_minutes),
               "--repeats", str(args.repeats)]
        print(f"numpy path ({args.numpy_minutes:g} min excerpt, subprocess with KALDIBRIDGE_NO_NUMBA=1):")
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        for line in res.stdout.splitlines():
            if line.startswith("kaldibridge"):
                print("  " + line)
    try:
        import kaldi_native_fbank as knf
    except ImportError:
        print("peer kaldi-native-fbank is not installed: no comparison (pip install kaldi-native-fbank)")
        return
    kp, kq = knf.PitchExtractionOptions(), knf.ProcessPitchOptions()
    t_knf = best_time(lambda: knf.compute_and_process_kaldi_pitch(kp, kq, x), args.repeats)
    print(f"kaldi-native-fbank compute_and_process:      {t_knf:7.3f} s  {seconds / t_knf:7.1f}x real time")
    print(f"ratio kaldibridge / kaldi-native-fbank time: {t_kb / t_knf:.2f} ({path} Viterbi; < 1: kaldibridge faster)")
    # Agreement without the delta-pitch noise: kaldi-native-fbank draws its own noise
    # stream, kaldibridge draws glibc rand() as Kaldi does.
    kq.delta_pitch_noise_stddev = 0.0
    ours = compute_and_process_kaldi_pitch(x, popts, ProcessPitchOptions(delta_pitch_noise_stddev=0.0)).numpy()
    theirs = np.asarray(knf.compute_and_process_kaldi_pitch(kp, kq, x))
    if ours.shape == theirs.shape:
        close = np.isclose(ours, theirs, rtol=1e-3, atol=1e-3)
        print(
            f"agreement (no noise): {100 * close.all(axis=1).mean():.2f}% of frames within 1e-3 "
            f"({ours.shape[0]} frames); per column {np.round(100 * close.mean(axis=0), 2).tolist()}%"
        )
    else:
        print(f"shapes differ: kaldibridge {ours.shape}, kaldi-native-fbank {theirs.shape}")


if __name__ == "__main__":
    main()
