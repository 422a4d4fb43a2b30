"""Kaldi fbank / MFCC / spectrogram / PLP library: golden values, batching, dtypes, autograd,
modules, options and errors. (The CLI is covered by compat_tests/test_kaldi_golden.py.)"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from kaldibridge.errors import OptionError
from kaldibridge.kaldi import (
    Fbank,
    FbankOptions,
    FrameExtractionOptions,
    MfccOptions,
    PlpOptions,
    SpectrogramOptions,
    fbank,
    mfcc,
    plp,
    spectrogram,
)

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", ROOT.parent / "shared" / "golden"))


def read_ark(path: Path) -> dict[str, np.ndarray]:
    """Binary float-matrix archive reader written from the golden README (independent of the library)."""
    buf = path.read_bytes()
    out, pos = {}, 0
    while pos < len(buf):
        end = buf.index(b" ", pos)
        key = buf[pos:end].decode()
        pos = end + 1
        assert buf[pos : pos + 5] == b"\0BFM "
        rows, cols = struct.unpack_from("<xixi", buf, pos + 5)
        out[key] = np.frombuffer(buf, "<f4", rows * cols, pos + 15).reshape(rows, cols)
        pos += 15 + 4 * rows * cols
    return out


def wave(name: str) -> torch.Tensor:
    x, _ = soundfile.read(GOLDEN / "audio" / name, dtype="int16")
    return torch.from_numpy(x.astype(np.float32))


def close(ours: np.ndarray, gold: np.ndarray, tol: float = 1e-4) -> None:
    assert ours.shape == gold.shape
    both_nan = np.isnan(ours) & np.isnan(gold)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(gold))
    o, g = np.where(both_nan, 0, ours), np.where(both_nan, 0, gold)
    assert np.all(np.abs(o - g) <= tol + tol * np.abs(g)), np.abs(o - g).max()


@pytest.mark.parametrize(
    "case,fn,kw",
    [
        ("fbank_default", fbank, {}),
        ("fbank_no_pow2", fbank, {"round_to_power_of_two": False}),
        ("fbank_use_energy", fbank, {"use_energy": True}),
        ("mfcc_default", mfcc, {}),
        ("spec_default", spectrogram, {}),
        ("plp_default", plp, {}),
    ],
)
def test_golden_first_utterance(case, fn, kw):
    gold = read_ark(GOLDEN / "kaldi" / case / "out.ark")
    key, path = (GOLDEN / "kaldi" / case / "wav.scp").read_text().split("\n")[0].split()
    feats, count = fn(wave(Path(path).name), dither=0.0, **kw)
    assert int(count) == gold[key].shape[0]
    close(feats.numpy(), gold[key])


def test_golden_vtln_and_8k():
    gold = read_ark(GOLDEN / "kaldi" / "fbank_vtln" / "out.ark")
    feats, _ = fbank(wave("s16k_a1.wav"), dither=0.0, vtln_warp=0.9, vtln_low=100, vtln_high=-500)
    close(feats.numpy(), gold["spkA-001"])
    gold = read_ark(GOLDEN / "kaldi" / "mfcc_8k" / "out.ark")
    key, path = (GOLDEN / "kaldi" / "mfcc_8k" / "wav.scp").read_text().split("\n")[0].split()
    feats, _ = mfcc(wave(Path(path).name), dither=0.0, sample_frequency=8000)
    close(feats.numpy(), gold[key])


def test_digital_silence_floors():
    feats, _ = fbank(torch.zeros(16000), dither=0.0)
    assert torch.all(feats == torch.log(torch.tensor(2.0**-23)))


@pytest.mark.parametrize("fn", [fbank, mfcc, spectrogram, plp])
@pytest.mark.parametrize("snip", [True, False])
def test_batched_equals_per_utterance(fn, snip):
    g = torch.Generator().manual_seed(0)
    lengths = [16000, 7000, 399, 0, 12345]
    batch = torch.zeros(len(lengths), max(lengths))
    for i, n in enumerate(lengths):
        batch[i, :n] = torch.randn(n, generator=g) * 3000
    looped, counts = fn(batch, lengths=lengths, dither=0.0, snip_edges=snip)
    for i, n in enumerate(lengths):
        single, c = fn(batch[i, :n], dither=0.0, snip_edges=snip)
        assert int(counts[i]) == int(c) == single.shape[0]
        torch.testing.assert_close(looped[i, : single.shape[0]], single, equal_nan=True)
        assert torch.all(looped[i, single.shape[0] :] == 0)
    # the padded-batch path (used on GPUs) gives the same numbers
    from kaldibridge.kaldi.features._common import run_batch
    from kaldibridge.kaldi.features.fbank import _cached_computer

    opts_cls = {fbank: FbankOptions, mfcc: MfccOptions, spectrogram: SpectrogramOptions, plp: PlpOptions}[fn]
    comp = _cached_computer(
        {FbankOptions: __import__("kaldibridge.kaldi.features.fbank", fromlist=["x"]).FbankComputer,
         MfccOptions: __import__("kaldibridge.kaldi.features.mfcc", fromlist=["x"]).MfccComputer,
         SpectrogramOptions: __import__("kaldibridge.kaldi.features.spectrogram", fromlist=["x"]).SpectrogramComputer,
         PlpOptions: __import__("kaldibridge.kaldi.features.plp", fromlist=["x"]).PlpComputer}[opts_cls],
        None, {"dither": 0.0, "snip_edges": snip},
    )
    padded, counts2 = run_batch(comp, batch, lengths=lengths, batched=True)
    assert counts2.tolist() == counts.tolist()
    # matrix products over a differently shaped batch may sum in another order: float32 rounding only
    torch.testing.assert_close(padded, looped, equal_nan=True, atol=1e-4, rtol=1e-5)


def test_frame_counts_and_short_input():
    f, n = fbank(torch.zeros(300), dither=0.0)
    assert f.shape == (0, 23) and int(n) == 0
    f, n = fbank(torch.zeros(300), dither=0.0, snip_edges=False)
    assert f.shape == (2, 23)
    f, n = fbank(torch.zeros(400), dither=0.0, snip_edges=False)
    assert f.shape == (3, 23)


def test_float64_and_autograd():
    x = (torch.randn(4000, dtype=torch.float64) * 1000).requires_grad_()
    feats, _ = mfcc(x, dither=0.0)
    assert feats.dtype == torch.float64
    feats.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    f32, _ = mfcc(x.detach().float(), dither=0.0)
    torch.testing.assert_close(f32.double(), feats.detach(), atol=1e-3, rtol=1e-3)


def test_dither_generator_reproducible():
    x = torch.randn(8000) * 100
    a, _ = fbank(x, generator=torch.Generator().manual_seed(3))
    b, _ = fbank(x, generator=torch.Generator().manual_seed(3))
    c, _ = fbank(x, dither=0.0)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_options_defaults_are_kaldis():
    o = FbankOptions()
    assert o.frame_opts.dither == 1.0 and o.energy_floor == 0.0 and o.mel_opts.num_mel_bins == 23
    assert o.frame_opts.window_type == "povey" and o.frame_opts.snip_edges
    assert MfccOptions().use_energy and MfccOptions().cepstral_lifter == 22.0
    assert PlpOptions().compress_factor == 0.33333 and PlpOptions().cepstral_lifter == 22
    fo = FrameExtractionOptions()
    assert (fo.window_size, fo.window_shift, fo.padded_window_size) == (400, 160, 512)
    assert FbankOptions().replace(num_mel_bins=80).mel_opts.num_mel_bins == 80


def test_errors():
    with pytest.raises(OptionError, match="Invalid window type"):
        fbank(torch.zeros(1000), window_type="kaiser")
    with pytest.raises(OptionError, match="vs. nyquist 8000"):
        fbank(torch.zeros(1000), high_freq=9000)
    with pytest.raises(OptionError, match="mismatch: 8000 .vs 16000"):
        fbank(torch.zeros(1000), sample_rate=8000)
    with pytest.raises(OptionError, match="num-ceps cannot be larger"):
        mfcc(torch.zeros(1000), num_ceps=30)
    with pytest.raises(ValueError):
        fbank(torch.zeros(2, 3, 4))


def test_module_matches_function_and_moves():
    m = Fbank(dither=0.0, num_mel_bins=40)
    x = torch.randn(2, 5000) * 1000
    a, n = m(x)
    b, n2 = fbank(x, dither=0.0, num_mel_bins=40)
    assert torch.equal(n, n2)
    torch.testing.assert_close(a, b)
    assert m.double()(x.double())[0].dtype == torch.float64


def test_torch_export_smoke():
    m = Fbank(dither=0.0, frame_length=2.0, frame_shift=1.0, num_mel_bins=3)
    x = torch.randn(1, 200) * 100
    ep = torch.export.export(m, (x,))
    torch.testing.assert_close(ep.module()(x)[0], m(x)[0])


@pytest.mark.slow
def test_torch_compile_fullgraph_smoke():
    # a tiny configuration (32-point FFT) keeps the traced graph, and the compile time, small
    m = Fbank(dither=0.0, frame_length=2.0, frame_shift=1.0, num_mel_bins=3)
    x = torch.randn(1, 200) * 100
    compiled = torch.compile(m, fullgraph=True)
    torch.testing.assert_close(compiled(x)[0], m(x)[0])
