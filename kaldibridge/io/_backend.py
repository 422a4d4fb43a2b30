"""load / info / save on top of soundfile (libsndfile), with sox's conventions.

Where libsndfile alone differs from sox, this module adds its own code; each place
is named in the docstring of the function concerned (see also :mod:`._riff` and
:mod:`._g711`).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import stat
from typing import IO, Any, BinaryIO, Literal, Union

import numpy as np
import soundfile as sf
import torch

from kaldibridge.errors import AudioFormatError, KaldiIOError, OptionError
from kaldibridge.io._g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from kaldibridge.io._riff import WavHeader, parse_wav_header

__all__ = ["AudioMetaData", "load", "info", "save", "AudioSource", "Encoding"]

logger = logging.getLogger(__name__)

AudioSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]
Encoding = Literal[
    "PCM_S", "PCM_U", "PCM_F", "ULAW", "ALAW", "FLAC", "VORBIS", "OPUS", "MP3",
    "IMA_ADPCM", "MS_ADPCM", "GSM",
]
Endianness = Literal["little", "big", "native"]

_WAV_GSM = 0x31
_WAV_IMA = 0x11
_WAV_MS = 0x02
_READ_BLOCK = 1 << 20  # frames per block when a decoder's length is only an estimate


@dataclasses.dataclass(frozen=True)
class AudioMetaData:
    """What :func:`info` reports about an audio file.

    Attributes:
        sample_rate: samples per second per channel, Hz.
        num_frames: frames :func:`load` returns for the whole file (one frame holds
            one sample of every channel).
        num_channels: channels.
        bits_per_sample: bits of a stored sample; 0 for codecs without a fixed
            sample size (MP3, Vorbis, Opus, GSM), 4 for IMA/MS ADPCM.
        encoding: ``PCM_S``, ``PCM_U``, ``PCM_F``, ``ULAW``, ``ALAW``, ``FLAC``,
            ``VORBIS``, ``OPUS``, ``MP3``, ``IMA_ADPCM``, ``MS_ADPCM``, ``GSM`` or
            another upper-case libsndfile subtype name.
    """

    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str


# libsndfile subtype -> (encoding, bits_per_sample)
_SUBTYPE_INFO: dict[str, tuple[str, int]] = {
    "PCM_S8": ("PCM_S", 8),
    "PCM_16": ("PCM_S", 16),
    "PCM_24": ("PCM_S", 24),
    "PCM_32": ("PCM_S", 32),
    "PCM_U8": ("PCM_U", 8),
    "FLOAT": ("PCM_F", 32),
    "DOUBLE": ("PCM_F", 64),
    "ULAW": ("ULAW", 8),
    "ALAW": ("ALAW", 8),
    "IMA_ADPCM": ("IMA_ADPCM", 4),
    "MS_ADPCM": ("MS_ADPCM", 4),
    "GSM610": ("GSM", 0),
    "VORBIS": ("VORBIS", 0),
    "OPUS": ("OPUS", 0),
    "MPEG_LAYER_I": ("MP3", 0),
    "MPEG_LAYER_II": ("MP3", 0),
    "MPEG_LAYER_III": ("MP3", 0),
    "G721_32": ("G721", 4),
    "G723_24": ("G723", 3),
    "G723_40": ("G723", 5),
    "VOX_ADPCM": ("VOX_ADPCM", 4),
    "ALAC_16": ("ALAC", 16),
    "ALAC_20": ("ALAC", 20),
    "ALAC_24": ("ALAC", 24),
    "ALAC_32": ("ALAC", 32),
}

# (encoding, bits) -> libsndfile subtype, for save() and headerless raw audio
_ENCODING_SUBTYPE: dict[tuple[str, int], str] = {
    ("PCM_S", 8): "PCM_S8",
    ("PCM_S", 16): "PCM_16",
    ("PCM_S", 24): "PCM_24",
    ("PCM_S", 32): "PCM_32",
    ("PCM_U", 8): "PCM_U8",
    ("PCM_F", 32): "FLOAT",
    ("PCM_F", 64): "DOUBLE",
    ("ULAW", 8): "ULAW",
    ("ALAW", 8): "ALAW",
    ("IMA_ADPCM", 4): "IMA_ADPCM",
    ("MS_ADPCM", 4): "MS_ADPCM",
    ("GSM", 0): "GSM610",
    ("VORBIS", 0): "VORBIS",
    ("OPUS", 0): "OPUS",
    ("MP3", 0): "MPEG_LAYER_III",
}

# sox's encoding words, accepted for headerless raw audio
_ENCODING_ALIASES = {
    "signed-integer": "PCM_S",
    "unsigned-integer": "PCM_U",
    "floating-point": "PCM_F",
    "mu-law": "ULAW",
    "u-law": "ULAW",
    "a-law": "ALAW",
}

# file name suffix / format name -> (libsndfile major format, fixed encoding or None)
_FORMATS: dict[str, tuple[str, str | None]] = {
    "wav": ("WAV", None),
    "wave": ("WAV", None),
    "flac": ("FLAC", "FLAC"),
    "ogg": ("OGG", "VORBIS"),
    "vorbis": ("OGG", "VORBIS"),
    "oga": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", "MP3"),
    "sph": ("NIST", None),
    "nist": ("NIST", None),
    "au": ("AU", None),
    "snd": ("AU", None),
    "aiff": ("AIFF", None),
    "aif": ("AIFF", None),
    "aifc": ("AIFF", None),
    "caf": ("CAF", None),
    "w64": ("W64", None),
    "rf64": ("RF64", None),
    "raw": ("RAW", None),
}


# ----------------------------------------------------------------------------- sources


class _MemFile(io.BytesIO):
    """In-memory file for libsndfile's virtual I/O.

    A seek before the start (libsndfile asks for one on some corrupt files) leaves the
    position unchanged instead of raising inside a C callback, where the exception
    could only be printed; libsndfile then sees the seek fail.
    """

    def seek(self, offset: int, whence: int = 0) -> int:
        base = 0 if whence == 0 else self.tell() if whence == 1 else len(self.getbuffer())
        if base + offset < 0:
            return self.tell()
        return super().seek(offset, whence)


class _Opened:
    """A source made ready for libsndfile: a path or an in-memory buffer, plus its name."""

    def __init__(self, src: AudioSource) -> None:
        self.path: str | None = None
        self.buffer: bytes | None = None
        if isinstance(src, (str, os.PathLike)):
            self.path = os.fsdecode(src)
            self.name = self.path
            try:
                st = os.stat(self.path)
            except FileNotFoundError as exc:
                raise KaldiIOError(f"{self.name}: no such file") from exc
            except OSError as exc:
                raise KaldiIOError(f"{self.name}: cannot open ({exc.strerror})") from exc
            if stat.S_ISDIR(st.st_mode):
                raise KaldiIOError(f"{self.name}: is a directory, not an audio file")
            self.size = st.st_size
            if not stat.S_ISREG(st.st_mode):  # a FIFO or device: read it to EOF once
                try:
                    with open(self.path, "rb") as fh:
                        self.buffer = fh.read()
                except OSError as exc:
                    raise KaldiIOError(f"{self.name}: read error ({exc.strerror})") from exc
                self.path = None
                self.size = len(self.buffer)
        elif isinstance(src, (bytes, bytearray, memoryview)):
            self.buffer = src if isinstance(src, bytes) else bytes(src)
            self.name = "<bytes>"
            self.size = len(self.buffer)
        elif hasattr(src, "read"):
            self.name = str(getattr(src, "name", "<stream>"))
            try:
                data = src.read()
            except OSError as exc:
                raise KaldiIOError(f"{self.name}: read error ({exc})") from exc
            if not isinstance(data, (bytes, bytearray)):
                raise OptionError(f"{self.name}: file-like source must be opened in binary mode")
            self.buffer = bytes(data)
            self.size = len(self.buffer)
        else:
            raise OptionError(
                f"audio source must be a path, bytes or a binary file-like object, "
                f"not {type(src).__name__}"
            )

    def fileobj(self) -> BinaryIO:
        """A fresh seekable binary handle on the content (caller closes it)."""
        if self.path is not None:
            return open(self.path, "rb")
        return io.BytesIO(self.buffer or b"")

    def wav_header(self) -> WavHeader | None:
        with self.fileobj() as f:
            return parse_wav_header(f, self.size)

    def sf_target(self) -> Any:
        return self.path if self.path is not None else _MemFile(self.buffer or b"")


def _fail(name: str, problem: str, exc: BaseException | None = None) -> AudioFormatError:
    detail = f" (libsndfile: {_sf_message(exc)})" if exc is not None else ""
    return AudioFormatError(f"{name}: {problem}{detail}")


def _sf_message(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    msg = getattr(exc, "error_string", None) or str(exc)
    return str(msg).rsplit(": ", 1)[-1] if ": " in str(msg) else str(msg)


def _describe_open_failure(opened: _Opened, hdr: WavHeader | None, exc: BaseException) -> AudioFormatError:
    if hdr is not None:
        tag = hdr.subformat_tag
        return _fail(
            opened.name,
            f"cannot decode this WAV file (format tag 0x{tag:04x}, {hdr.bits_per_sample} bits, "
            f"{hdr.num_channels} channels): unsupported codec or malformed header",
            exc,
        )
    with opened.fileobj() as f:
        head = f.read(16)
    return _fail(
        opened.name,
        f"not a recognised audio file (starts with {head[:12]!r}); for headerless audio "
        f"pass format='raw' with sample_rate, num_channels, encoding and bits_per_sample",
        exc,
    )


# ----------------------------------------------------------------------------- raw


def _normalize_encoding(encoding: str | None) -> str | None:
    if encoding is None:
        return None
    e = _ENCODING_ALIASES.get(encoding.lower(), encoding.upper())
    return "GSM" if e == "GSM610" else e


def _raw_params(
    name: str,
    sample_rate: int | None,
    num_channels: int | None,
    encoding: str | None,
    bits_per_sample: int | None,
    endianness: str,
) -> dict[str, Any]:
    if sample_rate is None or num_channels is None or encoding is None:
        raise OptionError(
            f"{name}: format='raw' needs sample_rate=, num_channels= and encoding= "
            f"(and bits_per_sample= for PCM)"
        )
    enc = _normalize_encoding(encoding)
    bits = bits_per_sample
    if bits is None:
        bits = {"ULAW": 8, "ALAW": 8, "PCM_U": 8}.get(enc or "", 0)
    subtype = _ENCODING_SUBTYPE.get((enc or "", int(bits)))
    if subtype is None or subtype not in ("PCM_S8", "PCM_16", "PCM_24", "PCM_32", "PCM_U8",
                                          "FLOAT", "DOUBLE", "ULAW", "ALAW"):
        raise OptionError(
            f"{name}: headerless audio with encoding={encoding!r} and "
            f"bits_per_sample={bits_per_sample} is not supported"
        )
    if int(sample_rate) <= 0 or int(num_channels) <= 0:
        raise OptionError(f"{name}: sample_rate and num_channels must be positive")
    endian = {"little": "LITTLE", "big": "BIG", "native": "CPU"}.get(endianness)
    if endian is None:
        raise OptionError(f"{name}: endianness must be 'little', 'big' or 'native', got {endianness!r}")
    return {
        "samplerate": int(sample_rate),
        "channels": int(num_channels),
        "subtype": subtype,
        "endian": endian,
        "format": "RAW",
    }


# ----------------------------------------------------------------------------- open


class _Decoder:
    """An open libsndfile handle plus the frame count sox would decode."""

    def __init__(
        self, opened: _Opened, raw: dict[str, Any] | None, ignore_length: bool, warn: bool
    ) -> None:
        self.name = opened.name
        if opened.size == 0:
            raise AudioFormatError(f"{opened.name}: empty file (0 bytes)")
        self.hdr = None if raw is not None else opened.wav_header()
        target = opened.sf_target()
        hdr = self.hdr
        if hdr is not None and hdr.data_size > 0 and not hdr.streamed and hdr.available == 0:
            raise AudioFormatError(
                f"{opened.name}: WAV header announces {hdr.data_size} bytes of audio "
                f"but the file ends after the header (no audio data)"
            )
        if hdr is not None and ignore_length and not hdr.streamed:
            target = _MemFile(self._patched_to_eof(opened, hdr))
        elif hdr is not None and _partial_adpcm_block(hdr):
            target = _MemFile(self._padded_last_block(opened, hdr))
        nist_frames = -1
        try:
            self.sf = sf.SoundFile(target, "r", **(raw or {}))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            if raw is not None:
                raise _fail(opened.name, "cannot decode headerless audio", exc) from None
            nist = _nist_as_raw(opened) if hdr is None else None
            if nist is None:
                raise _describe_open_failure(opened, hdr, exc) from None
            body, params, nist_frames = nist
            try:
                self.sf = sf.SoundFile(_MemFile(body), "r", **params)
            except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc2:
                raise _fail(opened.name, "cannot decode this NIST SPHERE file", exc2) from None
        self.subtype = self.sf.subtype
        self.frames = self.sf.frames if nist_frames < 0 else min(self.sf.frames, nist_frames)
        # mpg123's length is an estimate; a length no codec could pack into the file
        # (corrupt header) is not trusted either: such streams are read block by block
        self.exact = self.sf.format != "MP3" and self.frames <= max(opened.size, 1) * 4096
        if self.sf.format == "FLAC" and _flac_without_frames(opened):
            # libsndfile reports a bogus length for a FLAC stream that ends after its
            # metadata (sox writes such files for empty audio) and then fails to seek.
            self.frames, self.exact = 0, True
        if hdr is not None:
            self._apply_wav_rules(hdr, ignore_length, warn)

    @staticmethod
    def _patched_to_eof(opened: _Opened, hdr: WavHeader) -> bytes:
        with opened.fileobj() as f:
            content = f.read()
        size = hdr.available
        align = max(hdr.block_align, 1)
        size -= size % align
        e = "big" if hdr.big_endian else "little"
        head = bytearray(content[: hdr.data_offset])
        head[hdr.data_offset - 4: hdr.data_offset] = size.to_bytes(4, e)
        riff = min(hdr.data_offset - 8 + size, 0xFFFFFFFF)
        head[4:8] = riff.to_bytes(4, e)
        return bytes(head) + content[hdr.data_offset: hdr.data_offset + size]

    @staticmethod
    def _padded_last_block(opened: _Opened, hdr: WavHeader) -> bytes:
        """The file with its partial last ADPCM block zero-padded to a whole block.

        libsndfile drops a partial MS ADPCM block; sox decodes its complete nibbles.
        ADPCM decodes sequentially, so the samples before the padding are exact and
        :func:`_sox_block_codec_frames` then cuts the frame count to sox's.
        """
        with opened.fileobj() as f:
            head = bytearray(f.read(hdr.data_offset))
            body = f.read(hdr.effective_data_bytes)
        size = len(body) + (-len(body)) % hdr.block_align
        e = "big" if hdr.big_endian else "little"
        head[hdr.data_offset - 4: hdr.data_offset] = size.to_bytes(4, e)
        head[4:8] = min(hdr.data_offset - 8 + size, 0xFFFFFFFF).to_bytes(4, e)
        return bytes(head) + body + b"\0" * (size - len(body))

    def _apply_wav_rules(self, hdr: WavHeader, ignore_length: bool, warn: bool) -> None:
        nbytes = hdr.available if ignore_length else hdr.effective_data_bytes
        limit = _sox_block_codec_frames(hdr, nbytes)
        if limit is not None:
            self.frames = min(self.frames, limit)
        if warn and not ignore_length and not hdr.streamed and hdr.data_size > hdr.available:
            logger.warning(
                "%s: WAV header announces %d bytes of audio but only %d are present "
                "(premature EOF); decoding what is there",
                self.name, hdr.data_size, hdr.available,
            )

    def close(self) -> None:
        self.sf.close()

    def __enter__(self) -> "_Decoder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count_frames(self) -> int:
        """Exact frame count (decodes the whole stream when the header only estimates it)."""
        if self.exact:
            return self.frames
        n = 0
        try:
            self.sf.seek(0)
            while True:
                block = self.sf.read(_READ_BLOCK, dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                n += len(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise _fail(self.name, "decoding failed", exc) from None
        return n

    def read(self, offset: int, count: int, dtype: str) -> np.ndarray:
        """Frames [offset, offset+count) (count < 0: to the end), shape (frames, channels)."""
        if offset > 0:
            if self.exact and offset >= self.frames:
                return np.zeros((0, self.sf.channels), dtype=dtype)
            try:
                self.sf.seek(offset)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise _fail(self.name, f"cannot seek to frame {offset}", exc) from None
        if self.exact:
            avail = max(self.frames - offset, 0)
            n = avail if count < 0 else min(count, avail)
            if n == 0:
                return np.zeros((0, self.sf.channels), dtype=dtype)
            try:
                out = self.sf.read(n, dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise _fail(self.name, "decoding failed", exc) from None
            return out
        blocks = []
        want = count
        while want != 0:
            step = _READ_BLOCK if want < 0 else min(want, _READ_BLOCK)
            try:
                block = self.sf.read(step, dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise _fail(self.name, "decoding failed", exc) from None
            if len(block) == 0:
                break
            blocks.append(block)
            if want > 0:
                want -= len(block)
        if not blocks:
            return np.zeros((0, self.sf.channels), dtype=dtype)
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _partial_adpcm_block(hdr: WavHeader) -> bool:
    return (
        hdr.format_tag in (_WAV_IMA, _WAV_MS)
        and hdr.block_align > 0
        and hdr.samples_per_block > 0
        and hdr.effective_data_bytes % hdr.block_align != 0
    )


def _sox_block_codec_frames(hdr: WavHeader, nbytes: int) -> int | None:
    """Frames sox decodes from ``nbytes`` of GSM or ADPCM data (None for other codecs).

    sox decodes whole blocks, plus, for a partial last block: nothing (GSM), the
    header sample and 8 per complete 4-byte group per channel (IMA ADPCM), or the
    2 header samples and one per nibble per channel (MS ADPCM). libsndfile decodes
    partial blocks differently, so its frame count is cut to this one.
    """
    align, spb, ch = hdr.block_align, hdr.samples_per_block, max(hdr.num_channels, 1)
    if align <= 0 or spb <= 0 or hdr.format_tag not in (_WAV_GSM, _WAV_IMA, _WAV_MS):
        return None
    frames = (nbytes // align) * spb
    rest = nbytes % align
    extra = 0
    if hdr.format_tag == _WAV_IMA and rest >= 4 * ch:
        extra = ((rest - 4 * ch) // (4 * ch)) * 8 + 1
    elif hdr.format_tag == _WAV_MS and rest >= 7 * ch:
        extra = (2 * (rest - 7 * ch)) // ch + 2
    return frames + min(extra, spb)


def _nist_as_raw(opened: _Opened) -> tuple[bytes, dict[str, Any], int] | None:
    """Reads a NIST SPHERE file that libsndfile refuses as headerless audio.

    sox writes ``sample_byte_format -s2 01`` whatever the sample width (also for
    24- and 32-bit files), which libsndfile rejects. The header's fields are
    taken at their word: width, channels, rate, coding (pcm, ulaw, alaw) and the
    byte order (``0...``: little-endian, otherwise big-endian).

    Returns:
        ``(audio bytes, soundfile RAW parameters, frames)``, or None when the file
        is not NIST SPHERE or its coding is not plain PCM / G.711.
    """
    with opened.fileobj() as f:
        head = f.read(1024)
        if not head.startswith(b"NIST_1A"):
            return None
        lines = head.split(b"\n")
        try:
            hsize = int(lines[1].strip())
        except (IndexError, ValueError):
            return None
        if hsize > len(head):
            head += f.read(hsize - len(head))
        fields: dict[str, str] = {}
        for line in head[:hsize].decode("latin-1").split("\n")[2:]:
            parts = line.split(None, 2)
            if not parts or parts[0] == "end_head":
                break
            if len(parts) == 3:
                fields[parts[0]] = parts[2].strip()
        f.seek(hsize)
        body = f.read()
    try:
        width = int(fields.get("sample_n_bytes", "2"))
        channels = int(fields.get("channel_count", "1"))
        rate = int(fields["sample_rate"])
        count = int(fields.get("sample_count", "-1"))
    except (KeyError, ValueError):
        return None
    coding = fields.get("sample_coding", "pcm").lower()
    order = fields.get("sample_byte_format", "01")
    if coding in ("ulaw", "mu-law") and width == 1:
        subtype = "ULAW"
    elif coding == "alaw" and width == 1:
        subtype = "ALAW"
    elif coding == "pcm" and width in (1, 2, 3, 4):
        subtype = {1: "PCM_S8", 2: "PCM_16", 3: "PCM_24", 4: "PCM_32"}[width]
    else:
        return None
    if channels <= 0 or rate <= 0:
        return None
    endian = "LITTLE" if order.startswith("0") or width == 1 else "BIG"
    avail = len(body) // (width * channels)
    frames = avail if count < 0 else min(count, avail)
    params = {"format": "RAW", "subtype": subtype, "endian": endian,
              "samplerate": rate, "channels": channels}
    return body, params, frames


def _open(
    src: AudioSource,
    format: str | None,
    sample_rate: int | None,
    num_channels: int | None,
    encoding: str | None,
    bits_per_sample: int | None,
    endianness: str,
    ignore_length: bool,
    warn: bool = False,
) -> _Decoder:
    opened = _Opened(src)
    raw = None
    if format is not None and format.lower() == "raw":
        raw = _raw_params(opened.name, sample_rate, num_channels, encoding, bits_per_sample, endianness)
    return _Decoder(opened, raw, ignore_length, warn)


# ----------------------------------------------------------------------------- public


def load(
    src: AudioSource,
    frame_offset: int = 0,
    num_frames: int = -1,
    normalize: bool = True,
    channels_first: bool = True,
    format: str | None = None,
    *,
    sample_rate: int | None = None,
    num_channels: int | None = None,
    encoding: str | None = None,
    bits_per_sample: int | None = None,
    endianness: Endianness = "little",
    ignore_length: bool = False,
) -> tuple[torch.Tensor, int]:
    """Decode an audio file into a tensor.

    Every container and codec libsndfile knows is read (WAV incl. extensible, ADPCM
    and GSM, FLAC, Ogg Vorbis/Opus, MP3, NIST SPHERE, AU, AIFF/AIFC, CAF, W64...),
    plus headerless raw audio. Values agree with sox's decode: integer PCM is
    ``v / 2**(bits-1)``, unsigned 8-bit is ``(v - 128) / 128``.

    Where kaldibridge adds to libsndfile (to agree with sox):

    * WAV data sizes 0xFFFFFFFF and 0x7FFFF000 (streamed files) and files cut short
      are read to EOF; a cut-short file logs a warning. A data size of 0 gives no
      frames, as in sox; ``ignore_length=True`` reads to EOF whatever the size says
      (sox's ``--ignore-length``).
    * GSM 6.10 and IMA/MS ADPCM in WAV: a partial last block decodes to as many
      frames as sox gets from it (none for GSM).
    * NIST SPHERE files with 8/24/32-bit samples as sox writes them (with a byte
      order field libsndfile refuses) are read from their header by kaldibridge.
    * MP3 lengths are counted by decoding (libsndfile's header figure is only an
      estimate). MP3 files with a Xing/LAME tag are decoded gapless (encoder
      delay and padding removed, as ``lame --decode`` does); files without a tag
      keep the encoder and decoder delay (1105 samples for LAME), like sox.

    Args:
        src: path, bytes, or a binary file-like object (read to its end).
        frame_offset: first frame to return.
        num_frames: frames to return at most; -1 for all.
        normalize: True: float32 in [-1, 1]. False: integer PCM keeps an integer
            dtype (int16 for 16-bit; int32 for 24- and 32-bit, left-justified as
            in sox, i.e. 24-bit ``v`` becomes ``v * 256``; uint8 offset binary for
            8-bit, signed 8-bit being shifted by +128); float files keep float32
            or float64; other codecs (mu-law, ADPCM, lossy) give float32.
        channels_first: output ``(channels, frames)`` when True, else
            ``(frames, channels)``.
        format: ``"raw"`` for headerless audio; other values are hints that are
            ignored (the content is sniffed).
        sample_rate: raw only, Hz.
        num_channels: raw only.
        encoding: raw only: ``PCM_S``, ``PCM_U``, ``PCM_F``, ``ULAW`` or ``ALAW``
            (sox's words such as ``signed-integer`` are accepted too).
        bits_per_sample: raw only (8, 16, 24, 32 or 64).
        endianness: raw only: ``little``, ``big`` or ``native``.
        ignore_length: WAV only: ignore the data size field and read to EOF.

    Returns:
        ``(waveform, sample_rate)``; waveform is ``(channels, frames)`` or
        ``(frames, channels)``.

    Raises:
        AudioFormatError: empty, garbage, header-only or undecodable input; the
            message names the source and the problem.
        KaldiIOError: the path does not exist or cannot be read.
        OptionError: bad arguments (negative offset, incomplete raw parameters).
    """
    if frame_offset < 0:
        raise OptionError(f"frame_offset must be >= 0, got {frame_offset}")
    if num_frames < -1:
        raise OptionError(f"num_frames must be -1 or >= 0, got {num_frames}")
    with _open(src, format, sample_rate, num_channels, encoding, bits_per_sample,
               endianness, ignore_length, warn=True) as dec:
        rate = dec.sf.samplerate
        read_dtype, post = _read_plan(dec.subtype, normalize)
        data = dec.read(frame_offset, num_frames, read_dtype)
    if post == "u8":
        data = ((data.astype(np.int32) >> 8) + 128).astype(np.uint8)
    if channels_first:
        data = data.reshape(1, -1) if data.shape[1] == 1 else np.ascontiguousarray(data.T)
    return torch.from_numpy(data), int(rate)


def _read_plan(subtype: str, normalize: bool) -> tuple[str, str]:
    if normalize:
        return "float32", ""
    if subtype == "PCM_16":
        return "int16", ""
    if subtype in ("PCM_24", "PCM_32"):
        return "int32", ""
    if subtype in ("PCM_U8", "PCM_S8"):
        return "int16", "u8"
    if subtype == "DOUBLE":
        return "float64", ""
    return "float32", ""


def info(
    src: AudioSource,
    format: str | None = None,
    *,
    sample_rate: int | None = None,
    num_channels: int | None = None,
    encoding: str | None = None,
    bits_per_sample: int | None = None,
    endianness: Endianness = "little",
    ignore_length: bool = False,
) -> AudioMetaData:
    """Describe an audio file without decoding it (MP3 excepted, see below).

    ``num_frames`` is what :func:`load` returns for the whole file: for cut-short
    WAV files the frames present, not the header's claim; for MP3 the stream is
    decoded to count them exactly, because the header figure is an estimate.

    Args:
        src: path, bytes or binary file-like object.
        format: ``"raw"`` for headerless audio (then the raw keywords are needed,
            as in :func:`load`).
        sample_rate: raw only.
        num_channels: raw only.
        encoding: raw only.
        bits_per_sample: raw only.
        endianness: raw only.
        ignore_length: WAV only, as in :func:`load`.

    Returns:
        The metadata.

    Raises:
        AudioFormatError: as in :func:`load`.
        KaldiIOError: the path does not exist or cannot be read.
    """
    with _open(src, format, sample_rate, num_channels, encoding, bits_per_sample,
               endianness, ignore_length) as dec:
        enc, bits = _SUBTYPE_INFO.get(dec.subtype, (dec.subtype, 0))
        major = dec.sf.format
        if major == "FLAC" and enc == "PCM_S":
            enc = "FLAC"
        return AudioMetaData(
            sample_rate=int(dec.sf.samplerate),
            num_frames=int(dec.count_frames()),
            num_channels=int(dec.sf.channels),
            bits_per_sample=bits,
            encoding=enc,
        )


# ----------------------------------------------------------------------------- save


def _to_numpy_frames(tensor: Any, channels_first: bool) -> np.ndarray:
    if isinstance(tensor, torch.Tensor):
        arr = tensor.detach().cpu().numpy()
    else:
        arr = np.asarray(tensor)
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise OptionError(f"save() needs a 1-D or 2-D waveform, got shape {tuple(arr.shape)}")
    return arr.T if channels_first else arr


def _as_float(arr: np.ndarray) -> np.ndarray:
    """Waveform in [-1, 1] as float (float64 for integer input, exact)."""
    dt = arr.dtype
    if dt.kind == "f":
        return arr
    if dt == np.int16:
        return arr.astype(np.float64) / 32768.0
    if dt == np.int32:
        return arr.astype(np.float64) / 2147483648.0
    if dt == np.uint8:
        return (arr.astype(np.float64) - 128.0) / 128.0
    if dt == np.int8:
        return arr.astype(np.float64) / 128.0
    raise OptionError(f"save() supports float, int16, int32, uint8 and int8 waveforms, not {dt}")


def _quantize(x: np.ndarray, bits: int) -> np.ndarray:
    """sox's rounding: ``floor(x * 2**(bits-1) + 0.5)`` clipped, as int64 (float64 math)."""
    top = float(1 << (bits - 1))
    v = np.floor(np.asarray(x, dtype=np.float64) * top + 0.5)
    np.clip(v, -top, top - 1, out=v)
    return v.astype(np.int64)


def _default_encoding(major: str, fixed: str | None, dtype: np.dtype, bits: int | None) -> str:
    if fixed is not None:
        return fixed
    if bits is not None:
        if bits == 64 or (bits == 32 and dtype.kind == "f"):
            return "PCM_F"
        if bits == 8 and major == "WAV":
            return "PCM_U"
        return "PCM_S"
    if dtype.kind == "f":
        return "PCM_S" if major == "NIST" else "PCM_F"
    if dtype == np.uint8 and major in ("WAV", "RAW"):
        return "PCM_U"
    return "PCM_S"


def _default_bits(enc: str, dtype: np.dtype) -> int:
    if enc in ("ULAW", "ALAW", "PCM_U"):
        return 8
    if enc in ("IMA_ADPCM", "MS_ADPCM"):
        return 4
    if enc in ("GSM", "VORBIS", "OPUS", "MP3"):
        return 0
    if enc == "PCM_F":
        return 64 if dtype == np.float64 else 32
    if enc == "FLAC":
        return {np.dtype(np.int16): 16, np.dtype(np.uint8): 8, np.dtype(np.int8): 8}.get(np.dtype(dtype), 24)
    # PCM_S
    if dtype == np.int32:
        return 32
    if dtype in (np.uint8, np.int8):
        return 8
    return 16


def save(
    dst: Union[str, "os.PathLike[str]", IO[bytes]],
    tensor: torch.Tensor | np.ndarray,
    sample_rate: int,
    format: str | None = None,
    encoding: str | None = None,
    bits_per_sample: int | None = None,
    channels_first: bool = True,
    *,
    endianness: Endianness = "little",
) -> None:
    """Encode a waveform to an audio file.

    Float input is taken as [-1, 1]; integer input as int16, int32, uint8 (offset
    binary) or int8 full scale. Integer encodings round as sox does,
    ``floor(x * 2**(bits-1) + 0.5)``, clipped to the integer range. mu-law and
    A-law codes are chosen by kaldibridge with sox's rule (libsndfile's own encoder
    rounds differently, see :mod:`kaldibridge.io._g711`); libsndfile writes the
    container.

    Defaults: the format comes from ``format`` or the file name suffix (wav, flac,
    ogg/vorbis, opus, mp3, sph, au/snd, aiff/aif/aifc, caf, w64, rf64, raw). The
    encoding follows the dtype: float -> ``PCM_F`` 32-bit (``PCM_S`` 16 for SPHERE),
    float64 -> ``PCM_F`` 64, int16 -> ``PCM_S`` 16, int32 -> ``PCM_S`` 32, uint8 ->
    ``PCM_U`` 8; FLAC defaults to 24 bits for float input.

    Args:
        dst: path or binary file-like object (then ``format`` is required).
        tensor: waveform ``(channels, frames)`` (or ``(frames, channels)`` with
            ``channels_first=False``), or 1-D mono ``(frames,)``.
        sample_rate: Hz.
        format: container name; see above.
        encoding: ``PCM_S``, ``PCM_U``, ``PCM_F``, ``ULAW``, ``ALAW``, ``IMA_ADPCM``,
            ``MS_ADPCM``, ``GSM``, ``FLAC``, ``VORBIS``, ``OPUS`` or ``MP3``.
        bits_per_sample: 8, 16, 24, 32 or 64 where the encoding allows it.
        channels_first: layout of ``tensor``.
        endianness: raw only: ``little``, ``big`` or ``native``.

    Raises:
        OptionError: unknown format, or an encoding/bit depth the format cannot
            store.
        KaldiIOError: the file cannot be written.
    """
    is_path = isinstance(dst, (str, os.PathLike))
    name = os.fsdecode(dst) if is_path else str(getattr(dst, "name", "<stream>"))
    fmt = format
    if fmt is None:
        if not is_path:
            raise OptionError(f"{name}: save() to a file-like object needs format=")
        fmt = os.path.splitext(name)[1].lstrip(".")
    key = fmt.lower()
    if key not in _FORMATS:
        raise OptionError(f"{name}: unknown audio format {fmt!r}; known: {', '.join(sorted(_FORMATS))}")
    major, fixed = _FORMATS[key]
    if int(sample_rate) <= 0:
        raise OptionError(f"{name}: sample_rate must be positive, got {sample_rate}")

    frames = _to_numpy_frames(tensor, channels_first)
    enc = _normalize_encoding(encoding)
    if enc is None:
        enc = _default_encoding(major, fixed, frames.dtype, bits_per_sample)
    if fixed is not None and enc != fixed and not (fixed == "FLAC" and enc == "PCM_S"):
        raise OptionError(f"{name}: format {fmt!r} cannot store encoding {enc}")
    bits = int(bits_per_sample) if bits_per_sample is not None else _default_bits(enc, frames.dtype)
    if enc in ("GSM", "VORBIS", "OPUS", "MP3"):
        bits = 0
    if enc in ("FLAC", "PCM_S") and major == "FLAC":
        subtype = _ENCODING_SUBTYPE.get(("PCM_S", bits))
    else:
        subtype = _ENCODING_SUBTYPE.get((enc, bits))
    endian = {"little": "LITTLE", "big": "BIG", "native": "CPU"}.get(endianness)
    if endian is None:
        raise OptionError(f"{name}: endianness must be 'little', 'big' or 'native', got {endianness!r}")
    if major != "RAW":
        endian = "FILE"
    if subtype is None or not sf.check_format(major, subtype, endian):
        raise OptionError(
            f"{name}: format {fmt!r} cannot store encoding {enc} with {bits} bits per sample"
        )

    data = _encode_samples(frames, subtype)
    if major == "FLAC" and data.shape[0] == 0:
        # libsndfile writes no bytes at all for a FLAC stream without samples; write the
        # stream marker and a STREAMINFO block saying "0 samples", as sox does.
        blob = _empty_flac(int(sample_rate), data.shape[1], bits)
        try:
            if hasattr(dst, "write") and not is_path:
                dst.write(blob)  # type: ignore[union-attr]
            else:
                with open(name, "wb") as fh:
                    fh.write(blob)
        except OSError as exc:
            raise KaldiIOError(f"{name}: cannot write audio ({exc})") from None
        return
    odd_aiff = major == "AIFF" and subtype in ("PCM_S8", "PCM_U8") and data.size % 2 == 1
    try:
        if odd_aiff:
            buf = io.BytesIO()
            sf.write(buf, data, int(sample_rate), subtype=subtype, format=major, endian=endian)
            blob = _fix_odd_aiff(buf.getvalue(), data.shape[0], data.size)
            if hasattr(dst, "write") and not is_path:
                dst.write(blob)  # type: ignore[union-attr]
            else:
                with open(name, "wb") as fh:
                    fh.write(blob)
        elif hasattr(dst, "write") and not is_path:
            sf.write(dst, data, int(sample_rate), subtype=subtype, format=major, endian=endian)
        else:
            sf.write(name, data, int(sample_rate), subtype=subtype, format=major, endian=endian)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise KaldiIOError(f"{name}: cannot write audio ({_sf_message(exc)})") from None
    except OSError as exc:
        raise KaldiIOError(f"{name}: cannot write audio ({exc})") from None


def _flac_without_frames(opened: _Opened) -> bool:
    """True if a FLAC stream ends right after its metadata blocks (no audio frames)."""
    with opened.fileobj() as f:
        if f.read(4) != b"fLaC":
            return False
        pos = 4
        while True:
            head = f.read(4)
            if len(head) < 4:
                return False
            length = int.from_bytes(head[1:4], "big")
            pos += 4 + length
            if head[0] & 0x80:  # last metadata block
                return pos >= opened.size
            f.seek(pos)


def _empty_flac(sample_rate: int, channels: int, bits: int) -> bytes:
    """A FLAC stream with no audio frames: ``fLaC`` and a last-block STREAMINFO."""
    block = 4096
    info = (
        (block << 272 - 16)  # minimum block size (16 bits)
        | (block << 272 - 32)  # maximum block size (16 bits)
        # minimum/maximum frame sizes (24 bits each) stay 0: unknown
        | (sample_rate << 272 - 100)  # 20 bits
        | ((channels - 1) << 272 - 103)  # 3 bits
        | ((bits - 1) << 272 - 108)  # 5 bits
        # total samples (36 bits) and MD5 (128 bits) are 0
    )
    streaminfo = info.to_bytes(34, "big")
    header = bytes([0x80 | 0]) + len(streaminfo).to_bytes(3, "big")  # last block, type STREAMINFO
    return b"fLaC" + header + streaminfo


def _fix_odd_aiff(blob: bytes, frames: int, nbytes: int) -> bytes:
    """Repairs libsndfile's 8-bit AIFF with an odd byte count.

    libsndfile counts the chunk's pad byte as an extra sample frame in both
    ``COMM.numSampleFrames`` and the ``SSND`` size; set them to the real values
    (the pad byte stays, outside the chunk, as the format wants).
    """
    out = bytearray(blob)
    pos = 12
    while pos + 8 <= len(out):
        tag = bytes(out[pos: pos + 4])
        size = int.from_bytes(out[pos + 4: pos + 8], "big")
        if tag == b"COMM":
            out[pos + 10: pos + 14] = frames.to_bytes(4, "big")
        elif tag == b"SSND":
            out[pos + 4: pos + 8] = (8 + nbytes).to_bytes(4, "big")
        pos += 8 + size + (size & 1)
    return bytes(out)


def _encode_samples(frames: np.ndarray, subtype: str) -> np.ndarray:
    """The array handed to libsndfile so that it stores exactly sox's sample values."""
    dt = frames.dtype
    if subtype == "PCM_16" and dt == np.int16:
        return np.ascontiguousarray(frames)
    if subtype == "PCM_32" and dt == np.int32:
        return np.ascontiguousarray(frames)
    if subtype in ("FLOAT", "VORBIS", "OPUS", "MPEG_LAYER_III"):
        return np.ascontiguousarray(_as_float(frames), dtype=np.float32)
    if subtype == "DOUBLE":
        return np.ascontiguousarray(_as_float(frames), dtype=np.float64)
    x = _as_float(frames)
    if subtype == "ULAW":
        return np.ascontiguousarray(ulaw_decode(ulaw_encode(x)))
    if subtype == "ALAW":
        return np.ascontiguousarray(alaw_decode(alaw_encode(x)))
    if subtype in ("PCM_S8", "PCM_U8"):
        return np.ascontiguousarray((_quantize(x, 8) << 8).astype(np.int16))
    if subtype == "PCM_24":
        return np.ascontiguousarray((_quantize(x, 24) << 8).astype(np.int32))
    if subtype == "PCM_32":
        return np.ascontiguousarray(_quantize(x, 32).astype(np.int32))
    # PCM_16 and the codecs fed with 16-bit samples (ADPCM, GSM)
    return np.ascontiguousarray(_quantize(x, 16).astype(np.int16))
