"""extract-segments, wav-copy, wav-to-duration and wav-reverberate against Kaldi's goldens."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kaldibridge.cli.registry import load_tool
from kaldibridge.errors import FormatError
from kaldibridge.kaldi.wave import WaveData, read_kaldi_wave, write_kaldi_wave
from kaldibridge.kaldi.wavetools import (
    ReverberateOptions,
    Segment,
    cut_segment,
    kaldi_block_convolve,
    parse_comma_floats,
    parse_segment_line,
    reverberate,
)

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
K = GOLDEN / "kaldi"
needs_golden = pytest.mark.skipif(not (K / "manifest.json").exists(), reason="golden data not present")


def wav(rel: str) -> WaveData:
    return read_kaldi_wave((GOLDEN / rel).read_bytes(), rel)


def pcm(w: WaveData) -> np.ndarray:
    return np.frombuffer(write_kaldi_wave(w)[44:], dtype="<i2").astype(np.int32)


def test_parse_segment_line() -> None:
    s = parse_segment_line("seg rec 1.5 2.25")
    assert isinstance(s, Segment) and (s.start, s.end, s.channel) == (1.5, 2.25, -1)
    assert parse_segment_line("seg rec 1 -1 1").channel == 1
    assert parse_segment_line("a b c").startswith("Invalid line in segments file: ")
    assert "[bad start]" in parse_segment_line("s r x 2")
    assert "[bad end]" in parse_segment_line("s r 1 y")
    assert "[empty or invalid segment]" in parse_segment_line("s r 3 2")
    assert "[bad channel]" in parse_segment_line("s r 1 2 -1")


def test_cut_segment_rounding_and_limits() -> None:
    w = WaveData(samp_freq=100.0, data=np.arange(300, dtype=np.float32).reshape(1, 300))
    seg = parse_segment_line("s r 0.104 0.206")
    out = cut_segment(w, seg, min_segment_length=0.05)
    np.testing.assert_array_equal(out.data[0], np.arange(10, 21))  # round(10.4)=10, round(20.6)=21
    assert cut_segment(w, parse_segment_line("s r 1 3.4"), max_overshoot=0.5).data.shape == (1, 200)
    assert "too far" in cut_segment(w, parse_segment_line("s r 1 3.6"), max_overshoot=0.5)
    assert "too short" in cut_segment(w, parse_segment_line("s r 1 1.05"))
    st = WaveData(samp_freq=100.0, data=np.zeros((2, 300), np.float32))
    with pytest.raises(FormatError, match="multiple channels"):
        cut_segment(st, parse_segment_line("s r 0 1"))
    assert "Invalid channel" in cut_segment(st, parse_segment_line("s r 0 1 2"))


def test_block_convolve_matches_direct_for_lowpass_signals() -> None:
    # The DC/Nyquist packing quirk only disturbs content at the Nyquist frequency, so for
    # smooth (speech-like, low-pass) signals and responses the result is the convolution.
    n = np.arange(5000)
    x = (1000 * np.sin(0.01 * n) + 300 * np.cos(0.037 * n)).astype(np.float32)
    h = (np.exp(-np.arange(300) / 40.0) * 0.01).astype(np.float32)
    got = kaldi_block_convolve(h, x)
    ref = np.convolve(x.astype(np.float64), h.astype(np.float64))
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-2 * np.abs(ref).max()


def test_parse_comma_floats() -> None:
    assert parse_comma_floats("10,,20.5") == [10.0, 20.5]
    with pytest.raises(FormatError):
        parse_comma_floats("1,x")


@needs_golden
@pytest.mark.parametrize("case,kw", [
    ("wav_reverberate_rir", dict(wave="audio/s16k_a1.wav", rir="audio/rir_synth.wav")),
    ("wav_reverberate_noise", dict(wave="audio/s16k_b1.wav", additive=["audio/noise_low.wav"],
                                   opts=ReverberateOptions(snrs=[5.0], start_times=[0.5]))),
    ("wav_reverberate_full", dict(wave="audio/s16k_a2.wav", rir="audio/rir_synth.wav",
                                  additive=["audio/noise_low.wav", "audio/s16k_c1.wav"],
                                  opts=ReverberateOptions(snrs=[10.0, 20.0], start_times=[0.0, 0.3]))),
])
def test_reverberate_within_one_lsb(case: str, kw: dict) -> None:
    args = dict(wave=wav(kw["wave"]), rir=wav(kw["rir"]) if "rir" in kw else None,
                additive=[wav(a) for a in kw.get("additive", [])])
    if "opts" in kw:
        args["opts"] = kw["opts"]
    got = pcm(reverberate(**args))
    ref = pcm(wav(f"kaldi/{case}/out.wav"))
    assert got.shape == ref.shape
    diff = np.abs(got - ref)
    assert diff.max() <= 1
    assert np.count_nonzero(diff) < 0.03 * diff.size


def test_reverberate_lengths_and_volume() -> None:
    x = WaveData(16000.0, (np.sin(np.arange(1000) / 5.0) * 1000).astype(np.float32).reshape(1, -1))
    rir = WaveData(16000.0, np.zeros((1, 10), np.float32))
    rir.data[0, 3] = 32768.0
    assert reverberate(x, rir).data.shape == (1, 1000)
    long = reverberate(x, rir, opts=ReverberateOptions(shift_output=False))
    assert long.data.shape == (1, 1009)
    # Kaldi fills the extra length by repeating the start of the output, not with the tail
    np.testing.assert_array_equal(long.data[0, 1000:], long.data[0, :9])
    vol = reverberate(x, opts=ReverberateOptions(volume=0.5))
    np.testing.assert_allclose(vol.data[0], x.data[0] * 0.5, rtol=1e-6)
    same = reverberate(x)
    np.testing.assert_allclose(same.data[0], x.data[0], rtol=1e-6, atol=1e-3)
    dur = reverberate(x, opts=ReverberateOptions(duration=0.1))  # 1600 samples: repeated
    np.testing.assert_allclose(dur.data[0, 1000:1600], x.data[0, :600], rtol=1e-6)
    with pytest.raises(FormatError):
        reverberate(x, additive=[x], opts=ReverberateOptions(snrs=[1.0]))
    with pytest.raises(FormatError):
        reverberate(x, opts=ReverberateOptions(input_channel=1))


@needs_golden
def test_tools_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(GOLDEN)
    out = tmp_path / "seg.ark"
    assert load_tool("extract-segments").main(
        ["scp:kaldi/extract_segments/wav.scp", "kaldi/extract_segments/segments", f"ark:{out}"]) == 0
    assert out.read_bytes() == (K / "extract_segments" / "segments.ark").read_bytes()
    assert "Successfully processed 6 lines out of 10" in capsys.readouterr().err
    dur = tmp_path / "utt2dur"
    for flag, case in (("--read-entire-file=false", "wav_to_duration"), ("--read-entire-file=true", "wav_to_duration_entire")):
        assert load_tool("wav-to-duration").main([flag, f"scp:kaldi/{case}/wav.scp", f"ark,t:{dur}"]) == 0
        assert dur.read_bytes() == (K / case / "utt2dur").read_bytes()
    # header-only reading of an archive skips each wave's data to reach the next key
    assert load_tool("wav-to-duration").main(["ark:kaldi/wav_copy_ark/wav.ark", f"ark,t:{dur}"]) == 0
    assert dur.read_text().split() == ["spkA-001", "3.204875", "spkB-001", "2.6335", "spkC-001", "2.669"]
    cp = tmp_path / "copy.wav"
    assert load_tool("wav-copy").main(["audio/stereo16k_lr.wav", str(cp)]) == 0
    assert cp.read_bytes() == (K / "wav_copy_stereo" / "copy.wav").read_bytes()
    assert load_tool("wav-copy").main(["audio/stereo16k_lr.wav", f"ark:{cp}"]) == 255
