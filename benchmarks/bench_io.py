"""Benchmark: kaldibridge.io.load vs soundfile.read on one hour of 16-bit 16 kHz WAV.

Both decode the same file to float32 in the same process, alternately; best of
``--repeats``.
kaldibridge returns a ``(1, frames)`` torch tensor, soundfile a ``(frames,)`` numpy
array. Also times kaldibridge.kaldi.wave.read_kaldi_wave (int16 scale, own decoder)
against soundfile's int16 read. Target: load() within 10 % of soundfile.

Usage: python benchmarks/bench_io.py [--seconds 3600] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import soundfile as sf
import torch

import kaldibridge.io as kio
from kaldibridge.kaldi.wave import read_kaldi_wave


def _best_pair(fa, fb, repeats: int) -> tuple[float, float]:
    """Best-of times of two functions, run alternately so that load changes hit both."""
    best_a = best_b = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fa()
        t1 = time.perf_counter()
        fb()
        t2 = time.perf_counter()
        best_a, best_b = min(best_a, t1 - t0), min(best_b, t2 - t1)
    return best_a, best_b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rate", type=int, default=16000)
    args = parser.parse_args()

    torch.set_num_threads(1)
    rng = np.random.default_rng(20240601)
    n = int(args.seconds * args.rate)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "hour.wav")
        samples = (rng.standard_normal(n) * 3000).clip(-32768, 32767).astype(np.int16)
        sf.write(path, samples, args.rate, subtype="PCM_16")
        del samples
        size_mb = os.path.getsize(path) / 1e6
        print(f"file: {n} samples ({args.seconds:.0f} s at {args.rate} Hz, 16-bit mono, "
              f"{size_mb:.1f} MB); torch threads: {torch.get_num_threads()}; "
              f"best of {args.repeats}")

        # warm the page cache and check both agree
        a, _ = kio.load(path)
        b, _ = sf.read(path, dtype="float32")
        assert np.array_equal(a.numpy()[0], b)
        del a, b

        t_sf, t_kb = _best_pair(lambda: sf.read(path, dtype="float32"), lambda: kio.load(path),
                                args.repeats)
        print(f"soundfile.read(float32)      {t_sf * 1e3:9.1f} ms")
        print(f"kaldibridge.io.load          {t_kb * 1e3:9.1f} ms")
        print(f"ratio kaldibridge/soundfile  {t_kb / t_sf:9.3f}  (overhead {100 * (t_kb / t_sf - 1):+.1f} %)")

        with open(path, "rb") as fh:
            blob = fh.read()
        t_sf16, t_kw = _best_pair(lambda: sf.read(path, dtype="int16"),
                                  lambda: read_kaldi_wave(blob), args.repeats)
        print(f"soundfile.read(int16)        {t_sf16 * 1e3:9.1f} ms")
        print(f"read_kaldi_wave (in memory)  {t_kw * 1e3:9.1f} ms  (ratio {t_kw / t_sf16:.3f})")


if __name__ == "__main__":
    main()
