"""kaldibridge.kaldi.wave: Kaldi's WaveData semantics, on goldens and synthesized bytes.

The golden audio comes from ../shared/golden/audio (Kaldi's inputs) and the wav-copy
outputs in ../shared/golden/kaldi; soundfile serves as an independent peer decoder.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kaldibridge.errors import AudioFormatError
from kaldibridge.kaldi.wave import (
    WaveData,
    read_kaldi_wave,
    read_kaldi_wave_from_stream,
    read_kaldi_wave_info,
    write_kaldi_wave,
)

FUZZ = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))
GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN")
              or Path(__file__).resolve().parents[1] / ".." / "shared" / "golden")
AUDIO = GOLDEN / "audio"
needs_golden = pytest.mark.skipif(not AUDIO.is_dir(), reason=f"golden audio not found at {AUDIO}")

PCM16_FILES = sorted(
    p.name for p in AUDIO.glob("*.wav")
    if p.name not in ("truncated.wav", "header_only.wav", "garbage.wav", "pcm24.wav")
) if AUDIO.is_dir() else []


def _peer_int16(path_or_bytes) -> tuple[np.ndarray, int]:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    data, rate = sf.read(src, dtype="int16", always_2d=True)
    return data.T.astype(np.float32), rate


def _wav(samples: np.ndarray, rate: int = 16000, *, big: bool = False, fmt_tag: int = 1,
         bits: int = 16, payload: bytes | None = None, extra_chunks: bytes = b"") -> bytes:
    """A WAV file built by hand; samples int (channels, frames) for 16-bit."""
    ch = samples.shape[0]
    e = ">" if big else "<"
    if payload is None:
        payload = np.ascontiguousarray(samples.T).astype(e + "i2").tobytes()
    width = bits // 8
    fmt = struct.pack(e + "HHIIHH", fmt_tag, ch, rate, rate * ch * width, ch * width, bits)
    body = (b"WAVE" + b"fmt " + struct.pack(e + "I", 16) + fmt + extra_chunks
            + b"data" + struct.pack(e + "I", len(payload)) + payload)
    return (b"RIFX" if big else b"RIFF") + struct.pack(e + "I", len(body)) + body


RNG = np.random.default_rng(7)
S16 = RNG.integers(-32768, 32768, size=(2, 333)).astype(np.int16)
RIFF = _wav(S16)


# ----------------------------------------------------------------------------- goldens


@needs_golden
@pytest.mark.parametrize("name", PCM16_FILES)
def test_golden_16_bit_files_match_soundfile(name: str) -> None:
    path = AUDIO / name
    want, rate = _peer_int16(path)
    for strict in (False, True):
        w = read_kaldi_wave(path.read_bytes(), name, strict=strict)
        assert w.samp_freq == float(rate)
        assert w.data.dtype == np.float32
        assert w.data.flags.c_contiguous
        np.testing.assert_array_equal(w.data, want)
    with open(path, "rb") as fh:
        np.testing.assert_array_equal(read_kaldi_wave(fh).data, want)


@needs_golden
def test_golden_truncated_file_warns_like_kaldi(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="kaldibridge.kaldi.wave"):
        w = read_kaldi_wave((AUDIO / "truncated.wav").read_bytes(), "truncated.wav")
    msgs = [r.getMessage() for r in caplog.records]
    assert "Expected 84272 bytes of wave data, but read only 2956 bytes. Truncated file?" in msgs
    assert w.data.shape == (1, 1478)
    full, _ = _peer_int16(AUDIO / "s16k_b1.wav")
    np.testing.assert_array_equal(w.data, full[:, :1478])


@needs_golden
@pytest.mark.parametrize(
    ("name", "strict", "message"),
    [
        ("garbage.wav", False, "WaveData: expected RIFF or RIFX, got This"),
        ("garbage.wav", True, "WaveData: expected RIFF or RIFX, got This"),
        ("header_only.wav", False, "WaveData: empty file (no data)"),
        ("header_only.wav", True, "WaveData: empty file (no data)"),
        ("pcm24.wav", True, "WaveData: unsupported bits_per_sample = 24"),
    ],
)
def test_golden_fatal_errors_carry_kaldis_text(name: str, strict: bool, message: str) -> None:
    with pytest.raises(AudioFormatError) as err:
        read_kaldi_wave((AUDIO / name).read_bytes(), name, strict=strict)
    assert str(err.value) == message
    assert err.value.source == name


@needs_golden
def test_golden_messages_agree_with_kaldis_stderr() -> None:
    kaldi = GOLDEN / "kaldi"
    for case, msg in [("err_garbage_wav", "WaveData: expected RIFF or RIFX, got This"),
                      ("err_header_only_wav", "WaveData: empty file (no data)"),
                      ("err_pcm24_wav", "WaveData: unsupported bits_per_sample = 24"),
                      ("err_truncated_wav", "Expected 84272 bytes of wave data, but read only "
                                            "2956 bytes. Truncated file?")]:
        assert msg in (kaldi / case / "stderr.txt").read_text()


@needs_golden
def test_golden_pcm24_superset_is_value_over_256() -> None:
    data, rate = sf.read(AUDIO / "pcm24.wav", dtype="int32", always_2d=True)
    w = read_kaldi_wave((AUDIO / "pcm24.wav").read_bytes())
    assert w.samp_freq == rate
    np.testing.assert_array_equal(w.data, (data.T.astype(np.float64) / 65536.0).astype(np.float32))


@needs_golden
def test_golden_wav_archive_is_parsed_and_rewritten_bit_exactly() -> None:
    ark = (GOLDEN / "kaldi" / "wav_copy_ark" / "wav.ark").read_bytes()
    scp = (GOLDEN / "kaldi" / "wav_copy_ark" / "wav.scp").read_text().split("\n")
    sources = dict(line.split(None, 1) for line in scp if line.strip())
    f = io.BytesIO(ark)
    keys = []
    while f.tell() < len(ark):
        key = b""
        while (c := f.read(1)) != b" ":
            key += c
        start = f.tell()
        w = read_kaldi_wave_from_stream(f)
        end = f.tell()
        keys.append(key.decode())
        assert write_kaldi_wave(w) == ark[start:end]
        want, _ = _peer_int16(GOLDEN / sources[key.decode()])
        np.testing.assert_array_equal(w.data, want)
    assert keys == list(sources)


@needs_golden
@pytest.mark.parametrize(("case", "src"), [("wav_copy_single", "s16k_b1.wav"),
                                           ("wav_copy_stereo", "stereo16k_lr.wav")])
def test_golden_wav_copy_is_reproduced(case: str, src: str) -> None:
    w = read_kaldi_wave((AUDIO / src).read_bytes())
    assert write_kaldi_wave(w) == (GOLDEN / "kaldi" / case / "copy.wav").read_bytes()


@needs_golden
def test_golden_durations_match_wav_to_duration() -> None:
    case = GOLDEN / "kaldi" / "wav_to_duration"
    scp = dict(line.split(None, 1) for line in (case / "wav.scp").read_text().splitlines() if line)
    durs = dict(line.split() for line in (case / "utt2dur").read_text().splitlines() if line)
    for key, rel in scp.items():
        info = read_kaldi_wave_info((GOLDEN / rel).read_bytes())
        # Kaldi computes in float32 and prints 7 significant digits
        assert f"{info.duration:.7g}" == durs[key]


@needs_golden
@pytest.mark.parametrize("name", ["wav_junk_chunk_mono16k.wav", "wav_list_info_mono16k.wav",
                                  "wav_trailing_list_mono16k.wav", "wav_s16_3ch16k_extensible.wav",
                                  "wav_size_unspecified_mono16k.wav", "wav_size_ffffffff_mono16k.wav"])
def test_golden_io_layouts(name: str) -> None:
    path = GOLDEN / "io" / name
    want, _ = _peer_int16(path)
    w = read_kaldi_wave(path.read_bytes(), strict=True)
    np.testing.assert_array_equal(w.data, want)


@needs_golden
@pytest.mark.parametrize(
    ("name", "dtype", "scale"),
    [("wav_u8_mono16k.wav", "int16", 1.0), ("wav_s32_stereo44k.wav", "int32", 1 / 65536),
     ("wav_f32_mono16k.wav", "float64", 32768.0), ("wav_f64_stereo44k.wav", "float64", 32768.0),
     ("wav_ulaw_mono8k.wav", "int16", 1.0), ("wav_alaw_mono8k.wav", "int16", 1.0),
     ("wav_ima_adpcm_mono16k.wav", "int16", 1.0), ("wav_ms_adpcm_mono16k.wav", "int16", 1.0),
     ("flac_16_mono16k.flac", "int16", 1.0), ("sph_s16_mono16k.sph", "int16", 1.0),
     ("aiff_s16_stereo44k.aiff", "int16", 1.0)],
)
def test_superset_formats_scaled_to_int16_range(name: str, dtype: str, scale: float) -> None:
    path = GOLDEN / "io" / name
    data, rate = sf.read(path, dtype=dtype, always_2d=True)
    want = (data.T.astype(np.float64) * scale).astype(np.float32)
    w = read_kaldi_wave(path.read_bytes(), name)
    assert w.samp_freq == rate
    np.testing.assert_array_equal(w.data, want)
    if name.endswith(".wav"):
        with pytest.raises(AudioFormatError) as err:
            read_kaldi_wave(path.read_bytes(), name, strict=True)
        assert str(err.value).startswith("WaveData: ")


# ----------------------------------------------------------------------------- synthesized


def test_rifx_reads_like_riff() -> None:
    w = read_kaldi_wave(_wav(S16, big=True), strict=True)
    np.testing.assert_array_equal(w.data, S16.astype(np.float32))
    assert read_kaldi_wave_info(_wav(S16, big=True)).reverse_bytes


@pytest.mark.parametrize("big", [False, True])
def test_24_bit_both_endiannesses(big: bool) -> None:
    vals = np.array([[-(2**23), -1, 0, 1, 2**23 - 1, 12345]], dtype=np.int64)
    b = (vals & 0xFFFFFF).astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]
    if big:
        b = b[:, ::-1]
    blob = _wav(vals, bits=24, big=big, payload=np.ascontiguousarray(b).tobytes())
    w = read_kaldi_wave(blob)
    np.testing.assert_array_equal(w.data, (vals / 256.0).astype(np.float32))


@pytest.mark.parametrize(
    ("riff_size", "data_size"),
    [(0, None), (0xFFFFFFFF, None), (None, 0), (None, 0xFFFFFFFF), (None, 0x7FFFF000)],
)
def test_stream_mode_reads_to_eof(riff_size, data_size) -> None:
    blob = bytearray(RIFF)
    if riff_size is not None:
        blob[4:8] = struct.pack("<I", riff_size)
    if data_size is not None:
        blob[40:44] = struct.pack("<I", data_size)
    trailing = np.array([[1, 2], [3, 4]], dtype="<i2")  # frames that follow the "data"
    blob = bytes(blob) + trailing.tobytes() + b"\x07"  # plus half a frame
    info = read_kaldi_wave_info(blob)
    assert info.is_streamed and info.samp_count == -1 and info.total_bytes == -1
    w = read_kaldi_wave(blob)
    want = np.concatenate([S16, trailing.T], axis=1).astype(np.float32)
    np.testing.assert_array_equal(w.data, want)


def test_pipe_of_unknown_length_is_read_to_eof() -> None:
    blob = bytearray(RIFF)
    blob[40:44] = struct.pack("<I", 0x7FFFF000)
    code = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    proc.stdin.write(bytes(blob))
    proc.stdin.close()
    try:
        w = read_kaldi_wave(proc.stdout, "pipe")
    finally:
        proc.stdout.close()
        proc.wait()
    np.testing.assert_array_equal(w.data, S16.astype(np.float32))


def test_from_stream_consumes_exactly_one_wave() -> None:
    other = _wav(S16[:1, :50], rate=8000)
    f = io.BytesIO(RIFF + other + b"tail")
    a = read_kaldi_wave_from_stream(f)
    assert f.tell() == len(RIFF)
    b = read_kaldi_wave_from_stream(f)
    assert f.tell() == len(RIFF) + len(other)
    assert f.read() == b"tail"
    np.testing.assert_array_equal(a.data, S16.astype(np.float32))
    np.testing.assert_array_equal(b.data, S16[:1, :50].astype(np.float32))
    assert b.samp_freq == 8000.0
    info = read_kaldi_wave_info(RIFF)
    assert info.header_bytes == 44
    assert info.total_bytes == len(RIFF)


@needs_golden
def test_from_stream_reads_a_whole_non_riff_file() -> None:
    path = GOLDEN / "io" / "flac_16_mono16k.flac"
    want, rate = _peer_int16(path)
    f = io.BytesIO(path.read_bytes())
    w = read_kaldi_wave_from_stream(f, "x.flac")
    np.testing.assert_array_equal(w.data, want)
    assert w.samp_freq == rate
    assert f.read() == b""
    with pytest.raises(AudioFormatError) as err:
        read_kaldi_wave_from_stream(io.BytesIO(path.read_bytes()), strict=True)
    assert str(err.value) == "WaveData: expected RIFF or RIFX, got fLaC"


def test_chunk_skipping_and_kaldi_warnings(caplog) -> None:
    fact = b"fact" + struct.pack("<I", 8) + b"\0" * 8
    lst = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"  # odd size + pad byte
    blob = bytearray(_wav(S16, extra_chunks=fact + lst))
    blob[4:8] = struct.pack("<I", 9999)
    with caplog.at_level(logging.WARNING, logger="kaldibridge.kaldi.wave"):
        w = read_kaldi_wave(bytes(blob))
    np.testing.assert_array_equal(w.data, S16.astype(np.float32))
    msgs = [r.getMessage() for r in caplog.records]
    assert "Expected fact chunk to be 4 bytes long." in msgs
    assert any(m.startswith("Expected 9999 bytes in RIFF chunk, but after first data block there will be")
               and m.endswith("(we do not support reading multiple data chunks).") for m in msgs)


def test_junk_before_fmt_is_skipped() -> None:
    junk = b"JUNK" + struct.pack("<I", 6) + b"\1" * 6
    blob = RIFF[:12] + junk + RIFF[12:]
    np.testing.assert_array_equal(read_kaldi_wave(blob, strict=True).data, S16.astype(np.float32))


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "WaveData: expected 4-byte chunk-name, got read error"),
        (b"RIFF\0\0", "WaveData: unexpected end of file or read error"),
        (b"RIFF\0\0\0\0AVI LIST", "WaveData: expected WAVE, got AVI "),
        (b"RIFF\0\0\0\0", "WaveData: expected WAVE, failed to read anything"),
        (RIFF[:36], "WaveData: expected 4-byte chunk-name, got read error"),
        (RIFF[:40], "WaveData: unexpected end of file or read error"),
        (_wav(S16, fmt_tag=3, bits=32, payload=b"\0" * 8), "WaveData: can read only PCM data, format id in file is: 3"),
        (_wav(S16, bits=8, payload=b"\0" * 8), "WaveData: unsupported bits_per_sample = 8"),
        (_wav(np.zeros((0, 4)), payload=b"\0" * 8), "WaveData: no channels present"),
    ],
)
def test_strict_fatal_messages(blob: bytes, message: str) -> None:
    with pytest.raises(AudioFormatError) as err:
        read_kaldi_wave(blob, "x", strict=True)
    assert str(err.value) == message


@pytest.mark.parametrize(("fmt_tag", "bits"), [(3, 16), (3, 8), (7, 16), (6, 32), (1, 12)])
def test_superset_refuses_impossible_widths(fmt_tag: int, bits: int) -> None:
    blob = _wav(S16, fmt_tag=fmt_tag, bits=bits, payload=b"\0" * 12)
    with pytest.raises(AudioFormatError) as err:
        read_kaldi_wave(blob)
    assert str(err.value) == f"WaveData: unsupported bits_per_sample = {bits}"


def test_byte_rate_and_block_align_are_checked() -> None:
    blob = bytearray(RIFF)
    blob[28:32] = struct.pack("<I", 12345)
    with pytest.raises(AudioFormatError) as err:
        read_kaldi_wave(bytes(blob))
    assert str(err.value) == "Unexpected byte rate 12345 vs. 16000 * 2 * 2"
    blob = bytearray(RIFF)
    blob[32:34] = struct.pack("<H", 6)
    with pytest.raises(AudioFormatError) as err:
        read_kaldi_wave(bytes(blob))
    assert str(err.value) == "Unexpected block_align: 6 vs. 2 * 2"


def test_non_riff_garbage_keeps_kaldis_message_in_superset_mode() -> None:
    with pytest.raises(AudioFormatError) as err:
        read_kaldi_wave(b"\x00\x01junkjunkjunk")
    assert str(err.value) == "WaveData: expected RIFF or RIFX, got "  # NUL ends Kaldi's C string


# ----------------------------------------------------------------------------- writing


def _expected_pcm(data: np.ndarray) -> np.ndarray:
    """Kaldi's write rule, restated: truncate toward zero, clip to int16."""
    t = np.trunc(data.astype(np.float64))
    return np.clip(t, -32768, 32767).astype(np.int16)


