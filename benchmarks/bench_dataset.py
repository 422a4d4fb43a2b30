"""KaldiDataset through a DataLoader vs reading the same WAV files with soundfile in a loop.

The data-dir script benchmarks and this one share their code in ``bench_datadir.py``; this
entry point runs only the dataset part (issue #7 names it ``bench_dataset.py``).

    python benchmarks/bench_dataset.py --wavs 2000 --workers 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_datadir import bench_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wavs", type=int, default=2000, help="number of 3 s utterances")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as t:
        bench_dataset(args.wavs, args.workers, Path(t))


if __name__ == "__main__":
    main()
