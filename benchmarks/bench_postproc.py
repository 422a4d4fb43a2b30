"""Benchmark: feature post-processing (apply-cmvn, add-deltas, splice-feats, sliding CMN).

One hour of 40-dim features (360 utterances x 1000 frames = 360,000 frames, 36 speakers
with per-speaker CMVN stats) goes through

* apply-cmvn (per-speaker stats, means and variances) + add-deltas + splice-feats (+-3), and
* apply-cmvn-sliding (default window, means only),

first as library calls on numpy arrays, as the tools make them (kaldibridge vs. a
vectorized numpy implementation of the same math written here, the in-run peer; best
of ``--repeat``, CPU time of this process by default, ``--clock wall`` for wall time),
then as CLI pipelines (``python -m kaldibridge`` processes joined by pipes, as Kaldi
recipes run them), reporting each CLI step's time beyond interpreter and import
start-up (measured with the same command on an empty archive).

Library calls are timed the way the tools use them: one utterance at a time, each
result dropped before the next call (a tool writes it and moves on). Keeping all 360
results alive instead makes every output land on fresh pages, and both sides then
measure mostly the kernel's page-fault handling (``--keep-outputs`` shows that case).
Neither side is bit-exact to Kaldi for add-deltas (Kaldi's BLAS sums the taps with
fused multiply-adds); both agree with Kaldi to float rounding.

Generated data, fixed seed; torch uses ``--threads`` threads (default 1), and the
numpy peer and kaldibridge's numpy paths run single-threaded numpy code (no BLAS).

Usage: python benchmarks/bench_postproc.py [--threads N] [--repeat R] [--clock cpu|wall]
                                           [--keep-outputs] [--no-cli] [--no-library]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from kaldibridge.kaldi.features.cmvn import apply_cmvn, apply_cmvn_sliding, compute_cmvn_stats
from kaldibridge.kaldi.features.deltas import compute_deltas_kaldi
from kaldibridge.kaldi.features.splice import splice_feats
from kaldibridge.kaldi.table import TableWriter

NUM_UTTS, FRAMES, DIM, NUM_SPK = 360, 1000, 40, 36


# --------------------------------------------------------------------------- numpy peer
def np_apply_cmvn(x: np.ndarray, stats: np.ndarray) -> np.ndarray:
    dim = x.shape[1]
    count = stats[0, dim]
    mean = stats[0, :dim] / count
    var = np.maximum(stats[1, :dim] / count - mean * mean, 1e-20)
    scale = 1.0 / np.sqrt(var)
    return x * scale.astype(np.float32) + (-mean * scale).astype(np.float32)


def np_delta_filters(order: int, window: int) -> list[np.ndarray]:
    base = np.arange(-window, window + 1, dtype=np.float64) / sum(j * j for j in range(-window, window + 1))
    out = [np.ones(1)]
    for _ in range(order):
        out.append(np.convolve(out[-1], base))
    return [f.astype(np.float32) for f in out]


_FILTERS = np_delta_filters(2, 2)


def np_add_deltas(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    reach = (len(_FILTERS[-1]) - 1) // 2
    padded = np.pad(x, ((reach, reach), (0, 0)), mode="edge")
    outs = [x]
    for f in _FILTERS[1:]:
        half = (len(f) - 1) // 2
        acc = np.zeros_like(x)
        for k, w in enumerate(f):
            if w != 0:
                s = reach - half + k
                acc += w * padded[s : s + n]
        outs.append(acc)
    return np.concatenate(outs, axis=1)


def np_splice(x: np.ndarray, left: int = 3, right: int = 3) -> np.ndarray:
    n = x.shape[0]
    idx = np.clip(np.arange(n)[:, None] + np.arange(-left, right + 1)[None, :], 0, n - 1)
    return x[idx].reshape(n, -1)


def np_sliding_cmn(x: np.ndarray, window: int = 600, min_window: int = 100) -> np.ndarray:
    n = x.shape[0]
    t = np.arange(n)
    start = np.maximum(t - window, 0)
    end = np.maximum(t + 1, min_window)  # the window ends at the frame, at least min_window long
    over = np.maximum(end - n, 0)
    start = np.maximum(start - over, 0)
    end = np.minimum(end, n)
    prefix = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0, dtype=np.float64)])
    mean = (prefix[end] - prefix[start]) / (end - start)[:, None]
    return (x - mean).astype(np.float32)


# --------------------------------------------------------------------------- helpers
CLOCK = time.process_time
KEEP_OUTPUTS = False


def best_of(fn, repeat: int) -> float:
    """Best time of ``repeat`` runs (CPU time by default: less disturbed by other processes)."""
    times = []
    for _ in range(repeat):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return min(times)


def over_items(fn, items) -> object:
    """A benchmark body calling ``fn(*item)`` for every item; results are dropped one by
    one, or all kept until the end with ``--keep-outputs``."""
    if KEEP_OUTPUTS:
        return lambda: [fn(*item) for item in items]

    def body() -> None:
        for item in items:
            fn(*item)

    return body


def report(name: str, ours: float, peer: float) -> None:
    print(f"{name:42s} kaldibridge {ours * 1e3:8.1f} ms   numpy {peer * 1e3:8.1f} ms   speed-up x{peer / ours:5.2f}")


def make_data() -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, np.ndarray]]:
    rng = np.random.default_rng(1234)
    feats, utt2spk = {}, {}
    for i in range(NUM_UTTS):
        spk = f"spk{i % NUM_SPK:03d}"
        utt = f"{spk}-utt{i:04d}"
        feats[utt] = (rng.standard_normal((FRAMES, DIM), dtype=np.float32) * 3 + 10).astype(np.float32)
        utt2spk[utt] = spk
    stats: dict[str, np.ndarray] = {}
    for utt, x in feats.items():
        s = compute_cmvn_stats(x)
        stats[utt2spk[utt]] = stats[utt2spk[utt]] + s if utt2spk[utt] in stats else s
    return feats, utt2spk, stats


def bench_library(feats, utt2spk, stats, repeat: int) -> None:
    items = list(feats.items())
    # check both implementations agree before timing them
    u, x = items[0]
    s = stats[utt2spk[u]]
    np.testing.assert_allclose(apply_cmvn(x, s, True), np_apply_cmvn(x, s), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(compute_deltas_kaldi(x), np_add_deltas(x), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(splice_feats(x, 3, 3), np_splice(x))
    np.testing.assert_allclose(apply_cmvn_sliding(x), np_sliding_cmn(x), rtol=1e-5, atol=1e-4)

    cmvn_items = [(x, stats[utt2spk[u]]) for u, x in items]
    x_items = [(x,) for _, x in items]

    def ours_chain(x: np.ndarray, s: np.ndarray) -> np.ndarray:
        return splice_feats(compute_deltas_kaldi(apply_cmvn(x, s, True)), 3, 3)

    def peer_chain(x: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np_splice(np_add_deltas(np_apply_cmvn(x, s)))

    def ours_cmvn(x: np.ndarray, s: np.ndarray) -> np.ndarray:
        return apply_cmvn(x, s, True)

    def ours_splice(x: np.ndarray) -> np.ndarray:
        return splice_feats(x, 3, 3)

    kept = "all outputs kept" if KEEP_OUTPUTS else "each output dropped, as the tools do"
    print(f"library calls, {NUM_UTTS} utterances x {FRAMES} frames x {DIM} dims, one call per utterance ({kept}):")
    rows = [
        ("apply-cmvn (norm-vars)", ours_cmvn, np_apply_cmvn, cmvn_items),
        ("add-deltas", compute_deltas_kaldi, np_add_deltas, x_items),
        ("splice-feats +-3", ours_splice, np_splice, x_items),
        ("apply-cmvn + add-deltas + splice-feats", ours_chain, peer_chain, cmvn_items),
        ("apply-cmvn-sliding", apply_cmvn_sliding, np_sliding_cmn, x_items),
    ]
    for name, ours, peer, data in rows:
        # alternate the two sides so that a change in machine load hits both
        t_ours, t_peer = [], []
        for _ in range(repeat):
            t_ours.append(best_of(over_items(ours, data), 1))
            t_peer.append(best_of(over_items(peer, data), 1))
        report(name, min(t_ours), min(t_peer))


def bench_cli(feats, utt2spk, stats, threads: int) -> None:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    py = [sys.executable, "-m", "kaldibridge"]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        with TableWriter(f"ark:{d / 'feats.ark'}") as w:
            for k, v in feats.items():
                w.write(k, v)
        with TableWriter(f"ark:{d / 'cmvn.ark'}", "double_matrix") as w:
            for k, v in stats.items():
                w.write(k, v)
        (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utt2spk.items()))
        (d / "empty.ark").write_bytes(b"")

        def run(cmd: str, check: bool = True) -> float:
            """Wall time, or with --clock cpu the CPU time (user + system) of the
            command's processes (the shell and everything it waited for)."""
            r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(cmd, shell=True, check=check, cwd=d, env=env, stderr=subprocess.DEVNULL)
            r1, t1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            if CLOCK is time.perf_counter:
                return t1 - t0
            return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

        k = " ".join(py)
        steps = {
            "apply-cmvn": f"{k} apply-cmvn --norm-vars=true --utt2spk=ark:utt2spk ark:cmvn.ark ark:{{inp}} ark:out.ark",
            "add-deltas": f"{k} add-deltas ark:{{inp}} ark:out.ark",
            "splice-feats": f"{k} splice-feats --left-context=3 --right-context=3 ark:{{inp}} ark:out.ark",
            "apply-cmvn-sliding": f"{k} apply-cmvn-sliding ark:{{inp}} ark:out.ark",
        }
        what = "wall time" if CLOCK is time.perf_counter else "CPU time of the processes"
        print(f"CLI steps on one hour of features ({what}; start-up = same command on an empty archive):")
        for name, cmd in steps.items():
            startup = min(run(cmd.format(inp="empty.ark"), check=False) for _ in range(2))  # exits 1: nothing done
            full = min(run(cmd.format(inp="feats.ark")) for _ in range(2))
            print(f"  {name:22s} total {full:6.2f} s   start-up {startup:6.2f} s   work beyond start-up {full - startup:6.2f} s")
        pipeline = (
            f"{k} apply-cmvn --norm-vars=true --utt2spk=ark:utt2spk ark:cmvn.ark ark:feats.ark ark:- | "
            f"{k} add-deltas ark:- ark:- | {k} splice-feats --left-context=3 --right-context=3 ark:- ark:out.ark"
        )
        print(f"  pipeline apply-cmvn | add-deltas | splice-feats: {run(pipeline):6.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--keep-outputs", action="store_true", help="keep every result until the loop ends")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--no-library", action="store_true")
    args = ap.parse_args()
    global CLOCK, KEEP_OUTPUTS
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    KEEP_OUTPUTS = args.keep_outputs
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, numpy {np.__version__}, torch threads {args.threads}, clock {args.clock}")
    feats, utt2spk, stats = make_data()
    if not args.no_library:
        bench_library(feats, utt2spk, stats, args.repeat)
    if not args.no_cli:
        bench_cli(feats, utt2spk, stats, args.threads)


if __name__ == "__main__":
    main()
