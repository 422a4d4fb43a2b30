"""Benchmark: MelSpectrogram, MFCC and Resample (48k->16k, 16k->8k) against peers.

Peers, run on the same generated audio in this process:

* MelSpectrogram / MFCC: the textbook torch pipeline written inline below (torch.stft ->
  |.|^2 -> matmul with the same mel bank; for MFCC then dB and matmul with the same DCT).
  torchaudio cannot be installed next to torch 2.13.
* Resample: ``scipy.signal.resample_poly`` (a different, Kaiser-windowed FIR, so the outputs
  differ slightly; the script prints the RMS difference as a sanity check).

The audio (default one hour) is cut into 60 s clips stacked as a batch. Each case runs with
one torch thread and with all threads; scipy is single-threaded either way. Printed: median
seconds, the ratio kaldibridge / peer (below 1 means kaldibridge is faster) and the real-time
factor. With ``--device cuda`` the kaldibridge and naive torch cases run on the GPU as a
batch of 64 x 10 s (scipy stays on the CPU).

The effects with feedback (``--effect-seconds``, default 20 s of 16 kHz audio as 2 x 10 s
clips, single thread) are compared with the per-sample torch loop that torchaudio runs
(written inline below, one step per sample over the batch): phaser and flanger with
``regen``; ``vad`` is compared with the SoX effect port of ``kaldibridge.sox`` (numpy).

Usage: python benchmarks/bench_transforms.py [--seconds 3600] [--repeat 3] [--device cpu|cuda]
    [--effect-seconds 20]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import scipy.signal
import torch

import kaldibridge.functional as F
import kaldibridge.transforms as T
from kaldibridge.functional import create_dct, melscale_fbanks
from kaldibridge.functional.modulation import wave_table
from kaldibridge.sox import apply_effects_tensor

N_FFT, HOP, N_MELS, N_MFCC = 400, 160, 80, 40


def naive_mel(x: torch.Tensor, window: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """Power mel spectrogram ``(batch, n_mels, frames)`` of ``(batch, time)`` audio."""
    spec = torch.stft(x, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    return torch.matmul(spec.abs().pow(2).transpose(-1, -2), fb).transpose(-1, -2)


def naive_mfcc(x: torch.Tensor, window: torch.Tensor, fb: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
    """MFCC ``(batch, n_mfcc, frames)``: dB of the mel power (80 dB floor per item), then DCT."""
    db = 10.0 * torch.log10(torch.clamp(naive_mel(x, window, fb), min=1e-10))
    floor = db.amax(dim=(-2, -1), keepdim=True) - 80.0
    db = torch.maximum(db, floor)
    return torch.matmul(db.transpose(-1, -2), dct).transpose(-1, -2)


def loop_phaser(x: torch.Tensor, sr: int, decay: float = 0.4) -> torch.Tensor:
    """Default phaser as a per-sample loop over a circular delay line (torchaudio's way)."""
    dlen = int(3.0 * 0.001 * sr + 0.5)
    mlen = int(sr / 0.5 + 0.5)
    mod = wave_table("sine", mlen, 1.0, float(dlen), math.pi / 2, True).tolist()
    buf = [torch.zeros(x.shape[0], dtype=x.dtype)] * dlen
    cols = (x * 0.4).unbind(-1)
    out = []
    pos = 0
    for i, col in enumerate(cols):
        v = col + buf[(pos + mod[i % mlen]) % dlen] * decay
        pos = (pos + 1) % dlen
        buf[pos] = v
        out.append(v)
    return (torch.stack(out, -1) * 0.74).clamp(-1, 1)


def loop_flanger(x: torch.Tensor, sr: int, regen: float) -> torch.Tensor:
    """Mono flanger with feedback (defaults otherwise) as a per-sample loop."""
    fb = regen / 100
    blen = int(0.002 * sr + 0.5) + 2
    lfo_len = int(sr / 0.5)
    lfo = wave_table("sine", lfo_len, 0.0, blen - 2.0, 3 * math.pi / 2, False).tolist()
    in_gain, delay_gain = 1 / 1.71, 0.71 / 1.71 * (1 - abs(fb))
    w: list[torch.Tensor] = []
    zero = torch.zeros(x.shape[0], dtype=x.dtype)
    last = zero
    out = []
    for i, col in enumerate(x.unbind(-1)):
        w.append(col + last * fb)
        d = lfo[i % lfo_len]
        k = int(math.floor(d))
        f = d - k
        d0 = w[i - k] if i - k >= 0 else zero
        d1 = w[i - k - 1] if i - k - 1 >= 0 else zero
        last = d0 + (d1 - d0) * f
        out.append(col * in_gain + last * delay_gain)
    return torch.stack(out, -1).clamp(-1, 1)


def sox_vad(x: torch.Tensor, sr: int) -> list[torch.Tensor]:
    return [apply_effects_tensor(row[None].double(), sr, [["vad"]])[0][0] for row in x]


def speechlike(seconds: float, sr: int, clip: float) -> torch.Tensor:
    """Noise, then a harmonic 150 Hz 'voice' from a third of each clip on (so vad triggers)."""
    per = int(clip * sr)
    n = max(1, round(seconds / clip))
    g = torch.Generator().manual_seed(1)
    t = torch.arange(per, dtype=torch.float64) / sr
    voice = sum(torch.sin(2 * math.pi * 150.0 * h * t) / h for h in range(1, 12)) * 0.1
    voice = voice * (t > clip / 3)
    return voice + 0.003 * torch.randn(n, per, generator=g, dtype=torch.float64)


def run_effects(seconds: float, repeat: int) -> None:
    torch.set_num_threads(1)
    sr = 16000
    x = speechlike(seconds, sr, 10.0)
    cases: list[tuple[str, Callable[[], object], str, Callable[[], object]]] = [
        ("phaser", lambda: F.phaser(x, sr), "per-sample loop", lambda: loop_phaser(x, sr)),
        ("flanger regen=50", lambda: F.flanger(x[:, None], sr, regen=50.0)[:, 0], "per-sample loop",
         lambda: loop_flanger(x, sr, 50.0)),
        ("vad", lambda: [F.vad(row, sr) for row in x], "sox effect (numpy)", lambda: sox_vad(x, sr)),
    ]
    print(f"\neffects: {x.shape[0]} x 10 s at {sr} Hz, float64, 1 thread, median of {repeat}")
    print(f"{'case':<20}{'kaldibridge s':>15}{'peer':>22}{'peer s':>10}{'ratio':>8}{'x realtime':>12}{'max diff':>11}")
    for name, ours, peer_name, peer in cases:
        t_ours, out_ours = timed(ours, repeat, lambda: None)
        t_peer, out_peer = timed(peer, repeat, lambda: None)
        if isinstance(out_ours, list):  # vad: how many samples the cut points differ by
            diff = float(max(abs(a.shape[-1] - b.shape[-1]) for a, b in zip(out_ours, out_peer)))
        else:
            diff = float((torch.as_tensor(out_ours) - torch.as_tensor(out_peer)).abs().max())
        print(f"{name:<20}{t_ours:>15.3f}{peer_name:>22}{t_peer:>10.3f}{t_ours / t_peer:>8.3f}"
              f"{seconds / t_ours:>12.0f}{diff:>11.2e}")


def scipy_resample(x: np.ndarray, orig: int, new: int) -> np.ndarray:
    g = math.gcd(orig, new)
    return scipy.signal.resample_poly(x, new // g, orig // g, axis=-1)


def timed(fn: Callable[[], object], repeat: int, sync: Callable[[], None]) -> tuple[float, object]:
    out = fn()  # warm-up (and the result for the agreement check)
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def rms_diff(a: object, b: object) -> float:
    ta = torch.as_tensor(a).double().cpu()
    tb = torch.as_tensor(b).double().cpu()
    n = min(ta.shape[-1], tb.shape[-1])
    return float(torch.sqrt(torch.mean((ta[..., :n] - tb[..., :n]) ** 2)))


def make_audio(seconds: float, sr: int, clip: float, device: torch.device) -> torch.Tensor:
    per = int(clip * sr)
    n = max(1, round(seconds / clip))
    g = torch.Generator().manual_seed(0)
    t = torch.arange(per, dtype=torch.float32) / sr
    tones = 0.3 * torch.sin(2 * math.pi * 440.0 * t) + 0.1 * torch.sin(2 * math.pi * 3000.0 * t)
    return (tones + 0.05 * torch.randn(n, per, generator=g)).to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0, help="total audio per case")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--effect-seconds", type=float, default=20.0, help="audio for phaser/flanger/vad (0: skip)")
    args = parser.parse_args()

    device = torch.device(args.device)
    gpu = device.type == "cuda"
    sync: Callable[[], None] = torch.cuda.synchronize if gpu else (lambda: None)
    clip = 10.0 if gpu else min(60.0, args.seconds)
    seconds = 640.0 if gpu else args.seconds
    all_threads = os.cpu_count() or 1
    thread_settings = [all_threads] if gpu else sorted({1, all_threads})

    x16 = make_audio(seconds, 16000, clip, device)
    x48 = make_audio(seconds, 48000, clip, device)
    x16_np = x16.cpu().numpy()
    x48_np = x48.cpu().numpy()
    window = torch.hann_window(N_FFT, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fb = melscale_fbanks(N_FFT // 2 + 1, 0.0, 8000.0, N_MELS, 16000).to(device)
        dct = create_dct(N_MFCC, N_MELS, "ortho").to(device)
        mel_mod = T.MelSpectrogram(sample_rate=16000, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS).to(device)
        mfcc_mod = T.MFCC(
            sample_rate=16000, n_mfcc=N_MFCC, melkwargs={"n_fft": N_FFT, "hop_length": HOP, "n_mels": N_MELS}
        ).to(device)
    rs_48_16 = T.Resample(48000, 16000)
    rs_16_8 = T.Resample(16000, 8000)

    cases: list[tuple[str, Callable[[], object], str, Callable[[], object], bool]] = [
        ("MelSpectrogram", lambda: mel_mod(x16), "naive torch", lambda: naive_mel(x16, window, fb), False),
        ("MFCC", lambda: mfcc_mod(x16), "naive torch", lambda: naive_mfcc(x16, window, fb, dct), False),
        ("Resample 48k->16k", lambda: rs_48_16(x48), "scipy resample_poly",
         lambda: scipy_resample(x48_np, 48000, 16000), True),
        ("Resample 16k->8k", lambda: rs_16_8(x16), "scipy resample_poly",
         lambda: scipy_resample(x16_np, 16000, 8000), True),
    ]
    print(f"{seconds:.0f} s of audio per case as {x16.shape[0]} x {clip:.0f} s clips, device {device}, "
          f"median of {args.repeat}")
    print(f"{'case':<20}{'threads':>8}{'kaldibridge s':>15}{'peer':>22}{'peer s':>10}{'ratio':>8}"
          f"{'x realtime':>12}{'rms diff':>11}")
    scipy_cache: dict[str, float] = {}
    with torch.inference_mode():
        for threads in thread_settings:
            torch.set_num_threads(threads)
            for name, ours, peer_name, peer, cpu_peer in cases:
                t_ours, out_ours = timed(ours, args.repeat, sync)
                if cpu_peer and name in scipy_cache:
                    t_peer = scipy_cache[name]  # scipy is single-threaded: time it once
                    out_peer = peer()
                else:
                    t_peer, out_peer = timed(peer, args.repeat, sync if not cpu_peer else (lambda: None))
                    if cpu_peer:
                        scipy_cache[name] = t_peer
                diff = rms_diff(out_ours, out_peer)
                print(f"{name:<20}{threads:>8}{t_ours:>15.3f}{peer_name:>22}{t_peer:>10.3f}"
                      f"{t_ours / t_peer:>8.3f}{seconds / t_ours:>12.0f}{diff:>11.2e}")
    if args.effect_seconds > 0 and not gpu:
        with torch.inference_mode():
            run_effects(args.effect_seconds, args.repeat)


if __name__ == "__main__":
    main()
