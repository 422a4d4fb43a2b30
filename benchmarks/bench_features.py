"""Benchmark: Kaldi fbank / MFCC extraction, kaldibridge vs lhotse vs kaldi-native-fbank.

One process, generated 16 kHz speech-like audio (harmonic "vowels" with a wandering pitch,
noise "consonants" and pauses, fixed seed), by default one hour in 2-15 s utterances,
``dither=0``. Prints real-time factors (seconds of audio per second of compute) for:

* library compute, 80-bin fbank and 13-coefficient MFCC, with 1 and 2 torch threads:
  kaldibridge ``fft="kaldi"`` (bit-faithful to Kaldi's float32 FFT) with its compiled
  (numba) and its numpy split-radix path (the same bits; a row says which path ran),
  kaldibridge ``fft="torch"``, lhotse's ``lhotse.features.kaldi`` extractors,
  kaldi-native-fbank;
* the command-line tool end to end (``python -m kaldibridge compute-fbank-feats`` on a
  wav.scp of the generated files, writing an ark), as a whole process, its time on one
  short utterance (start-up) next to a bare ``python -c "import torch"``, and the
  steady-state rate (whole hour minus start-up), with the exact FFT (numpy until
  ``FFT_COMPILE_AFTER_FRAMES`` frames, then compiled), with ``KALDIBRIDGE_NO_NUMBA=1``
  (numpy throughout) and with ``KALDIBRIDGE_FAST_FFT=1``;
* the tool's loop per stage, in this process: wave table reading, feature computation,
  ark writing (seconds per hour of audio).

Peers that are not installed are reported as "not installed" (they are benchmark-only:
``pip install lhotse kaldi-native-fbank``). A CUDA device, when present, adds a batched
GPU figure. Usage: ``python benchmarks/bench_features.py [--hours 1.0] [--skip-cli] [--clock cpu]``.
``--clock cpu`` measures CPU time (this process's for the library, the child's user + system
time for the CLI) instead of wall-clock time: steadier on a machine shared with other work.

On a machine loaded by other processes the 2-thread figures mostly measure OpenMP
spin-waiting: torch's idle worker thread spins after each parallel op and competes with
the numpy work of the exact FFT path (measured on a loaded 2-core box: 327x real time,
1500x with ``OMP_WAIT_POLICY=PASSIVE`` in the environment). Compare 2-thread rows only
from a quiet machine.
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
import soundfile
import torch

SR = 16000
CLOCK = time.perf_counter  # --clock cpu: time.process_time


def speech_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A crude speech-like int16 signal: voiced segments, fricatives and pauses."""
    n = int(seconds * SR)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        seg = int(rng.uniform(0.05, 0.3) * SR)
        kind = rng.choice(["voiced", "noise", "pause"], p=[0.55, 0.25, 0.2])
        t = np.arange(seg) / SR
        if kind == "voiced":
            f0 = rng.uniform(90, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
            phase = 2 * np.pi * np.cumsum(f0) / SR
            sig = sum((0.6**h) * np.sin(h * phase) for h in range(1, 12))
        elif kind == "noise":
            sig = rng.standard_normal(seg) * 0.3
        else:
            sig = rng.standard_normal(seg) * 0.003
        env = np.hanning(seg) if seg > 2 else np.ones(seg)
        m = min(seg, n - pos)
        out[pos : pos + m] = (sig * env)[:m]
        pos += seg
    return np.clip(out * 8000, -32768, 32767).astype(np.int16)


def make_corpus(hours: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    total, utts = 0.0, []
    while total < hours * 3600:
        dur = float(rng.uniform(2, 15))
        utts.append(speech_like(dur, rng))
        total += dur
    return utts


def timed(fn, utts) -> float:
    t0 = CLOCK()
    for u in utts:
        fn(u)
    return CLOCK() - t0


def library_rows(utts: list[np.ndarray], audio_s: float) -> list[tuple[str, str, float]]:
    from kaldibridge.functional import _srfft_kernels as _srfft
    from kaldibridge.kaldi import fbank, mfcc

    tensors = [torch.from_numpy(u.astype(np.float32)) for u in utts]
    rows: list[tuple[str, str, float]] = []
    systems: list[tuple[str, object, object]] = []
    for mode, path in (("kaldi", "numba"), ("kaldi", "numpy"), ("torch", None)):

        def fb(x: torch.Tensor, m: str = mode, p: str | None = path) -> torch.Tensor:
            _srfft.FORCE_PATH = p
            return fbank(x, dither=0.0, num_mel_bins=80, fft=m)

        def mf(x: torch.Tensor, m: str = mode, p: str | None = path) -> torch.Tensor:
            _srfft.FORCE_PATH = p
            return mfcc(x, dither=0.0, fft=m)

        systems.append((f"kaldibridge fft={mode}" + (f" {path} FFT" if path else ""), fb, mf))
    try:
        from lhotse.features.kaldi.extractors import Fbank as LFbank, FbankConfig, Mfcc as LMfcc, MfccConfig

        lf = LFbank(FbankConfig(num_filters=80, dither=0.0))
        lm = LMfcc(MfccConfig(num_ceps=13, dither=0.0))
        systems.append(
            ("lhotse", lambda x: lf.extract(x.numpy(), SR), lambda x: lm.extract(x.numpy(), SR))
        )
    except ImportError:
        rows.append(("lhotse", "not installed", float("nan")))
    try:
        import kaldi_native_fbank as knf

        def knf_fbank(x: torch.Tensor) -> np.ndarray:
            o = knf.FbankOptions()
            o.frame_opts.dither = 0.0
            o.mel_opts.num_bins = 80
            f = knf.OnlineFbank(o)
            f.accept_waveform(SR, x.tolist())
            f.input_finished()
            return np.stack([f.get_frame(i) for i in range(f.num_frames_ready)]) if f.num_frames_ready else None

        def knf_mfcc(x: torch.Tensor) -> np.ndarray:
            o = knf.MfccOptions()
            o.frame_opts.dither = 0.0
            f = knf.OnlineMfcc(o)
            f.accept_waveform(SR, x.tolist())
            f.input_finished()
            return np.stack([f.get_frame(i) for i in range(f.num_frames_ready)]) if f.num_frames_ready else None

        systems.append(("kaldi-native-fbank", knf_fbank, knf_mfcc))
    except ImportError:
        rows.append(("kaldi-native-fbank", "not installed", float("nan")))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            for name, fb, mf in systems:
                fb(tensors[0])  # warm-up (constant tables, caches, compiled kernel)
                mf(tensors[0])
                _srfft._last_path = "none"
                rows.append((f"{name} [{threads} thr]", "fbank-80", audio_s / timed(fb, tensors)))
                rows.append((f"{name} [{threads} thr]", "mfcc-13", audio_s / timed(mf, tensors)))
                if name.startswith("kaldibridge fft=kaldi"):  # which split-radix path really ran
                    rows.append((f"  {name} [{threads} thr]: FFT path that ran", _srfft.last_fft_path(), float("nan")))
    torch.set_num_threads(1)
    _srfft.FORCE_PATH = None
    return rows


def gpu_row(utts: list[np.ndarray], audio_s: float) -> list[tuple[str, str, float]]:
    if not torch.cuda.is_available():
        return [("kaldibridge GPU batched", "no CUDA device", float("nan"))]
    from kaldibridge.kaldi import fbank

    dev = torch.device("cuda")
    batch = 64
    chunks = [utts[i : i + batch] for i in range(0, len(utts), batch)]
    padded = []
    for c in chunks:
        lens = [len(u) for u in c]
        x = torch.zeros(len(c), max(lens))
        for i, u in enumerate(c):
            x[i, : len(u)] = torch.from_numpy(u.astype(np.float32))
        padded.append((x.to(dev), torch.tensor(lens, device=dev)))
    rows = []
    for mode in ("kaldi", "torch"):
        fbank(padded[0][0], lengths=padded[0][1], dither=0.0, num_mel_bins=80, fft=mode)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for x, lens in padded:
            fbank(x, lengths=lens, dither=0.0, num_mel_bins=80, fft=mode)
        torch.cuda.synchronize()
        rows.append((f"kaldibridge GPU batch={batch} fft={mode}", "fbank-80", audio_s / (time.perf_counter() - t0)))
    return rows


def cli_rows(utts: list[np.ndarray], audio_s: float) -> list[tuple[str, str, float]]:
    rows = []
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        lines = []
        for i, u in enumerate(utts):
            p = d / f"u{i:05d}.wav"
            soundfile.write(p, u, SR, subtype="PCM_16")
            lines.append(f"utt{i:05d} {p}\n")
        (d / "wav.scp").write_text("".join(lines))
        (d / "one.scp").write_text(lines[0])

        def run(args: list[str], extra: dict[str, str] | None = None) -> float:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(
                args, check=True, env={**env, **(extra or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if CLOCK is time.perf_counter:
                return time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

        bare = min(run([sys.executable, "-c", "import torch"]) for _ in range(3))
        tool = [sys.executable, "-m", "kaldibridge", "compute-fbank-feats", "--dither=0"]
        one = min(run(tool + [f"scp:{d / 'one.scp'}", f"ark:{d / 'one.ark'}"]) for _ in range(3))
        whole = run(tool + [f"scp:{d / 'wav.scp'}", f"ark:{d / 'all.ark'}"])
        rows.append(("python -c 'import torch'", "seconds", bare))
        rows.append(("CLI start-up (one short utterance)", "seconds", one))
        rows.append(("CLI start-up minus bare torch import", "seconds", one - bare))
        rows.append(("CLI whole corpus, end to end", "x real time", audio_s / whole))
        rows.append(("CLI steady state (whole - start-up)", "x real time", audio_s / max(whole - one, 1e-9)))
        frames = sum(max(0, 1 + (len(u) - 400) // 160) for u in utts)
        thr = _fft_threshold()
        path = f"numpy for {thr} frames, then numba" if frames > thr else "numpy throughout"
        rows.append((f"  CLI FFT path above: {path}", f"{frames} frames", float("nan")))

        def steady(name: str, extra: dict[str, str]) -> None:
            t = run(tool + [f"scp:{d / 'wav.scp'}", f"ark:{d / 'variant.ark'}"], extra)
            rows.append((f"CLI {name}, steady state", "x real time", audio_s / max(t - one, 1e-9)))

        steady("KALDIBRIDGE_NO_NUMBA=1 (numpy FFT)", {"KALDIBRIDGE_NO_NUMBA": "1"})
        steady("numba FFT from the first frame", {"KALDIBRIDGE_FFT_COMPILE_AFTER_FRAMES": "0"})
        env["KALDIBRIDGE_FAST_FFT"] = "1"
        whole_fast = run(tool + [f"scp:{d / 'wav.scp'}", f"ark:{d / 'fast.ark'}"])
        rows.append(("CLI KALDIBRIDGE_FAST_FFT=1 steady state", "x real time", audio_s / max(whole_fast - one, 1e-9)))
        rows += cli_stage_rows(d / "wav.scp", d / "stages.ark", audio_s)
    return rows


def _fft_threshold() -> int:
    from kaldibridge.functional._srfft_kernels import FFT_COMPILE_AFTER_FRAMES

    return FFT_COMPILE_AFTER_FRAMES


def cli_stage_rows(scp: Path, ark: Path, audio_s: float) -> list[tuple[str, str, float]]:
    """The tool's loop split by stage (same reader, computer and writer as the tool)."""
    from kaldibridge.functional import _srfft_kernels as _srfft
    from kaldibridge.kaldi.features.fbank import FbankComputer
    from kaldibridge.kaldi.table import SequentialTableReader, TableWriter

    computer = FbankComputer(dither=0.0)
    read = compute = write = 0.0
    reader = SequentialTableReader(f"scp:{scp}", "wave")
    writer = TableWriter(f"ark:{ark}", "matrix")
    it = iter(reader)
    while True:
        t0 = CLOCK()
        try:
            _, wave = next(it)
        except StopIteration:
            break
        samples = torch.from_numpy(np.ascontiguousarray(wave.data[0], dtype=np.float32))
        t1 = CLOCK()
        feats = computer.compute_utterance(samples).numpy()
        t2 = CLOCK()
        writer.write("utt", feats)
        t3 = CLOCK()
        read, compute, write = read + t1 - t0, compute + t2 - t1, write + t3 - t2
    reader.close()
    writer.close()
    hours = audio_s / 3600
    return [
        ("CLI loop stage: read wave table", "s per hour", read / hours),
        (f"CLI loop stage: compute fbank-23 ({_srfft.last_fft_path()} FFT)", "s per hour", compute / hours),
        ("CLI loop stage: write ark", "s per hour", write / hours),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=1.0, help="audio to generate (default 1 hour)")
    ap.add_argument("--skip-cli", action="store_true", help="skip the command-line measurements")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall-clock time (default) or CPU time of the measured process")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    utts = make_corpus(args.hours)
    audio_s = sum(len(u) for u in utts) / SR
    print(f"corpus: {len(utts)} utterances, {audio_s / 3600:.2f} h at {SR} Hz, dither 0, {args.clock} clock")
    rows = library_rows(utts, audio_s) + gpu_row(utts, audio_s)
    if not args.skip_cli:
        rows += cli_rows(utts, audio_s)
    width = max(len(r[0]) for r in rows)
    for name, what, value in rows:
        shown = f"{value:10.1f}" if value == value else ""
        unit = "x RT" if what in ("fbank-80", "mfcc-13") else ""
        print(f"{name:<{width}}  {what:<14} {shown} {unit}")
    # ratios against lhotse where both exist
    table = {(n, w): v for n, w, v in rows}
    for threads in (1, 2):
        for what in ("fbank-80", "mfcc-13"):
            peer = table.get((f"lhotse [{threads} thr]", what))
            if peer is None or peer != peer:
                continue
            for mode in ("kaldi numba FFT", "kaldi numpy FFT", "torch"):
                ours = table.get((f"kaldibridge fft={mode} [{threads} thr]", what))
                if ours:
                    print(f"ratio kaldibridge fft={mode} / lhotse, {what}, {threads} thr: {ours / peer:.2f}")


if __name__ == "__main__":
    main()
