"""Benchmark: data-directory operations and the KaldiDataset.

1. ``fix_data_dir``, ``validate_data_dir`` and ``split_data`` on a generated data dir of
   ``--utts`` utterances: kaldibridge (in process) vs Kaldi's own scripts, when a Kaldi
   checkout's ``egs/wsj/s5/utils`` is given with ``--kaldi-utils`` (bash, perl, awk and
   GNU sort needed; the scripts run unmodified with ``LC_ALL=C``). Outputs are compared.
2. Utterances/s through ``DataLoader(KaldiDataset, num_workers=N)`` vs reading the same
   wav files with ``soundfile.read`` in a plain loop (``--wavs`` files of 3 s).

Generated data, fixed seed; torch uses ``--threads`` threads.

Usage: python benchmarks/bench_datadir.py [--utts 200000] [--wavs 2000] [--workers 2]
       [--kaldi-utils /path/to/kaldi/egs/wsj/s5/utils]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from kaldibridge.kaldi.datadir import Console, KaldiDataset, collate_padded, fix, split, validate


def _make_dir(d: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    spk = rng.integers(0, max(1, n // 50), size=n)
    utts = [f"spk{s:05d}-utt{i:07d}" for i, s in enumerate(spk)]
    order = rng.permutation(n)  # unsorted on purpose: fix has work to do
    drop = set(rng.choice(n, size=n // 100, replace=False).tolist())
    with open(d / "utt2spk", "w") as f:
        f.writelines(f"{utts[i]} spk{spk[i]:05d}\n" for i in order)
    with open(d / "text", "w") as f:
        f.writelines(f"{utts[i]} SOME WORDS {i}\n" for i in order if i not in drop)
    with open(d / "wav.scp", "w") as f:
        f.writelines(f"{utts[i]} /data/{utts[i]}.wav\n" for i in order)
    (d / "spk2utt").write_text("")


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_scripts(utts: int, kaldi_utils: str | None, tmp: Path) -> None:
    print(f"== data-dir scripts on {utts} utterances ==")
    _make_dir(tmp / "src", utts)
    results = {}
    for who in ("kaldibridge", "kaldi"):
        if who == "kaldi" and not kaldi_utils:
            print("kaldi: skipped (no --kaldi-utils)")
            break
        root = tmp / who
        shutil.copytree(tmp / "src", root / "data")
        if who == "kaldi":
            (root / "utils").symlink_to(Path(kaldi_utils).resolve())
            env = {**os.environ, "LC_ALL": "C", "PATH": f"{root / 'utils'}:{os.environ['PATH']}"}

            def run(*cmd: str) -> None:
                subprocess.run(cmd, cwd=root, env=env, check=False, capture_output=True)

            t_fix = _time(lambda: run("utils/fix_data_dir.sh", "data"))
            t_val = _time(lambda: run("utils/validate_data_dir.sh", "--no-feats", "data"))
            t_split = _time(lambda: run("utils/split_data.sh", "data", "32"))
        else:
            cwd = os.getcwd()
            os.chdir(root)
            try:
                t_fix = _time(lambda: fix("data", console=Console(out=lambda s: None, err=lambda s: None)))
                t_val = _time(lambda: validate("data", no_feats=True, console=Console(out=lambda s: None)))
                t_split = _time(lambda: split("data", 32, console=Console(out=lambda s: None)))
            finally:
                os.chdir(cwd)
        results[who] = (t_fix, t_val, t_split)
        print(f"{who:12s} fix {t_fix:7.2f} s   validate {t_val:7.2f} s   split 32 {t_split:7.2f} s")
    if "kaldi" in results:
        a, b = results["kaldibridge"], results["kaldi"]
        print("ratio (kaldi / kaldibridge): " + "  ".join(f"{y / x:5.2f}x" for x, y in zip(a, b)))
        same = all((tmp / "kaldibridge/data" / f).read_bytes() == (tmp / "kaldi/data" / f).read_bytes()
                   for f in ("utt2spk", "spk2utt", "text", "wav.scp", "split32/7/utt2spk"))
        print(f"outputs identical: {same}")


def bench_dataset(wavs: int, workers: int, tmp: Path) -> None:
    print(f"== {wavs} wav files of 3 s through the DataLoader ({workers} workers) ==")
    d = tmp / "wavdir"
    (d / "wav").mkdir(parents=True)
    rng = np.random.default_rng(1)
    lines = []
    for i in range(wavs):
        path = d / "wav" / f"u{i:06d}.wav"
        sf.write(str(path), rng.integers(-3000, 3000, size=48000, dtype=np.int16), 16000, subtype="PCM_16")
        lines.append(f"s{i % 50:03d}-u{i:06d} {path}")
    lines.sort()
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    (d / "utt2spk").write_text("".join(f"{ln.split()[0]} {ln.split()[0][:4]}\n" for ln in lines))
    paths = [ln.split()[1] for ln in lines]

    def plain() -> None:
        for p in paths:
            sf.read(p, dtype="float32")

    ds = KaldiDataset(d)

    def loader() -> None:
        for _ in DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=collate_padded):
            pass

    plain()  # warm the page cache
    t_sf, t_dl = _time(plain), _time(loader)
    print(f"soundfile loop      {wavs / t_sf:9.1f} utt/s")
    print(f"KaldiDataset+loader {wavs / t_dl:9.1f} utt/s   (ratio {t_sf / t_dl:.2f}x of the plain loop)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--utts", type=int, default=200_000)
    ap.add_argument("--wavs", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kaldi-utils", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as t:
        bench_scripts(args.utts, args.kaldi_utils, Path(t))
        bench_dataset(args.wavs, args.workers, Path(t))


if __name__ == "__main__":
    main()
