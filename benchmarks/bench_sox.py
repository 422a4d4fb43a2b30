"""Benchmark: kaldibridge.sox vs the ``sox`` program spawned per utterance (a wav.scp pipe).

Data: ``--minutes`` of generated 16 kHz 16-bit mono audio (fixed seed) in utterances of
``--utt-seconds``. Workloads, each over every utterance:

1. Kaldi 3-way speed perturbation: ``speed 0.9``, ``speed 1.0`` (copy), ``speed 1.1``,
   each followed by ``rate 16000`` (what ``utils/perturb_data_dir_speed.sh`` pipes).
2. ``rate 8000`` (resampling).
3. ``gain -3 highpass 100 reverb 50`` (augmentation chain), and the same with ``gain -n -3``
   (normalize first: sox buffers the whole input for it).

kaldibridge runs in this process on ``(1, time)`` tensors already in memory; the peer
reads each utterance's WAV and writes WAV to a pipe, as ``sox in.wav -t wav - ...``
does in a wav.scp. Threads: torch uses 1 thread; sox is single-threaded. Also prints
the SNR of kaldibridge's output against sox's for one utterance per workload, and which
kernel path ran (numba when installed, else numpy; ``KALDIBRIDGE_NO_NUMBA=1`` forces numpy).
One warm-up utterance per workload runs before timing (filter designs are cached).

``--clock cpu`` measures CPU time instead of wall-clock time: this process's for kaldibridge;
for sox the children's user + system time plus this process's own (spawning, reading the
pipe). Steadier on a machine shared with other work.

Usage: python benchmarks/bench_sox.py [--minutes 10] [--utt-seconds 10] [--clock cpu]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
import soundfile as sf
import torch

from kaldibridge._jit import numba_available
from kaldibridge.sox import apply_effects_tensor

WORKLOADS = {
    "speed-perturb x3 (+rate)": [[["speed", "0.9"], ["rate", "16000"]], [], [["speed", "1.1"], ["rate", "16000"]]],
    "rate 8000": [[["rate", "8000"]]],
    "gain/highpass/reverb": [[["gain", "-3"], ["highpass", "100"], ["reverb", "50"]]],
    "gain -n/highpass/reverb": [[["gain", "-n", "-3"], ["highpass", "100"], ["reverb", "50"]]],
}


def _cpu_with_children() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _utterances(minutes: float, utt_seconds: float, rate: int) -> list[np.ndarray]:
    rng = np.random.default_rng(20241124)
    n_utt = max(1, int(round(minutes * 60 / utt_seconds)))
    n = int(utt_seconds * rate)
    t = np.arange(n) / rate
    out = []
    for _ in range(n_utt):
        f0 = rng.uniform(90, 250)
        voiced = sum(np.sin(2 * math.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 12))
        env = 0.5 + 0.5 * np.sin(2 * math.pi * rng.uniform(2, 5) * t)
        sig = 0.2 * voiced * env + 0.01 * rng.standard_normal(n)
        out.append(np.clip(sig * 32768 * 0.5, -32768, 32767).astype(np.int16))
    return out


def _run_sox(path: str, chain: list[list[str]]) -> np.ndarray:
    cmd = ["sox", "-R", "-D", path, "-t", "wav", "-e", "floating-point", "-b", "32", "-"]
    for eff in chain:
        cmd += eff
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    data, _ = sf.read(io.BytesIO(raw), dtype="float32")
    return data


def _snr(ref: np.ndarray, got: np.ndarray) -> float:
    err = float(np.sum((ref.astype(np.float64) - got.astype(np.float64)) ** 2))
    return math.inf if err == 0 else 10 * math.log10(float(np.sum(ref.astype(np.float64) ** 2)) / err)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--utt-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=16000)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall-clock time (default) or CPU time (see the module docstring)")
    args = parser.parse_args()
    clock_kb = time.process_time if args.clock == "cpu" else time.perf_counter
    clock_sox = _cpu_with_children if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    utts = _utterances(args.minutes, args.utt_seconds, args.rate)
    have_sox = shutil.which("sox") is not None
    print(f"{len(utts)} utterances x {args.utt_seconds:g} s at {args.rate} Hz "
          f"({args.minutes:g} min); torch threads: {torch.get_num_threads()}; sox: {'found' if have_sox else 'NOT FOUND'}")
    path = "numba" if numba_available() else "numpy (numba absent or KALDIBRIDGE_NO_NUMBA set)"
    print(f"kernel path: {path}; {args.clock} clock")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, u in enumerate(utts):
            p = os.path.join(tmp, f"utt{i:04d}.wav")
            sf.write(p, u, args.rate, subtype="PCM_16")
            paths.append(p)
        tensors = [torch.from_numpy(u.astype(np.float32) / 32768).unsqueeze(0) for u in utts]
        print(f"{'workload':28s} {'kaldibridge s':>14s} {'sox s':>10s} {'sox/kb':>8s} {'SNR dB':>8s}")
        for name, chains in WORKLOADS.items():
            for chain in chains:  # warm-up: filter designs, kernel compilation
                apply_effects_tensor(tensors[0], args.rate, chain, precision=16)
            t0 = clock_kb()
            for x in tensors:
                for chain in chains:
                    apply_effects_tensor(x, args.rate, chain, precision=16)
            kb = clock_kb() - t0
            sx = float("nan")
            snr = float("nan")
            if have_sox:
                t0 = clock_sox()
                for p in paths:
                    for chain in chains:
                        _run_sox(p, chain)
                sx = clock_sox() - t0
                chain = chains[0]
                ref = _run_sox(paths[0], chain)
                got = apply_effects_tensor(tensors[0], args.rate, chain, precision=16)[0][0].numpy()
                snr = _snr(ref, got) if ref.shape == got.shape else float("nan")
            print(f"{name:28s} {kb:14.2f} {sx:10.2f} {sx / kb:8.2f} {snr:8.1f}")


if __name__ == "__main__":
    main()
