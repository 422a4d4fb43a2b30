"""Kaldi's wave semantics: reading and writing RIFF/WAVE as Kaldi's ``WaveData`` does.

Samples are kept in int16 scale (the raw integer values of 16-bit PCM, as float32),
one row per channel, as in Kaldi's ``Matrix<BaseFloat>``.

Kaldi: ``src/feat/wave-reader.{h,cc}`` (``WaveInfo``, ``WaveData``, ``WaveHolder``).

Reading follows Kaldi step by step: the same chunk walk, the same "stream mode"
(RIFF size 0 or 0xFFFFFFFF, data size 0, 0xFFFFFFFF or 0x7FFFF000: data are read to
EOF), the same warnings (logged with :mod:`logging` under Kaldi's wording) and the
same fatal messages (raised as :class:`~kaldibridge.errors.AudioFormatError` whose
text is exactly Kaldi's; the source name is in the exception's ``source`` attribute).

Differences (a superset, off with ``strict=True``):

* Kaldi refuses everything but 16-bit PCM. kaldibridge also reads 8-bit unsigned
  (``(v - 128) * 256``), 24-bit (``v / 256``) and 32-bit (``v / 65536``) PCM,
  32/64-bit IEEE float (``x * 32768``), mu-law and A-law (their 16-bit levels),
  and through libsndfile any other WAV codec (ADPCM, GSM...).
* Odd-sized chunks before ``data`` followed by the RIFF pad byte are skipped
  properly (Kaldi loses alignment and fails).
* Non-RIFF containers (FLAC, NIST SPHERE, AIFF, Ogg, MP3...) are decoded with
  libsndfile; having no RIFF sizes, they are read to EOF (so they work as whole
  files, e.g. in a wav.scp, not inside an archive).
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from typing import Any, BinaryIO, Union

import numpy as np

from kaldibridge.errors import AudioFormatError
from kaldibridge.io._g711 import alaw_decode, ulaw_decode

__all__ = [
    "WaveData",
    "WaveInfo",
    "read_kaldi_wave",
    "read_kaldi_wave_info",
    "read_kaldi_wave_from_stream",
    "write_kaldi_wave",
    "KALDI_WAVE_SAMPLE_MAX",
]

logger = logging.getLogger(__name__)

#: Kaldi's ``kWaveSampleMax``: int16-scale full scale.
KALDI_WAVE_SAMPLE_MAX = 32768.0

_BLOCK = 1 << 20  # Kaldi reads streamed data in blocks of 1 MiB
_KS_GUID_TAIL = (0x00100000, 0xAA000080, 0x719B3800)  # KSDATAFORMAT_SUBTYPE_* suffix
_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 1, 3, 6, 7, 0xFFFE

WaveSource = Union[bytes, bytearray, memoryview, BinaryIO]


@dataclasses.dataclass
class WaveData:
    """A waveform as Kaldi holds it.

    Attributes:
        samp_freq: sample frequency in Hz (float, as Kaldi's BaseFloat).
        data: float32 array ``(channels, samples)`` in int16 scale.

    Kaldi: ``WaveData``.
    """

    samp_freq: float
    data: np.ndarray

    @property
    def num_channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.data.shape[1]) if self.data.ndim == 2 else 0

    @property
    def duration(self) -> float:
        """Seconds, computed in float32 as Kaldi's ``Duration()`` (samples / samp_freq)."""
        return float(np.float32(self.num_samples) / np.float32(self.samp_freq))


@dataclasses.dataclass(frozen=True)
class WaveInfo:
    """What a wave header says, read as Kaldi's ``WaveInfo::Read`` reads it.

    Attributes:
        samp_freq: Hz.
        samp_count: samples per channel the header announces; -1 in stream mode.
            For codecs decoded through libsndfile (ADPCM, GSM) it counts codec
            blocks instead, and ``block_align`` is the block size.
        num_channels: channels.
        reverse_bytes: True for big-endian (RIFX) files.
        bits_per_sample: 16 for Kaldi; 8, 24, 32 or 64 in the superset.
        format_tag: 1 PCM, 3 float, 6 A-law, 7 mu-law (the sub-format for
            WAVE_FORMAT_EXTENSIBLE), other values for libsndfile codecs.
        block_align: bytes per sample frame.
        header_bytes: bytes from the start of the file to the first data byte.

    Kaldi: ``WaveInfo``.
    """

    samp_freq: float
    samp_count: int
    num_channels: int
    reverse_bytes: bool
    bits_per_sample: int = 16
    format_tag: int = _PCM
    block_align: int = 2
    header_bytes: int = 44

    @property
    def is_streamed(self) -> bool:
        """True when the length is unknown (data run to EOF)."""
        return self.samp_count < 0

    @property
    def data_bytes(self) -> int:
        """Bytes of wave data Kaldi reads (``samp_count * block_align``); invalid if streamed."""
        return self.samp_count * self.block_align

    @property
    def total_bytes(self) -> int:
        """Bytes one wave occupies in an archive (header + data); -1 if streamed."""
        return -1 if self.is_streamed else self.header_bytes + self.data_bytes

    @property
    def duration(self) -> float:
        """Seconds (float32, as Kaldi); meaningless when streamed."""
        return float(np.float32(self.samp_count) / np.float32(self.samp_freq))


def _fatal(msg: str, name: str) -> AudioFormatError:
    err = AudioFormatError(msg)
    err.source = name  # type: ignore[attr-defined]  # (OSError.filename would alter str())
    return err


def _tag_text(tag: bytes) -> str:
    """A 4-byte tag as Kaldi prints it (a C string: stops at the first NUL)."""
    return tag.split(b"\0", 1)[0].decode("latin-1")


class _In:
    """Byte source over bytes or a binary stream that counts what it consumed."""

    def __init__(self, src: WaveSource) -> None:
        if isinstance(src, (bytes, bytearray, memoryview)):
            self._mv: memoryview | None = memoryview(src).cast("B")
            self._f: Any = None
        else:
            self._mv = None
            self._f = src
        self.pos = 0
        self._pushback = b""
        self.header = bytearray()  # bytes consumed by the header walk (for fallbacks)

    def read(self, n: int) -> bytes:
        out = b""
        if self._pushback:
            out, self._pushback = self._pushback[:n], self._pushback[n:]
            n -= len(out)
        if n > 0:
            if self._mv is not None:
                piece = bytes(self._mv[self.pos + len(out): self.pos + len(out) + n])
            else:
                piece = _read_upto(self._f, n)
            out += piece
        self.pos += len(out)
        self.header += out
        return out

    def unread(self, b: bytes) -> None:
        self._pushback = b + self._pushback
        self.pos -= len(b)
        del self.header[len(self.header) - len(b):]

    def skip(self, n: int) -> int:
        """Discards up to ``n`` bytes; returns how many there were."""
        got = 0
        while got < n:
            piece = self.read(min(n - got, _BLOCK))
            if not piece:
                break
            got += len(piece)
        return got

    def data(self, n: int | None) -> bytes | memoryview:
        """Up to ``n`` bytes (None: to EOF), not recorded in ``header``."""
        pre = self._pushback
        self._pushback = b""
        if self._mv is not None:
            start = self.pos + len(pre)
            end = len(self._mv) if n is None else min(len(self._mv), start + n - len(pre))
            body: bytes | memoryview = self._mv[start:end]
            if pre:
                body = pre + bytes(body)
        else:
            if n is None:
                rest = _read_to_eof(self._f)
            else:
                rest = _read_upto(self._f, n - len(pre))
            body = pre + rest if pre else rest
        self.pos += len(body)
        return body


def _read_upto(f: Any, n: int) -> bytes:
    """Reads ``n`` bytes, fewer only at EOF (loops over short reads of pipes)."""
    parts = []
    got = 0
    while got < n:
        piece = f.read(n - got)
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


def _read_to_eof(f: Any) -> bytes:
    parts = []
    while True:
        piece = f.read(_BLOCK)
        if not piece:
            break
        parts.append(piece)
    return b"".join(parts)


class _Header:
    """Kaldi's ``WaveHeaderReadGofer``: tag/uint reads with Kaldi's error texts."""

    def __init__(self, src: _In, name: str) -> None:
        self.src = src
        self.name = name
        self.swap = False

    def tag(self) -> bytes:
        t = self.src.read(4)
        if len(t) < 4:
            raise _fatal("WaveData: expected 4-byte chunk-name, got read error", self.name)
        return t

    def expect(self, expected: str) -> None:
        t = self.src.read(4)
        if len(t) < 4:
            raise _fatal(f"WaveData: expected {expected}, failed to read anything", self.name)
        if t != expected.encode():
            raise _fatal(f"WaveData: expected {expected}, got {_tag_text(t)}", self.name)

    def u32(self) -> int:
        b = self.src.read(4)
        if len(b) < 4:
            raise _fatal("WaveData: unexpected end of file or read error", self.name)
        return struct.unpack(">I" if self.swap else "<I", b)[0]

    def u16(self) -> int:
        b = self.src.read(2)
        if len(b) < 2:
            raise _fatal("WaveData: unexpected end of file or read error", self.name)
        return struct.unpack(">H" if self.swap else "<H", b)[0]


@dataclasses.dataclass
class _Parsed:
    info: WaveInfo
    codec_fallback: bool  # decode through libsndfile (ADPCM, GSM, ...)
    data_chunk_size: int


def _read_header(src: _In, name: str, strict: bool) -> _Parsed:
    """Kaldi's ``WaveInfo::Read`` (plus the documented superset when not strict)."""
    r = _Header(src, name)
    first = r.tag()
    if first == b"RIFF":
        r.swap = False
    elif first == b"RIFX":
        r.swap = True
    else:
        raise _fatal(f"WaveData: expected RIFF or RIFX, got {_tag_text(first)}", name)
    riff_chunk_size = r.u32()
    r.expect("WAVE")
    riff_read = 4

    tag = r.tag()
    riff_read += 4
    while tag != b"fmt ":
        filler = r.u32()
        riff_read += 4
        riff_read += src.skip(filler) if strict else _skip_chunk(src, filler, strict)
        tag = r.tag()
        riff_read += 4

    fmt_size = r.u32()
    audio_format = r.u16()
    num_channels = r.u16() & 0xFF  # Kaldi keeps the channel count in a uint8
    sample_rate = r.u32()
    byte_rate = r.u32()
    block_align = r.u16()
    bits = r.u16()
    fmt_read = 16
    codec = audio_format
    fallback = False
    if audio_format == _PCM:
        if fmt_size < 16:
            raise _fatal(
                "WaveData: expect PCM format data to have fmt chunk of at least size 16.", name
            )
    elif audio_format == _EXTENSIBLE:
        extra = r.u16()
        if fmt_size < 40 or extra < 22:
            raise _fatal("WaveData: malformed WAVE_FORMAT_EXTENSIBLE format data.", name)
        r.u16()  # valid bits per sample
        r.u32()  # channel mask
        guid = (r.u32(), r.u32(), r.u32(), r.u32())
        fmt_read = 40
        known = guid[1:] == _KS_GUID_TAIL
        if known and guid[0] == _PCM:
            codec = _PCM
        elif not strict and known and guid[0] in (_FLOAT, _ALAW, _ULAW):
            codec = guid[0]
        elif not strict:
            codec, fallback = guid[0] if known else audio_format, True
        else:
            raise _fatal("WaveData: unsupported WAVE_FORMAT_EXTENSIBLE format.", name)
    elif not strict and audio_format in (_FLOAT, _ALAW, _ULAW):
        pass
    elif not strict:
        fallback = True
    else:
        raise _fatal(
            f"WaveData: can read only PCM data, format id in file is: {audio_format}", name
        )
    src.skip(max(fmt_size - fmt_read, 0))
    if fmt_size & 1 and not strict:
        _skip_pad(src)

    if num_channels == 0:
        raise _fatal("WaveData: no channels present", name)
    if not fallback:
        allowed = {_PCM: (8, 16, 24, 32), _FLOAT: (32, 64), _ALAW: (8,), _ULAW: (8,)}[codec]
        if bits not in allowed or (strict and bits != 16):
            raise _fatal(f"WaveData: unsupported bits_per_sample = {bits}", name)
        if byte_rate != sample_rate * (bits // 8) * num_channels:
            raise _fatal(
                f"Unexpected byte rate {byte_rate} vs. {sample_rate} * {bits // 8} * {num_channels}",
                name,
            )
        if block_align != num_channels * (bits // 8):
            raise _fatal(
                f"Unexpected block_align: {block_align} vs. {num_channels} * {bits // 8}", name
            )
    riff_read += 4 + fmt_size

    tag = r.tag()
    riff_read += 4
    while tag != b"data":
        size = r.u32()
        if size != 4 and tag == b"fact":
            logger.warning("Expected fact chunk to be 4 bytes long.")
        riff_read += 4 + (src.skip(size) if strict else _skip_chunk(src, size, strict))
        tag = r.tag()
        riff_read += 4
    data_size = r.u32()
    riff_read += 4

    stream_mode = (
        riff_chunk_size in (0, 0xFFFFFFFF) or data_size in (0, 0xFFFFFFFF, 0x7FFFF000)
    )
    if not stream_mode and abs(riff_read + data_size - riff_chunk_size) > 1:
        logger.warning(
            "Expected %d bytes in RIFF chunk, but after first data block there will be "
            "%d + %d bytes (we do not support reading multiple data chunks).",
            riff_chunk_size, riff_read, data_size,
        )
    align = max(block_align, 1) if fallback else num_channels * (bits // 8)
    samp_count = -1 if stream_mode else data_size // align
    info = WaveInfo(
        samp_freq=float(np.float32(sample_rate)),
        samp_count=samp_count,
        num_channels=num_channels,
        reverse_bytes=r.swap,
        bits_per_sample=bits,
        format_tag=codec,
        block_align=align,
        header_bytes=src.pos,
    )
    return _Parsed(info=info, codec_fallback=fallback, data_chunk_size=data_size)


def _skip_chunk(src: _In, size: int, strict: bool) -> int:
    got = src.skip(size)
    if size & 1 and got == size and not strict:
        got += _skip_pad(src)
    return got


def _skip_pad(src: _In) -> int:
    """Consumes the RIFF pad byte after an odd-sized chunk if it is there (a NUL)."""
    b = src.read(1)
    if b == b"\0":
        return 1
    if b:
        src.unread(b)
    return 0


def _decode(info: WaveInfo, buf: bytes | memoryview) -> np.ndarray:
    """Whole-buffer vectorized decode to float32 ``(channels, samples)`` in int16 scale."""
    nch = info.num_channels
    width = info.bits_per_sample // 8
    nsamp = len(buf) // info.block_align
    nbytes = nsamp * info.block_align
    e = ">" if info.reverse_bytes else "<"
    raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes)
    tag = info.format_tag
    if tag == _PCM and width == 2:
        ints = raw.view(e + "i2").reshape(nsamp, nch)
        return np.ascontiguousarray(ints.T, dtype=np.float32)
    if tag == _PCM and width == 1:
        vals = (raw.astype(np.float32) - 128.0) * 256.0
    elif tag == _PCM and width == 3:
        b = raw.reshape(-1, 3).astype(np.int32)
        lo, hi = (b[:, 2], b[:, 0]) if info.reverse_bytes else (b[:, 0], b[:, 2])
        v = lo | (b[:, 1] << 8) | (hi << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        vals = v.astype(np.float32) / np.float32(256.0)
    elif tag == _PCM and width == 4:
        vals = (raw.view(e + "i4").astype(np.float64) / 65536.0).astype(np.float32)
    elif tag == _FLOAT:
        dt = e + ("f4" if width == 4 else "f8")
        with np.errstate(over="ignore", invalid="ignore"):  # out-of-range floats become inf
            vals = (raw.view(dt).astype(np.float64) * KALDI_WAVE_SAMPLE_MAX).astype(np.float32)
    elif tag == _ULAW:
        vals = ulaw_decode(raw).astype(np.float32)
    elif tag == _ALAW:
        vals = alaw_decode(raw).astype(np.float32)
    else:  # internal: _read_header only lets the cases above through
        raise AudioFormatError(f"WaveData: cannot decode format {tag}")
    return np.ascontiguousarray(vals.reshape(nsamp, nch).T)


def _read_body(src: _In, parsed: _Parsed, name: str) -> WaveData:
    """Kaldi's ``WaveData::Read`` after the header."""
    info = parsed.info
    if info.is_streamed:
        buf = src.data(None)
    else:
        buf = src.data(info.data_bytes)
    if len(buf) == 0:
        raise _fatal("WaveData: empty file (no data)", name)
    if not info.is_streamed and len(buf) < info.data_bytes:
        logger.warning(
            "Expected %d bytes of wave data, but read only %d bytes. Truncated file?",
            info.data_bytes, len(buf),
        )
    if parsed.codec_fallback:
        return _decode_with_libsndfile(bytes(src.header), buf, parsed, name)
    return WaveData(samp_freq=info.samp_freq, data=_decode(info, buf))


def _decode_with_libsndfile(head: bytes, buf: bytes | memoryview, parsed: _Parsed, name: str) -> WaveData:
    from kaldibridge.io import load  # core layer; imported lazily to keep import cheap

    info = parsed.info
    e = "big" if info.reverse_bytes else "little"
    patched = bytearray(head)
    patched[-4:] = len(buf).to_bytes(4, e)  # the data size field is the last 4 header bytes
    patched[4:8] = min(len(patched) - 8 + len(buf), 0xFFFFFFFF).to_bytes(4, e)
    try:
        wav, rate = load(bytes(patched) + bytes(buf))
    except (AudioFormatError, OSError, ValueError):
        raise _fatal(
            f"WaveData: can read only PCM data, format id in file is: {info.format_tag}", name
        ) from None
    data = (wav.numpy() * np.float32(KALDI_WAVE_SAMPLE_MAX)).astype(np.float32)
    return WaveData(samp_freq=float(np.float32(rate)), data=data)


def _source_name(src: Any, name: str) -> str:
    if name == "<stream>" and not isinstance(src, (bytes, bytearray, memoryview)):
        return str(getattr(src, "name", name))
    return name


def read_kaldi_wave_info(data: WaveSource, name: str = "<stream>", *, strict: bool = False) -> WaveInfo:
    """Reads only the header, as ``WaveInfoHolder`` does (``wav-to-duration``).

    Args:
        data: the file's bytes or a binary stream positioned at its start; a stream
            is left at the first data byte.
        name: the source's name, stored in raised errors' ``source`` attribute.
        strict: refuse what Kaldi refuses (anything but 16-bit PCM).

    Returns:
        The header; ``samp_count`` is -1 in stream mode.

    Raises:
        AudioFormatError: Kaldi's fatal header errors, with Kaldi's text.

    Kaldi: ``WaveInfo::Read``.
    """
    name = _source_name(data, name)
    return _read_header(_In(data), name, strict).info


def read_kaldi_wave(data: WaveSource, name: str = "<stream>", *, strict: bool = False) -> WaveData:
    """Reads one wave file as Kaldi's ``WaveData::Read`` does.

    A stream (e.g. a pipe of unknown length) is read until the end of the data
    chunk, or to EOF in stream mode. Data shorter than announced log Kaldi's
    "Truncated file?" warning and keep the samples read.

    Args:
        data: the file's bytes or a binary stream positioned at its start.
        name: the source's name, stored in raised errors' ``source`` attribute.
        strict: Kaldi's exact behaviour: RIFF/RIFX 16-bit PCM only.

    Returns:
        The waveform, float32 ``(channels, samples)`` in int16 scale.

    Raises:
        AudioFormatError: with Kaldi's message, e.g. ``WaveData: expected RIFF or
            RIFX, got This``, ``WaveData: empty file (no data)``,
            ``WaveData: unsupported bits_per_sample = 24`` (strict).

    Kaldi: ``WaveData::Read``. Differences: the superset listed in the module
    docstring when ``strict`` is False.
    """
    name = _source_name(data, name)
    src = _In(data)
    if not strict:
        head = src.read(4)
        src.unread(head)
        if len(head) == 4 and head not in (b"RIFF", b"RIFX"):
            return _read_other_container(src, head, name)
    return _read_body(src, _read_header(src, name, strict), name)


def _read_other_container(src: _In, head: bytes, name: str) -> WaveData:
    from kaldibridge.io import load

    blob = bytes(src.data(None))
    try:
        wav, rate = load(blob)
    except (AudioFormatError, OSError, ValueError):
        raise _fatal(f"WaveData: expected RIFF or RIFX, got {_tag_text(head)}", name) from None
    if wav.shape[1] == 0:
        raise _fatal("WaveData: empty file (no data)", name)
    data = (wav.numpy() * np.float32(KALDI_WAVE_SAMPLE_MAX)).astype(np.float32)
    return WaveData(samp_freq=float(np.float32(rate)), data=data)


def read_kaldi_wave_from_stream(f: BinaryIO, name: str = "<stream>", *, strict: bool = False) -> WaveData:
    """Consumes exactly one RIFF/RIFX wave from a stream, as ``WaveHolder::Read``.

    The header's sizes decide where the wave ends: the stream is left just after
    the data chunk (``header_bytes + samp_count * block_align`` bytes, see
    :attr:`WaveInfo.total_bytes`), so an archive of waves can be read entry by
    entry. In stream mode (unknown size) it reads to EOF, as Kaldi does.
    Unless ``strict``, a stream that does not start with ``RIFF``/``RIFX`` (a FLAC or
    SPHERE file named in a wav.scp) is read to EOF and decoded with libsndfile;
    Kaldi fails on it, and its message ("expected RIFF or RIFX") is kept when
    libsndfile cannot decode it either.

    Args:
        f: binary stream positioned at the start of the wave.
        name: the source's name, stored in raised errors' ``source`` attribute.
        strict: Kaldi's exact behaviour: 16-bit PCM only.

    Returns:
        The waveform, float32 ``(channels, samples)`` in int16 scale.

    Raises:
        AudioFormatError: Kaldi's fatal messages.

    Kaldi: ``WaveHolder::Read``.
    """
    name = _source_name(f, name)
    src = _In(f)
    if not strict:
        head = src.read(4)
        src.unread(head)
        if len(head) == 4 and head not in (b"RIFF", b"RIFX"):
            return _read_other_container(src, head, name)
    return _read_body(src, _read_header(src, name, strict), name)


def write_kaldi_wave(wave: WaveData) -> bytes:
    """Serializes a wave as Kaldi's ``WaveData::Write``: 44-byte header, 16-bit PCM.

    Samples are truncated toward zero and clipped to int16, counting clipped
    samples; when any were clipped, Kaldi's "WARNING: clipped N samples out of
    total M. Reduce volume?" is logged. As in Kaldi built for x86-64, NaN and
    values of 2**31 or more (which overflow the int32 conversion) become -32768.

    Args:
        wave: samples float ``(channels, samples)`` in int16 scale (a 1-D array is
            one channel) and ``samp_freq`` (truncated to an integer in the header).

    Returns:
        The RIFF file's bytes.

    Raises:
        AudioFormatError: no channels ("Error: attempting to write empty WAVE
            file"), or a sample frequency that is not positive.

    Kaldi: ``WaveData::Write``.
    """
    data = np.asarray(wave.data, dtype=np.float32)
    if data.ndim == 1:
        data = data.reshape(1, -1)
    if data.ndim != 2 or data.shape[0] == 0:
        raise AudioFormatError("Error: attempting to write empty WAVE file")
    if not 0 < wave.samp_freq < 2**31:
        raise AudioFormatError(f"WaveData: sample frequency must be positive, got {wave.samp_freq}")
    nch, nsamp = data.shape
    sub2 = nch * nsamp * 2
    rate = int(np.float32(wave.samp_freq))
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", (36 + sub2) & 0xFFFFFFFF, b"WAVE", b"fmt ", 16, 1, nch,
        rate & 0xFFFFFFFF, (rate * nch * 2) & 0xFFFFFFFF, (nch * 2) & 0xFFFF, 16,
        b"data", sub2 & 0xFFFFFFFF,
    )
    t = np.trunc(data.T)  # interleaved: (samples, channels)
    with np.errstate(invalid="ignore"):
        overflow = ~(np.abs(t) < 2147483648.0)  # NaN, inf, outside int32
        low = t < -32768.0
        high = (t > 32767.0) & ~overflow
    clipped = int(np.count_nonzero(low | high | overflow))
    out = np.clip(np.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0), -32768.0, 32767.0)
    out[overflow] = -32768.0
    if clipped:
        logger.warning(
            "WARNING: clipped %d samples out of total %d. Reduce volume?", clipped, nch * nsamp
        )
    return header + out.astype("<i2").tobytes()

