"""kaldibridge.io.load / info / save: sources, slicing, malformed WAV headers, errors."""

from __future__ import annotations

import io
import logging
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kaldibridge.io as kio
from kaldibridge.errors import AudioFormatError, KaldiIOError, OptionError

FUZZ = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))


def _pcm16_wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    """A canonical 44-byte-header 16-bit WAV built by hand; samples int16 (frames, ch)."""
    frames, ch = samples.shape
    data = samples.astype("<i2").tobytes()
    head = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1,
                       ch, rate, rate * ch * 2, ch * 2, 16, b"data", len(data))
    return head + data


def _with_sizes(blob: bytes, data_size: int | None = None, riff_size: int | None = None) -> bytes:
    b = bytearray(blob)
    if data_size is not None:
        b[40:44] = struct.pack("<I", data_size)
    if riff_size is not None:
        b[4:8] = struct.pack("<I", riff_size)
    return bytes(b)


RNG = np.random.default_rng(1234)
SAMPLES = RNG.integers(-32768, 32768, size=(500, 2)).astype(np.int16)
WAV = _pcm16_wav(SAMPLES)
EXPECTED = torch.from_numpy((SAMPLES.T / 32768.0).astype(np.float32))


class _PipeLike:
    """A read-only, non-seekable binary stream returning short reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self.name = "pipe-like"

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            out = self._data[self._pos:]
        else:
            out = self._data[self._pos: self._pos + min(n, 7)]  # short reads, like a pipe
        self._pos += len(out)
        return out

    def seekable(self) -> bool:
        return False


# ----------------------------------------------------------------------------- sources


def test_all_source_kinds_give_the_same_tensor(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(WAV)
    results = [
        kio.load(str(path)),
        kio.load(path),
        kio.load(WAV),
        kio.load(bytearray(WAV)),
        kio.load(memoryview(WAV)),
        kio.load(io.BytesIO(WAV)),
        kio.load(_PipeLike(WAV)),
    ]
    with open(path, "rb") as fh:
        results.append(kio.load(fh))
    for wav, rate in results:
        assert rate == 16000
        assert torch.equal(wav, EXPECTED)


def test_subprocess_pipe_is_read_to_eof(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(_with_sizes(WAV, data_size=0x7FFFF000, riff_size=0x7FFFF024))
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys; sys.stdout.buffer.write(open(sys.argv[1],'rb').read())",
                             str(path)], stdout=subprocess.PIPE)
    try:
        wav, rate = kio.load(proc.stdout)
    finally:
        proc.stdout.close()
        proc.wait()
    assert torch.equal(wav, EXPECTED)


def test_stream_read_from_its_current_position() -> None:
    stream = io.BytesIO(b"prefix" + WAV)
    stream.read(6)
    wav, _ = kio.load(stream)
    assert torch.equal(wav, EXPECTED)


# ----------------------------------------------------------------------------- slicing


@settings(max_examples=max(10, FUZZ // 4), deadline=None)
@given(offset=st.integers(0, 600), count=st.integers(-1, 600), channels_first=st.booleans())
def test_frame_offset_and_num_frames_slice_the_full_signal(offset, count, channels_first) -> None:
    wav, _ = kio.load(WAV, frame_offset=offset, num_frames=count, channels_first=channels_first)
    full = EXPECTED if channels_first else EXPECTED.T
    stop = None if count < 0 else offset + count
    want = full[:, offset:stop] if channels_first else full[offset:stop]
    assert torch.equal(wav, want)


def test_negative_arguments_are_refused() -> None:
    with pytest.raises(OptionError):
        kio.load(WAV, frame_offset=-1)
    with pytest.raises(OptionError):
        kio.load(WAV, num_frames=-2)


# ----------------------------------------------------------------------------- info


@settings(max_examples=max(10, FUZZ // 10), deadline=None)
@given(
    frames=st.integers(0, 400),
    channels=st.integers(1, 5),
    rate=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]),
    spec=st.sampled_from([("wav", "PCM_S", 16), ("wav", "PCM_U", 8), ("wav", "PCM_F", 32),
                          ("flac", "FLAC", 24), ("au", "ULAW", 8), ("aiff", "PCM_S", 24)]),
)
def test_info_agrees_with_load(frames, channels, rate, spec) -> None:
    fmt, enc, bits = spec
    x = torch.zeros(channels, frames)
    buf = io.BytesIO()
    kio.save(buf, x, rate, format=fmt, encoding=enc, bits_per_sample=bits)
    meta = kio.info(buf.getvalue())
    wav, got_rate = kio.load(buf.getvalue())
    assert meta == kio.AudioMetaData(rate, frames, channels, bits, enc)
    assert got_rate == rate
    assert tuple(wav.shape) == (channels, frames)


def test_metadata_is_frozen() -> None:
    meta = kio.info(WAV)
    with pytest.raises(AttributeError):
        meta.num_frames = 3  # type: ignore[misc]


# ----------------------------------------------------------------------------- malformed sizes


@pytest.mark.parametrize(
    ("data_size", "riff_size"),
    [(0xFFFFFFFF, 0xFFFFFFFF), (0x7FFFF000, 0x7FFFF024), (None, 0), (None, 0xFFFFFFFF)],
)
def test_streamed_sizes_read_to_eof(data_size, riff_size) -> None:
    blob = _with_sizes(WAV, data_size, riff_size)
    wav, _ = kio.load(blob)
    assert torch.equal(wav, EXPECTED)
    assert kio.info(blob).num_frames == 500


def test_streamed_size_with_a_partial_last_frame_drops_it() -> None:
    blob = _with_sizes(WAV, 0xFFFFFFFF, 0xFFFFFFFF)[:-3]
    wav, _ = kio.load(blob)
    assert torch.equal(wav, EXPECTED[:, :499])


def test_zero_data_size_gives_no_frames_unless_ignore_length() -> None:
    blob = _with_sizes(WAV, data_size=0)
    wav, _ = kio.load(blob)
    assert tuple(wav.shape) == (2, 0)
    wav, _ = kio.load(blob, ignore_length=True)
    assert torch.equal(wav, EXPECTED)
    assert kio.info(blob, ignore_length=True).num_frames == 500


def test_short_data_size_reads_the_announced_part_unless_ignore_length() -> None:
    blob = _with_sizes(WAV, data_size=100 * 4)
    assert torch.equal(kio.load(blob)[0], EXPECTED[:, :100])
    assert torch.equal(kio.load(blob, ignore_length=True)[0], EXPECTED)


def test_truncated_file_warns_and_returns_what_is_there(caplog) -> None:
    blob = WAV[: 44 + 123 * 4 + 3]  # cut mid-frame
    with caplog.at_level(logging.WARNING, logger="kaldibridge.io"):
        wav, _ = kio.load(blob)
    assert torch.equal(wav, EXPECTED[:, :123])
    assert any("premature EOF" in r.getMessage() and "<bytes>" in r.getMessage() for r in caplog.records)


def test_chunks_before_and_after_data_are_skipped() -> None:
    junk = b"JUNK" + struct.pack("<I", 5) + b"abcde" + b"\0"
    info_chunk = b"LIST" + struct.pack("<I", 4) + b"INFO"
    head, data = WAV[12:36], WAV[36:]
    blob = b"RIFF" + struct.pack("<I", 4 + len(junk) + len(head) + len(info_chunk) + len(data)) + b"WAVE"
    blob += junk + head + info_chunk + data + info_chunk
    wav, _ = kio.load(blob)
    assert torch.equal(wav, EXPECTED)


def test_gsm_decodes_whole_blocks_only() -> None:
    x = torch.from_numpy(np.sin(np.arange(4800) / 9.0).astype(np.float32) * 0.3)[None]
    buf = io.BytesIO()
    kio.save(buf, x, 8000, format="wav", encoding="GSM")
    blob = bytearray(buf.getvalue())
    # find the data chunk and the block size, independently of the library
    pos, align, data_pos, data_size = 12, None, None, None
    while pos < len(blob):
        tag, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        if tag == b"fmt ":
            align, spb = struct.unpack("<H", blob[pos + 20:pos + 22])[0], struct.unpack("<H", blob[pos + 26:pos + 28])[0]
        if tag == b"data":
            data_pos, data_size = pos + 8, size
            break
        pos += 8 + size + (size & 1)
    assert align == 65 and spb == 320
    # append an odd pad byte to the data (as sox writes it): still whole blocks only
    blob = bytes(blob[:data_pos + data_size]) + b"\0"
    blob = blob[:data_pos - 4] + struct.pack("<I", data_size + 1) + blob[data_pos:]
    wav, _ = kio.load(blob)
    assert wav.shape[1] == (data_size // 65) * 320
    assert kio.info(blob).num_frames == wav.shape[1]


# ----------------------------------------------------------------------------- raw


def test_raw_needs_its_parameters() -> None:
    with pytest.raises(OptionError):
        kio.load(b"\0\0" * 10, format="raw")
    with pytest.raises(OptionError):
        kio.load(b"\0\0" * 10, format="raw", sample_rate=8000, num_channels=1,
                 encoding="PCM_S", bits_per_sample=12)


@pytest.mark.parametrize(
    ("encoding", "bits", "dtype", "scale", "endianness"),
    [
        ("PCM_S", 16, "<i2", 32768.0, "little"),
        ("PCM_S", 16, ">i2", 32768.0, "big"),
        ("PCM_S", 32, "<i4", 2.0**31, "little"),
        ("signed-integer", 8, "i1", 128.0, "little"),
        ("PCM_F", 32, "<f4", 1.0, "little"),
        ("PCM_F", 64, ">f8", 1.0, "big"),
    ],
)
def test_raw_decodes_like_numpy(encoding, bits, dtype, scale, endianness) -> None:
    rng = np.random.default_rng(5)
    if dtype.lstrip("<>").startswith("f"):
        vals = rng.uniform(-1, 1, size=60).astype(dtype)
    else:
        info = np.iinfo(np.dtype(dtype))
        vals = rng.integers(info.min, info.max, size=60, endpoint=True).astype(dtype)
    wav, rate = kio.load(vals.tobytes(), format="raw", sample_rate=8000, num_channels=3,
                         encoding=encoding, bits_per_sample=bits, endianness=endianness)
    want = (vals.astype(np.float64) / scale).astype(np.float32).reshape(20, 3).T
    assert rate == 8000
    np.testing.assert_array_equal(wav.numpy(), want)
    meta = kio.info(vals.tobytes(), format="raw", sample_rate=8000, num_channels=3,
                    encoding=encoding, bits_per_sample=bits, endianness=endianness)
    assert meta.num_frames == 20


def test_raw_unsigned_8_bit_is_offset_binary() -> None:
    vals = np.array([0, 64, 128, 255], dtype=np.uint8)
    wav, _ = kio.load(vals.tobytes(), format="raw", sample_rate=8000, num_channels=1,
                      encoding="PCM_U", bits_per_sample=8)
    np.testing.assert_array_equal(wav.numpy()[0], (vals.astype(np.float32) - 128) / 128)
    raw_u8, _ = kio.load(vals.tobytes(), normalize=False, format="raw", sample_rate=8000,
                         num_channels=1, encoding="PCM_U", bits_per_sample=8)
    assert raw_u8.dtype == torch.uint8
    np.testing.assert_array_equal(raw_u8.numpy()[0], vals)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("blob", "needle"),
    [
        (b"", "empty file"),
        (b"This is not audio at all, just text.\n" * 3, "not a recognised audio file"),
        (WAV[:44], "no audio data"),
        (WAV[:30], ""),
    ],
)
def test_bad_input_raises_audio_format_error_naming_the_file(tmp_path: Path, blob, needle) -> None:
    path = tmp_path / "bad_input.wav"
    path.write_bytes(blob)
    for fn in (kio.load, kio.info):
        with pytest.raises(AudioFormatError) as err:
            fn(path)
        assert str(path) in str(err.value)
        assert needle in str(err.value)
        assert isinstance(err.value, OSError) and isinstance(err.value, ValueError)
    with pytest.raises(AudioFormatError) as err:
        kio.load(blob)
    assert "<bytes>" in str(err.value)


def test_unsupported_wav_codec_is_named() -> None:
    blob = bytearray(WAV)
    blob[20:22] = struct.pack("<H", 0x1234)
    with pytest.raises(AudioFormatError) as err:
        kio.load(bytes(blob))
    assert "0x1234" in str(err.value)


def test_missing_file_is_an_io_error(tmp_path: Path) -> None:
    with pytest.raises(KaldiIOError) as err:
        kio.load(tmp_path / "nope.wav")
    assert "nope.wav" in str(err.value)
    with pytest.raises(KaldiIOError):
        kio.load(tmp_path)


def test_wrong_source_types_are_refused() -> None:
    with pytest.raises(OptionError):
        kio.load(12345)  # type: ignore[arg-type]
    with pytest.raises(OptionError):
        kio.load(io.StringIO("text"))  # type: ignore[arg-type]


def test_save_argument_errors(tmp_path: Path) -> None:
    x = torch.zeros(1, 10)
    with pytest.raises(OptionError):
        kio.save(io.BytesIO(), x, 8000)  # no format for a stream
    with pytest.raises(OptionError):
        kio.save(tmp_path / "x.xyz", x, 8000)
    with pytest.raises(OptionError):
        kio.save(tmp_path / "x.wav", x, 8000, encoding="PCM_S", bits_per_sample=8)  # WAV 8-bit is unsigned
    with pytest.raises(OptionError):
        kio.save(tmp_path / "x.flac", x, 8000, encoding="PCM_F")
    with pytest.raises(OptionError):
        kio.save(tmp_path / "x.wav", torch.zeros(1, 2, 3), 8000)
    with pytest.raises(OptionError):
        kio.save(tmp_path / "x.wav", x, 0)
    with pytest.raises(KaldiIOError):
        kio.save(tmp_path / "no_such_dir" / "x.wav", x, 8000)


def test_save_writes_files_soundfile_can_read(tmp_path: Path) -> None:
    x = torch.tensor([[0.0, 0.5, -0.5, 1.0, -1.0]])
    kio.save(tmp_path / "x.wav", x, 22050, encoding="PCM_S", bits_per_sample=16)
    data, rate = sf.read(tmp_path / "x.wav", dtype="int16")
    assert rate == 22050
    np.testing.assert_array_equal(data, [0, 16384, -16384, 32767, -32768])


# ----------------------------------------------------------------------------- sox-specific layouts


def _nist(payload: bytes, width: int, channels: int, rate: int, count: int,
          order: str = "01", coding: str = "pcm") -> bytes:
    """A NIST SPHERE header as sox writes it (byte format "01" whatever the width)."""
    lines = ["NIST_1A", "   1024", f"sample_count -i {count}", f"sample_n_bytes -i {width}",
             f"channel_count -i {channels}", f"sample_byte_format -s{len(order)} {order}",
             f"sample_rate -i {rate}", f"sample_coding -s{len(coding)} {coding}", "end_head"]
    head = ("\n".join(lines) + "\n").encode()
    return head + b" " * (1024 - len(head)) + payload


@pytest.mark.parametrize(("width", "order"), [(3, "01"), (3, "210"), (4, "01"), (4, "3210")])
def test_nist_sphere_wide_samples(width: int, order: str) -> None:
    rng = np.random.default_rng(width)
    top = 2 ** (8 * width - 1)
    vals = rng.integers(-top, top, size=(40, 2))
    le = (vals & (2 ** (8 * width) - 1)).astype("<u4").view(np.uint8).reshape(40, 2, 4)[:, :, :width]
    raw = le if order.startswith("0") else le[:, :, ::-1]
    blob = _nist(np.ascontiguousarray(raw).tobytes(), width, 2, 22050, 40, order)
    wav, rate = kio.load(blob)
    assert rate == 22050
    np.testing.assert_array_equal(wav.numpy(), (vals.T / float(top)).astype(np.float32))
    meta = kio.info(blob)
    assert (meta.num_frames, meta.num_channels, meta.bits_per_sample, meta.encoding) == (40, 2, 8 * width, "PCM_S")


def test_nist_sphere_unknown_coding_is_an_error() -> None:
    blob = _nist(b"\0" * 64, 2, 1, 16000, 32, coding="pcm,embedded-shorten-v2.00")
    with pytest.raises(AudioFormatError):
        kio.load(blob)


def _adpcm(encoding: str, channels: int) -> tuple[bytes, int, int, int]:
    """An ADPCM WAV written by kaldibridge, with its data offset, block align, samples per block."""
    t = np.arange(6000) / 8000.0
    x = np.stack([0.4 * np.sin(2 * np.pi * (200 + 150 * c) * t) for c in range(channels)]).astype(np.float32)
    buf = io.BytesIO()
    kio.save(buf, torch.from_numpy(x), 8000, format="wav", encoding=encoding)
    blob = buf.getvalue()
    pos = 12
    while True:
        tag, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        if tag == b"fmt ":
            align = struct.unpack("<H", blob[pos + 20:pos + 22])[0]
            spb = struct.unpack("<H", blob[pos + 26:pos + 28])[0]
        if tag == b"data":
            return blob, pos + 8, align, spb
        pos += 8 + size + (size & 1)


@pytest.mark.parametrize(("encoding", "channels"), [("IMA_ADPCM", 1), ("IMA_ADPCM", 2),
                                                    ("MS_ADPCM", 1), ("MS_ADPCM", 2)])
@pytest.mark.parametrize("cut", [1, 5, 40, 101])
def test_cut_adpcm_decodes_the_complete_part_of_the_last_block(encoding, channels, cut) -> None:
    blob, data_pos, align, spb = _adpcm(encoding, channels)
    full, _ = kio.load(blob)
    short = blob[: len(blob) - cut]
    wav, _ = kio.load(short)
    rest = (len(short) - data_pos) % align
    # sox's rule for the partial last block (restated from its documentation of the codecs)
    if encoding == "IMA_ADPCM":
        extra = ((rest - 4 * channels) // (4 * channels)) * 8 + 1 if rest >= 4 * channels else 0
    else:
        extra = (2 * (rest - 7 * channels)) // channels + 2 if rest >= 7 * channels else 0
    want = ((len(short) - data_pos) // align) * spb + min(extra, spb)
    assert wav.shape[1] == want
    assert kio.info(short).num_frames == want
    assert torch.equal(wav, full[:, :want])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")
def test_named_pipe_path_is_read_to_eof(tmp_path: Path) -> None:
    fifo = tmp_path / "audio.fifo"
    os.mkfifo(fifo)
    code = "import sys; open(sys.argv[1], 'wb').write(sys.stdin.buffer.read())"
    proc = subprocess.Popen([sys.executable, "-c", code, str(fifo)], stdin=subprocess.PIPE)
    proc.stdin.write(WAV)
    proc.stdin.close()
    try:
        wav, rate = kio.load(fifo)
    finally:
        proc.wait(timeout=60)
    assert rate == 16000
    assert torch.equal(wav, EXPECTED)
