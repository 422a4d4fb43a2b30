"""Table I/O throughput: kaldibridge vs kaldiio vs kaldi_native_io, in one process.

Data: one hour of 80-dim float32 features (360,000 frames at 10 ms) split into about 2,000
utterances (lengths drawn with a fixed seed), written to a temporary directory. Rows:

* write ``ark,scp`` (uncompressed),
* sequential read of the archive,
* random access to 1,000 utterances through the scp (shuffled order),
* write a compressed archive (CM, ``--compression-method=2``),
* read the compressed archive.

Throughput is in MB/s of float32 feature data (rows x cols x 4 bytes). Each figure is the best
of ``--repeat`` runs with a warm page cache; within a row the libraries take turns in every
repetition, so load changes on a shared machine affect them alike. Threads: numpy/torch are single-threaded for
these operations (set OMP_NUM_THREADS=1 to be sure).

Run: ``python benchmarks/bench_table_io.py [--repeat 3] [--frames 360000] [--clock cpu]
[--rows cm]`` (``--rows`` picks rows by a word of their name, e.g. ``cm``, ``read``).

The compressed rows name the path that ran: ``compiled`` (numba kernels, see
:mod:`kaldibridge.kaldi.table.compressed`) or ``numpy`` (``KALDIBRIDGE_NO_NUMBA=1`` or numba
absent). The benchmark sets ``CM_COMPILE_AFTER_BYTES`` to 0 and loads the kernels before
timing, so the rows show the steady state; what loading numba costs a whole process is in
the module comment above ``CM_COMPILE_AFTER_BYTES``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from kaldibridge.kaldi.table import RandomAccessTableReader, SequentialTableReader, TableWriter
from kaldibridge.kaldi.table import compressed as _cm


def make_data(frames: int, dim: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    total = 0
    i = 0
    while total < frames:
        n = int(min(rng.integers(60, 300), frames - total))
        # log-mel-like values: smooth-ish, positive offset
        out[f"utt{i:05d}"] = (rng.standard_normal((n, dim)) * 2 + 10).astype(np.float32)
        total += n
        i += 1
    return out


CLOCK = time.perf_counter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=360_000)
    ap.add_argument("--dim", type=int, default=80)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--random", type=int, default=1000)
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall clock (default), or this process's CPU time (steadier on a busy machine)",
    )
    ap.add_argument(
        "--rows",
        default="",
        help="comma-separated words; run only the rows whose name contains one (e.g. 'cm')",
    )
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time

    data = make_data(args.frames, args.dim)
    mb = sum(m.nbytes for m in data.values()) / 1e6
    print(f"data: {len(data)} utterances, {sum(len(m) for m in data.values())} frames x {args.dim}, {mb:.1f} MB float32")
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, clock={args.clock}, "
        f"best of {args.repeat}"
    )

    try:
        import kaldiio
    except ImportError:
        kaldiio = None
    try:
        import kaldi_native_io as kni
    except ImportError:
        kni = None

    tmp = tempfile.mkdtemp(prefix="bench_table_io_")
    try:
        ark, scp = os.path.join(tmp, "f.ark"), os.path.join(tmp, "f.scp")
        cark = os.path.join(tmp, "c.ark")
        rng = random.Random(0)
        pick = rng.sample(sorted(data), min(args.random, len(data)))

        def kb_write() -> None:
            with TableWriter(f"ark,scp:{ark},{scp}") as w:
                for k, m in data.items():
                    w.write(k, m)

        def kb_read() -> None:
            for _k, m in SequentialTableReader(f"ark:{ark}"):
                pass

        def kb_random() -> None:
            ra = RandomAccessTableReader(f"scp:{scp}")
            for k in pick:
                ra[k]
            ra.close()

        def kb_cwrite() -> None:
            with TableWriter(f"ark:{cark}", "compressed_matrix", method=2) as w:
                for k, m in data.items():
                    w.write(k, m)

        def kb_cread() -> None:
            for _k, m in SequentialTableReader(f"ark:{cark}"):
                pass

        _cm.CM_COMPILE_AFTER_BYTES = 0  # steady state: the kernels are loaded here, untimed
        _cm.decompress(_cm.compress(np.arange(60, dtype=np.float32).reshape(20, 3), 2))
        path = "compiled" if _cm.cm_kernels_available() else "numpy"
        print(f"compressed matrices: {path} path")
        rows = [
            "write ark,scp",
            "sequential read",
            f"random access {len(pick)} via scp",
            f"write CM archive ({path})",
            f"read CM archive ({path})",
        ]
        kb = [kb_write, kb_read, kb_random, kb_cwrite, kb_cread]
        # The fraction of the data touched by the random-access row.
        frac = {r: 1.0 for r in rows}
        frac[rows[2]] = sum(data[k].nbytes for k in pick) / (mb * 1e6)

        peers: dict[str, list[Callable[[], object] | None]] = {}
        if kaldiio is not None:
            ark2, scp2, cark2 = (os.path.join(tmp, n) for n in ("k.ark", "k.scp", "kc.ark"))

            def ki_write() -> None:
                with kaldiio.WriteHelper(f"ark,scp:{ark2},{scp2}") as w:
                    for k, m in data.items():
                        w(k, m)

            def ki_read() -> None:
                for _k, m in kaldiio.load_ark(ark):
                    pass

            def ki_random() -> None:
                d = kaldiio.load_scp(scp)
                for k in pick:
                    d[k]

            def ki_cwrite() -> None:
                with kaldiio.WriteHelper(f"ark:{cark2}", compression_method=2) as w:
                    for k, m in data.items():
                        w(k, m)

            def ki_cread() -> None:
                for _k, m in kaldiio.load_ark(cark):
                    pass

            peers["kaldiio"] = [ki_write, ki_read, ki_random, ki_cwrite, ki_cread]
        if kni is not None:
            ark3, scp3, cark3 = (os.path.join(tmp, n) for n in ("n.ark", "n.scp", "nc.ark"))

            def kn_write() -> None:
                with kni.FloatMatrixWriter(f"ark,scp:{ark3},{scp3}") as w:
                    for k, m in data.items():
                        w.write(k, m)

            def kn_read() -> None:
                for _k, m in kni.SequentialFloatMatrixReader(f"ark:{ark}"):
                    np.array(m)  # a copy: its buffer is reused by the reader

            def kn_random() -> None:
                r = kni.RandomAccessFloatMatrixReader(f"scp:{scp}")
                for k in pick:
                    np.array(r[k])

            def kn_cwrite() -> None:
                with kni.CompressedMatrixWriter(f"ark:{cark3}") as w:
                    for k, m in data.items():
                        w.write(k, m, kni.CompressionMethod.kSpeechFeature)

            def kn_cread() -> None:
                for _k, m in kni.SequentialFloatMatrixReader(f"ark:{cark}"):
                    np.array(m)

            peers["kaldi_native_io"] = [kn_write, kn_read, kn_random, kn_cwrite, kn_cread]

        # Row by row, the libraries take turns within each repetition, so that a change in
        # the machine's load during the run affects all of them alike.
        libs: dict[str, list[Callable[[], object] | None]] = {"kaldibridge": list(kb), **peers}
        results: dict[str, dict[str, float | None]] = {n: {} for n in libs}
        words = [w.strip().lower() for w in args.rows.split(",") if w.strip()]
        selected = [r for r in rows if not words or any(w in r.lower() for w in words)]
        # The compressed rows read the archive kaldibridge wrote: write it when only reading.
        if any("read cm" in r.lower() for r in selected) and not any("write cm" in r.lower() for r in selected):
            kb_cwrite()
        for i, r in enumerate(rows):
            if r not in selected:
                continue
            for _ in range(args.repeat):
                for name, fns in libs.items():
                    f = fns[i]
                    if f is None:
                        continue
                    try:
                        t0 = CLOCK()
                        f()
                        dt = CLOCK() - t0
                    except Exception as e:  # noqa: BLE001 - report and go on
                        print(f"{name}: {r} failed: {e!r}")
                        fns[i] = None
                        results[name][r] = None
                        continue
                    old = results[name].get(r)
                    results[name][r] = dt if old is None else min(old, dt)

        names = list(results)
        head = f"{'operation':34s}" + "".join(f"{n + ' MB/s':>22s}" for n in names)
        head += "".join(f"{'kb / ' + n:>22s}" for n in names[1:])
        print(head)
        for r in selected:
            line = f"{r:34s}"
            speeds = {}
            for n in names:
                t = results[n].get(r)
                speeds[n] = None if t is None else mb * frac[r] / t
                line += f"{'-' if speeds[n] is None else format(speeds[n], '.0f'):>22s}"
            for n in names[1:]:
                a, b = speeds["kaldibridge"], speeds[n]
                line += f"{'-' if not (a and b) else format(a / b, '.2f') + 'x':>22s}"
            print(line)
        for missing, mod in (("kaldiio", kaldiio), ("kaldi_native_io", kni)):
            if mod is None:
                print(f"{missing}: not installed")
        print("reference (Kaldi copy-feats, measured on the issue's machine): decompress ~900 MB/s, compress ~160 MB/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
