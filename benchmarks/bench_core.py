"""Benchmark: kaldibridge Spectrogram / MelSpectrogram vs a plain torch.stft reference.

torchaudio cannot be installed next to torch 2.13, so the peer is the textbook pipeline
written inline below (torch.stft -> |.|^2 -> matmul with the same filter bank). Both run on
the same generated audio in this process; the script prints both timings and the ratio
(kaldibridge / reference; below 1 means kaldibridge is faster) and checks the outputs agree.

Usage: python benchmarks/bench_core.py [--seconds 600] [--batch 8] [--threads 1] [--repeat 5]
       [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

import kaldibridge.transforms as T
from kaldibridge.functional import melscale_fbanks


def reference_spectrogram(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Plain power spectrogram of ``(batch, time)`` audio."""
    spec = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="reflect", return_complex=True)
    return spec.abs().pow(2)


def reference_melspectrogram(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """Plain mel spectrogram: power spectrogram, then the filter bank over frequencies."""
    return torch.matmul(reference_spectrogram(x, n_fft, hop, window).transpose(-1, -2), fb).transpose(-1, -2)


def timed(fn, repeat: int, sync) -> float:
    fn()  # warm-up
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="total audio, split over the batch")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sr, n_fft, hop, n_mels = 16000, 400, 160, 80
    per_item = int(args.seconds * sr / args.batch)
    x = 0.1 * torch.randn(args.batch, per_item, generator=torch.Generator().manual_seed(0))
    x = x.to(device)
    window = torch.hann_window(n_fft, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fb = melscale_fbanks(n_fft // 2 + 1, 0.0, sr / 2, n_mels, sr).to(device)
        spec_mod = T.Spectrogram(n_fft=n_fft, hop_length=hop).to(device)
        mel_mod = T.MelSpectrogram(sample_rate=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels).to(device)

    print(f"{args.seconds:.0f} s of 16 kHz audio as {args.batch} x {per_item} samples, "
          f"{args.threads} thread(s), device {device}, median of {args.repeat}")
    cases = [
        ("Spectrogram", lambda: spec_mod(x), lambda: reference_spectrogram(x, n_fft, hop, window)),
        ("MelSpectrogram", lambda: mel_mod(x), lambda: reference_melspectrogram(x, n_fft, hop, window, fb)),
    ]
    with torch.inference_mode():
        for name, ours, ref in cases:
            torch.testing.assert_close(ours(), ref(), rtol=1e-4, atol=1e-4)
            t_ours = timed(ours, args.repeat, sync)
            t_ref = timed(ref, args.repeat, sync)
            print(f"{name:16s} kaldibridge {t_ours * 1e3:9.1f} ms   torch.stft reference {t_ref * 1e3:9.1f} ms   "
                  f"ratio {t_ours / t_ref:5.2f}   ({args.seconds / t_ours:8.0f}x real time)")


if __name__ == "__main__":
    main()
