"""A small RIFF/WAVE header walker.

libsndfile decodes WAV well, including the streamed sizes 0xFFFFFFFF and
0x7FFFF000 and truncated data (it reads to EOF, like sox). kaldibridge still walks
the header itself to cover the few places where libsndfile and sox part ways:

* GSM 6.10 and IMA/MS ADPCM: sox decodes whole blocks plus a codec-specific part of
  a partial last block (nothing for GSM); libsndfile decodes partial blocks (even a
  trailing pad byte, for GSM) as more samples.
* A header that announces audio bytes and is followed by none ("header only"):
  reported as an error instead of an empty signal.
* ``ignore_length=True`` (sox's ``--ignore-length``): the data chunk is taken to run
  to the end of the file whatever its size field says.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import BinaryIO

__all__ = ["WavHeader", "parse_wav_header", "STREAMED_SIZES"]

#: data chunk sizes that mean "unknown length, read to EOF" (sox writes 0x7FFFF000
#: to a pipe; other tools write 0xFFFFFFFF).
STREAMED_SIZES = (0xFFFFFFFF, 0x7FFFF000)

_MAX_CHUNKS = 4096


@dataclasses.dataclass(frozen=True)
class WavHeader:
    """What the chunks before the audio data say.

    Attributes:
        big_endian: True for RIFX files.
        format_tag: ``wFormatTag`` (1 PCM, 3 float, 6 A-law, 7 mu-law, 0x31 GSM,
            0xFFFE extensible...).
        subformat_tag: for extensible files the first two bytes of the sub-format
            GUID, otherwise equal to ``format_tag``.
        num_channels: channels.
        sample_rate: Hz.
        block_align: bytes per block (one frame for PCM, one codec block otherwise).
        bits_per_sample: ``wBitsPerSample``.
        samples_per_block: for GSM and ADPCM, frames per block; 0 when absent.
        data_offset: byte offset of the first audio byte.
        data_size: the data chunk's size field, as written.
        file_size: total bytes of the file.
    """

    big_endian: bool
    format_tag: int
    subformat_tag: int
    num_channels: int
    sample_rate: int
    block_align: int
    bits_per_sample: int
    samples_per_block: int
    data_offset: int
    data_size: int
    file_size: int

    @property
    def available(self) -> int:
        """Bytes present after the data chunk header."""
        return max(self.file_size - self.data_offset, 0)

    @property
    def streamed(self) -> bool:
        """True when the data size field is a "read to EOF" marker."""
        return self.data_size in STREAMED_SIZES

    @property
    def effective_data_bytes(self) -> int:
        """Bytes of audio a sox-like reader decodes (streamed: all up to EOF)."""
        if self.streamed:
            return self.available
        return min(self.data_size, self.available)


def parse_wav_header(f: BinaryIO, file_size: int) -> WavHeader | None:
    """Walk a WAV file's chunks up to ``data``.

    Args:
        f: seekable binary file positioned anywhere; it is left at an unspecified
            position.
        file_size: total size of the file in bytes.

    Returns:
        The header, or None when the file is not RIFF/RIFX WAVE or its chunks cannot
        be walked up to ``data`` (the caller then lets libsndfile decide).
    """
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
        return None
    big = head[:4] == b"RIFX"
    e = ">" if big else "<"
    pos = 12
    fmt: bytes | None = None
    for _ in range(_MAX_CHUNKS):
        f.seek(pos)
        ch = f.read(8)
        if len(ch) < 8:
            return None
        tag = ch[:4]
        (size,) = struct.unpack(e + "I", ch[4:])
        if tag == b"fmt ":
            fmt = f.read(min(size, 64))
        elif tag == b"data":
            if fmt is None or len(fmt) < 16:
                return None
            fmt_tag, nch, rate, _byte_rate, align, bits = struct.unpack(e + "HHIIHH", fmt[:16])
            sub = fmt_tag
            spb = 0
            if fmt_tag == 0xFFFE and len(fmt) >= 26:
                (sub,) = struct.unpack(e + "H", fmt[24:26])
            elif len(fmt) >= 20 and fmt_tag in (0x02, 0x11, 0x31):
                (spb,) = struct.unpack(e + "H", fmt[18:20])
            return WavHeader(
                big_endian=big,
                format_tag=fmt_tag,
                subformat_tag=sub,
                num_channels=nch,
                sample_rate=rate,
                block_align=align,
                bits_per_sample=bits,
                samples_per_block=spb,
                data_offset=pos + 8,
                data_size=size,
                file_size=file_size,
            )
        pos += 8 + size + (size & 1)
        if pos >= file_size:
            return None
    return None
