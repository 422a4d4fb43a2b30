"""The CPU column pipeline of the Kaldi features against the frame-major reference path.

``FeatureComputer.compute_utterance`` takes the column pipeline for float32 CPU input with
a power-of-two FFT; ``window_frames`` + ``compute_frames`` is the frame-major path that the
GPU, float64, autograd and ``torch.compile`` use. Both must agree: the power spectrum bit
for bit (same float32 operations), the features to float32 rounding of the mel product.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kaldibridge.functional.framing import frame_signal
from kaldibridge.functional.spectral import frames_to_planes, half_complex_power_planar, half_complex_rfft
from kaldibridge.functional.srfft import split_radix_fft_planar
from kaldibridge.kaldi.features._common import mel_blocks
from kaldibridge.kaldi.features.fbank import FbankComputer
from kaldibridge.kaldi.features.mfcc import MfccComputer
from kaldibridge.kaldi.features.spectrogram import SpectrogramComputer


def _speechy(seconds: float, seed: int, sr: int = 16000) -> torch.Tensor:
    """Integer-valued test signal: a few harmonics, noise and a silent stretch."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f * t) * a for f, a in ((130, 6000), (260, 3000), (1900, 800), (5200, 300)))
    x = x + rng.standard_normal(t.shape) * 200
    x[len(x) // 3 : len(x) // 2] = 0.0
    return torch.from_numpy(np.round(x).astype(np.float32))


def _reference(computer, wave: torch.Tensor) -> torch.Tensor:
    fo = computer.frame_opts
    consts = computer.consts(torch.float32, "cpu")
    frames = frame_signal(wave, fo.window_size, fo.window_shift, fo.snip_edges)
    x, raw = computer.window_frames(frames, consts["window"])
    return computer.compute_frames(x, raw, consts)


CASES = [
    (FbankComputer, {}),
    (FbankComputer, {"num_mel_bins": 80}),
    (FbankComputer, {"use_energy": True}),
    (FbankComputer, {"use_energy": True, "raw_energy": False, "htk_compat": True, "energy_floor": 1.0}),
    (FbankComputer, {"use_power": False}),
    (FbankComputer, {"use_log_fbank": False}),
    (FbankComputer, {"snip_edges": False, "window_type": "hamming"}),
    (FbankComputer, {"preemphasis_coefficient": 0.0, "remove_dc_offset": False}),
    (FbankComputer, {"sample_frequency": 8000.0}),
    (FbankComputer, {"frame_length": 50.0, "frame_shift": 20.0, "low_freq": 64.0, "high_freq": -400.0}),
    (FbankComputer, {"sample_frequency": 22050.0, "num_mel_bins": 40}),  # 551-sample (odd) frames
    (FbankComputer, {"sample_frequency": 11025.0, "frame_shift": 7.0, "window_type": "blackman"}),  # 275
    (FbankComputer, {"frame_length": 1.0, "frame_shift": 1.0, "num_mel_bins": 3, "low_freq": 1000.0}),  # 16 / 16
    (MfccComputer, {}),
    (MfccComputer, {"use_energy": False, "num_mel_bins": 40, "num_ceps": 40, "htk_compat": True}),
    (MfccComputer, {"raw_energy": False, "cepstral_lifter": 0.0}),
    (SpectrogramComputer, {}),
    (SpectrogramComputer, {"raw_energy": False, "energy_floor": 1.0, "sample_frequency": 8000.0}),
]


@pytest.mark.parametrize("cls, kw", CASES)
def test_columns_match_frame_major_path(cls, kw) -> None:
    computer = cls(dither=0.0, **kw)
    wave = _speechy(1.5 * 16000 / computer.frame_opts.sample_frequency, seed=len(kw))
    consts = computer.consts(torch.float32, "cpu")
    assert computer._columns_ok(frame_signal(wave[:1000], 400, 160))
    got = computer.compute_utterance(wave, consts)
    want = _reference(computer, wave)
    assert got.shape[0] > 0
    assert got.shape == want.shape
    # the mel product sums in another order: float32 rounding only
    torch.testing.assert_close(got, want, rtol=2e-6, atol=2e-5)


@pytest.mark.parametrize("n_fft, n", [(4, 3), (8, 5), (16, 16), (256, 200), (512, 400), (1024, 1001)])
def test_column_power_spectrum_bit_identical(n_fft: int, n: int) -> None:
    rng = np.random.default_rng(n_fft)
    frames = np.round(rng.standard_normal((37, n)) * 3000).astype(np.float32)
    window = np.hanning(n).astype(np.float32)
    mean = (torch.from_numpy(frames).sum(-1) / n).numpy()
    buf = np.full((2, n_fft // 2, 37), np.nan, dtype=np.float32)  # padding must be cleared
    raw = np.empty(37, dtype=np.float32)
    win = (window[0::2].reshape(-1, 1), window[1::2].reshape(-1, 1))
    frames_to_planes(frames, buf, win, mean, 0.97, (raw, None))
    power = np.empty((n_fft // 2 + 1, 37), dtype=np.float32)
    half_complex_power_planar(split_radix_fft_planar(buf), _twiddles(n_fft), power)
    # frame-major reference: the documented elementary steps
    t = torch.from_numpy(frames)
    x = t - torch.from_numpy(mean)[:, None]
    np.testing.assert_allclose(raw, (x.double() ** 2).sum(-1).numpy(), rtol=1e-6)
    prev = torch.cat([x[:, :1], x[:, :-1]], dim=1)
    x = (x - 0.97 * prev) * torch.from_numpy(window)
    re, im = half_complex_rfft(x, n_fft, complex_fft="split_radix")
    assert np.array_equal(power.T, (re * re + im * im).numpy())


def _twiddles(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    from kaldibridge.functional.spectral import recursive_twiddles

    tr, ti = recursive_twiddles(n_fft)
    return tr.reshape(-1, 1), ti.reshape(-1, 1)


def test_mel_blocks_cover_every_weight() -> None:
    computer = FbankComputer(num_mel_bins=80)
    mel_t = computer.consts(torch.float32, "cpu")["mel_t"]
    spec = torch.rand(7, mel_t.shape[0])
    out = torch.empty(mel_t.shape[1], 7)
    for g0, g1, lo, hi, w in mel_blocks(mel_t):
        # nothing outside the band
        assert not bool(mel_t[:lo, g0:g1].any()) and not bool(mel_t[hi:, g0:g1].any())
        out[g0:g1] = w @ spec.t()[lo:hi]
    torch.testing.assert_close(out.t(), spec @ mel_t, rtol=1e-5, atol=1e-6)


def test_columns_not_used_where_they_cannot_apply() -> None:
    wave = _speechy(0.5, seed=3)
    frames = frame_signal(wave, 400, 160)
    assert not FbankComputer(round_to_power_of_two=False)._columns_ok(frames)
    assert not FbankComputer(fft="torch")._columns_ok(frames)
    assert not FbankComputer()._columns_ok(frames.double())
    assert not SpectrogramComputer(return_raw_fft=True)._columns_ok(frames)
    leaf = frames.clone().requires_grad_(True)
    assert not FbankComputer()._columns_ok(leaf)


def test_columns_with_dither_reproducible() -> None:
    computer = FbankComputer()  # Kaldi's default dither 1.0
    wave = _speechy(1.0, seed=5)
    a = computer.compute_utterance(wave, generator=torch.Generator().manual_seed(1))
    b = computer.compute_utterance(wave, generator=torch.Generator().manual_seed(1))
    c = FbankComputer(dither=0.0).compute_utterance(wave)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # the same noise through the frame-major path
    fo = computer.frame_opts
    consts = computer.consts(torch.float32, "cpu")
    frames = frame_signal(wave, fo.window_size, fo.window_shift, fo.snip_edges)
    x, raw = computer.window_frames(frames, consts["window"], torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, computer.compute_frames(x, raw, consts), rtol=2e-6, atol=2e-5)


@pytest.mark.parametrize(
    "cls, kw",
    [
        (FbankComputer, {"num_mel_bins": 80}),
        (FbankComputer, {"use_energy": True, "raw_energy": False, "use_power": False}),
        (FbankComputer, {"round_to_power_of_two": False, "use_log_fbank": False}),
        (MfccComputer, {"snip_edges": False}),
        (SpectrogramComputer, {}),
    ],
)
def test_pocketfft_path_matches_plain_rfft(cls, kw) -> None:
    """``fft="torch"`` on CPU: windowed frames as in the frame-major path, then
    ``torch.fft.rfft``, a dense mel product and the feature's own tail."""
    computer = cls(dither=0.0, fft="torch", **kw)
    wave = _speechy(1.3, seed=11)
    consts = computer.consts(torch.float32, "cpu")
    fo = computer.frame_opts
    frames = frame_signal(wave, fo.window_size, fo.window_shift, fo.snip_edges)
    assert computer._pocketfft_ok(frames) and not computer._columns_ok(frames)
    got = computer.compute_utterance(wave, consts)
    x, raw = computer.window_frames(frames, consts["window"])
    z = torch.fft.rfft(x.double(), n=fo.padded_window_size)
    spec = z.real**2 + z.imag**2
    if not kw.get("use_power", True):
        spec = spec.sqrt()
    energy = raw
    if computer.energy_kind() == "windowed":
        energy = torch.log(torch.clamp_min((x * x).sum(-1), 1.1920928955078125e-07))
    stage = spec @ consts["mel_t"].double() if computer.column_stage == "mel" else spec
    want = computer.finish(stage.float(), energy)
    assert got.shape == want.shape
    # float32 pocketfft against a float64 reference: relative rounding of each bin
    torch.testing.assert_close(got, want, rtol=1e-4, atol=2e-3)
    exact = cls(dither=0.0, **kw).compute_utterance(wave)
    torch.testing.assert_close(got, exact, rtol=1e-4, atol=2e-3)


def test_results_do_not_alias_reused_work_space() -> None:
    for computer in (FbankComputer(dither=0.0), SpectrogramComputer(dither=0.0), MfccComputer(dither=0.0)):
        first = computer.compute_utterance(_speechy(0.7, seed=1))
        kept = first.clone()
        computer.compute_utterance(_speechy(0.9, seed=2))
        assert torch.equal(first, kept)


def test_columns_under_inference_mode() -> None:
    wave = _speechy(0.6, seed=4)
    want = FbankComputer(dither=0.0).compute_utterance(wave)
    with torch.inference_mode():
        computer = FbankComputer(dither=0.0)  # constants built as inference tensors
        got = computer.compute_utterance(wave)
    assert torch.equal(got, want)


def test_columns_with_vtln_warp() -> None:
    computer = FbankComputer(dither=0.0, num_mel_bins=40)
    wave = _speechy(1.1, seed=8)
    fo = computer.frame_opts
    frames = frame_signal(wave, fo.window_size, fo.window_shift, fo.snip_edges)
    for warp in (0.85, 1.12):
        consts = computer.consts(torch.float32, "cpu", warp)
        x, raw = computer.window_frames(frames, consts["window"])
        got = computer.compute_utterance(wave, vtln_warp=warp)
        torch.testing.assert_close(got, computer.compute_frames(x, raw, consts), rtol=2e-6, atol=2e-5)
    assert not torch.allclose(computer.compute_utterance(wave, vtln_warp=0.85), computer.compute_utterance(wave))


def test_columns_several_chunks() -> None:
    """More frames than one chunk (1024): equal chunks, the last one shorter by one."""
    computer = FbankComputer(dither=0.0, use_energy=True)
    wave = _speechy(11.0, seed=9)  # 1098 frames: chunks of 549 and 549
    got = computer.compute_utterance(wave)
    assert got.shape[0] == 1098
    torch.testing.assert_close(got, _reference(computer, wave), rtol=2e-6, atol=2e-5)
    odd = computer.compute_utterance(wave[:-160])  # 1097 frames: 549 and 548
    torch.testing.assert_close(odd, got[:-1], rtol=2e-6, atol=2e-5)