@settings(max_examples=max(10, FUZZ // 4), deadline=None)
@given(
    data=st.integers(1, 3).flatmap(lambda ch: hnp.arrays(
        np.float32, st.tuples(st.just(ch), st.integers(0, 200)),
        elements=st.floats(-40000, 40000, width=32))),
    rate=st.sampled_from([8000.0, 16000.0, 22050.0, 44100.0, 16000.7]),
)
def test_write_then_read_round_trip(data: np.ndarray, rate: float) -> None:
    blob = write_kaldi_wave(WaveData(rate, data))
    ch, n = data.shape
    head = struct.unpack("<4sI4s4sIHHIIHH4sI", blob[:44])
    assert head == (b"RIFF", 36 + ch * n * 2, b"WAVE", b"fmt ", 16, 1, ch, int(rate),
                    int(rate) * ch * 2, ch * 2, 16, b"data", ch * n * 2)
    want = _expected_pcm(data)
    got = np.frombuffer(blob[44:], "<i2").reshape(n, ch).T
    np.testing.assert_array_equal(got, want)
    if n:
        back = read_kaldi_wave(blob)
        np.testing.assert_array_equal(back.data, want.astype(np.float32))
        assert back.samp_freq == float(int(rate))


def test_write_clipping_warning_and_x86_overflow(caplog) -> None:
    data = np.array([[40000.0, -40000.0, 1.9, -1.9, np.nan, 3e9, -3e9, 5.0]], dtype=np.float32)
    with caplog.at_level(logging.WARNING, logger="kaldibridge.kaldi.wave"):
        blob = write_kaldi_wave(WaveData(16000.0, data))
    got = np.frombuffer(blob[44:], "<i2")
    np.testing.assert_array_equal(got, [32767, -32768, 1, -1, -32768, -32768, -32768, 5])
    assert "WARNING: clipped 5 samples out of total 8. Reduce volume?" in [r.getMessage() for r in caplog.records]


def test_write_refuses_empty_and_bad_rate() -> None:
    with pytest.raises(AudioFormatError) as err:
        write_kaldi_wave(WaveData(16000.0, np.zeros((0, 10), np.float32)))
    assert str(err.value) == "Error: attempting to write empty WAVE file"
    for bad in (0.0, -8000.0, float("nan"), float("inf")):
        with pytest.raises(AudioFormatError):
            write_kaldi_wave(WaveData(bad, np.zeros((1, 10), np.float32)))


def test_duration_is_float32_like_kaldi() -> None:
    w = WaveData(16000.0, np.zeros((1, 51278), np.float32))
    assert w.duration == float(np.float32(51278) / np.float32(16000))
    assert w.num_channels == 1 and w.num_samples == 51278


def test_json_manifest_of_kaldi_cases_mentions_wave_tools() -> None:
    manifest = GOLDEN / "kaldi" / "manifest.json"
    if not manifest.is_file():
        pytest.skip(f"golden kaldi manifest not found at {manifest}")
    tools = {c["tool"] for c in json.loads(manifest.read_text())}
    assert {"wav-copy", "wav-to-duration"} <= tools


@needs_golden
@pytest.mark.skipif(shutil.which("sox") is None, reason="needs the sox program (CI installs it)")
def test_sox_pipe_with_unknown_length_reads_like_the_file() -> None:
    """``sox -t raw - -t wav -`` writes data size 0x7FFFF000 (stream mode) to the pipe."""
    path = AUDIO / "s16k_a1.wav"
    raw = path.read_bytes()[44:]
    proc = subprocess.Popen(
        ["sox", "-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1", "-",
         "-t", "wav", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    out, _ = proc.communicate(raw, timeout=120)
    assert struct.unpack("<I", out[40:44])[0] == 0x7FFFF000
    assert read_kaldi_wave_info(out).is_streamed
    w_pipe = read_kaldi_wave(io.BufferedReader(io.BytesIO(out)), "pipe")
    w_file = read_kaldi_wave(path.read_bytes())
    np.testing.assert_array_equal(w_pipe.data, w_file.data)
    assert w_pipe.samp_freq == w_file.samp_freq
