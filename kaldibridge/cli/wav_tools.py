"""Wave tools: extract-segments, wav-copy, wav-to-duration, wav-reverberate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kaldibridge.cli.framework import Tool, ToolContext
from kaldibridge.errors import FormatError, KaldiFatalError
from kaldibridge.kaldi.options import OptionGroup, option
from kaldibridge.kaldi.table import (
    Holder,
    InputStream,
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    is_rspecifier,
    is_wspecifier,
    open_rx,
    open_wx,
)
from kaldibridge.kaldi.wave import WaveData, read_kaldi_wave_from_stream, read_kaldi_wave_info, write_kaldi_wave
from kaldibridge.kaldi.wavetools import (
    ReverberateOptions,
    cut_segment,
    parse_comma_floats,
    parse_segment_line,
    reverberate,
)

__all__ = ["EXTRACT_SEGMENTS", "WAV_COPY", "WAV_TO_DURATION", "WAV_REVERBERATE"]


def _read_wave_file(rxfilename: str) -> WaveData:
    with open_rx(rxfilename) as s:
        return read_kaldi_wave_from_stream(s, rxfilename)


# --------------------------------------------------------------------------- extract-segments
@dataclass(frozen=True)
class ExtractSegmentsOptions(OptionGroup):
    """extract-segments flags."""

    min_segment_length: float = option(0.1, "Segments shorter than this (seconds) are skipped.")
    max_overshoot: float = option(
        0.5,
        "A segment ending less than this many seconds past the end of the recording is "
        "cut at the end; one ending later is skipped.",
    )


def _run_extract_segments(ctx: ToolContext) -> int:
    o: ExtractSegmentsOptions = ctx.opts(ExtractSegmentsOptions)
    wav_rspecifier, segments_rx, wav_wspecifier = ctx.args
    reader = RandomAccessTableReader(wav_rspecifier, "wave")
    num_lines = num_success = 0
    with TableWriter(wav_wspecifier, "wave") as writer, open_rx(segments_rx) as seg_in:
        lines = seg_in.read().split(b"\n")
        if lines and lines[-1] == b"":  # text ending in a newline: no extra line
            lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", errors="replace")
            num_lines += 1
            seg = parse_segment_line(line)
            if isinstance(seg, str):
                ctx.log.warning(seg)
                continue
            wave = reader.get(seg.recording)
            if wave is None:
                ctx.log.warning(
                    f"Could not find recording {seg.recording}, skipping segment {seg.segment}"
                )
                continue
            piece = cut_segment(wave, seg, o.min_segment_length, o.max_overshoot)
            if isinstance(piece, str):
                ctx.log.warning(piece)
                continue
            writer.write(seg.segment, piece)
            num_success += 1
    ctx.log.info(
        f"Successfully processed {num_success} lines out of {num_lines} in the segments file. "
    )
    return 0


EXTRACT_SEGMENTS = Tool(
    "extract-segments",
    usage=(
        "Cut segments out of recordings (WAV).\n"
        "Usage:  extract-segments [options] <wav-rspecifier> <segments-file> <wav-wspecifier>\n"
        "e.g. extract-segments scp:wav.scp segments ark:- | <some-other-program>\n"
        " each line of the segments file is\n"
        "<segment-id> <recording-id> <start-time> <end-time> [<channel>]\n"
        "with times in seconds; an end time of -1 means the end of the recording.\n"
    ),
    run=_run_extract_segments,
    groups=(ExtractSegmentsOptions,),
    nargs=(3, 3),
)


# --------------------------------------------------------------------------- wav-copy
def _run_wav_copy(ctx: ToolContext) -> int:
    src, dst = ctx.args
    in_table, out_table = is_rspecifier(src), is_wspecifier(dst)
    if in_table != out_table:
        raise KaldiFatalError("Cannot mix archives with regular files")
    if in_table:
        n = 0
        reader = SequentialTableReader(src, "wave")
        with TableWriter(dst, "wave") as writer:
            for key, wave in reader:
                writer.write(key, wave)
                n += 1
        ctx.log.info(f"Copied {n} wave files")
        return 0 if n else 1
    wave = _read_wave_file(src)
    data = write_kaldi_wave(wave)
    with open_wx(dst) as out:
        out.write(data)
    return 0


WAV_COPY = Tool(
    "wav-copy",
    usage=(
        "Copy a wave file, or a table of wave files.\n"
        "\n"
        "Usage: wav-copy [options] <wav-rspecifier> <wav-wspecifier>\n"
        "  or:  wav-copy [options] <wav-rxfilename> <wav-wxfilename>\n"
        "e.g. wav-copy scp:wav.scp ark:-\n"
        "     wav-copy wav.ark:123456 -\n"
    ),
    run=_run_wav_copy,
    groups=(),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- wav-to-duration
class WaveInfoHolder(Holder):
    """Reads only a wave's header (and skips its data), like Kaldi's ``WaveInfoHolder``."""

    name = "wave_info"

    def read(self, s: InputStream) -> Any:
        info = read_kaldi_wave_info(s)
        if not info.is_streamed:
            n = info.data_bytes
            if s.seekable():
                s.seek(s.pos + n)
            else:
                s.read(n)
        return info

    def write(self, value: Any, binary: bool = True) -> bytes:
        raise FormatError("wave headers cannot be written on their own")


@dataclass(frozen=True)
class WavToDurationOptions(OptionGroup):
    """wav-to-duration flags."""

    read_entire_file: bool = option(
        False,
        "Read the whole file instead of trusting the header (needed for streamed WAVs "
        "whose header has no length).",
    )


def _run_wav_to_duration(ctx: ToolContext) -> int:
    o: WavToDurationOptions = ctx.opts(WavToDurationOptions)
    rspecifier, wspecifier = ctx.args
    total = 0.0
    lo, hi = float("inf"), 0.0
    n = 0
    with TableWriter(wspecifier, "float") as writer:
        holder: Any = "wave" if o.read_entire_file else WaveInfoHolder()
        for key, value in SequentialTableReader(rspecifier, holder):
            if not o.read_entire_file and value.is_streamed:
                raise KaldiFatalError(
                    f"Error: member {key} has no duration in header. Check the source, "
                    "and/or try --read-entire-file."
                )
            duration = value.duration
            writer.write(key, duration)
            total += duration
            lo, hi = min(lo, duration), max(hi, duration)
            n += 1
    ctx.log.info(f"Printed duration for {n} audio files.")
    if n:
        ctx.log.info(
            f"Mean duration was {total / n:g}, min and max durations were {lo:g}, {hi:g}"
        )
    return 0 if n else 1


WAV_TO_DURATION = Tool(
    "wav-to-duration",
    usage=(
        "Write the duration in seconds of each wave file as a table of floats.\n"
        "Usage:  wav-to-duration [options...] <wav-rspecifier> <duration-wspecifier>\n"
        "E.g.: wav-to-duration scp:wav.scp ark,t:-\n"
    ),
    run=_run_wav_to_duration,
    groups=(WavToDurationOptions,),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- wav-reverberate
@dataclass(frozen=True)
class WavReverberateOptions(OptionGroup):
    """wav-reverberate flags."""

    multi_channel_output: bool = option(False, "Write one output channel per RIR channel.")
    shift_output: bool = option(
        True,
        "Shift the reverberated signal back by the position of the RIR's peak and keep "
        "the input's length; if false the output has input + RIR - 1 samples. Only "
        "matters with a RIR.",
    )
    input_wave_channel: int = option(0, "Channel of the input to use.", cpp="input_channel")
    rir_channel: int = option(0, "Channel of the RIR to use (single-channel output only).")
    noise_channel: int = option(0, "Channel of the additive signals to use (single-channel output only).")
    impulse_response: str = option(
        "", "Room impulse response (a WAV rxfilename, which may be a pipe).", cpp="rir_file"
    )
    additive_signals: str = option(
        "",
        "Comma-separated rxfilenames of signals (noises) to add; needs --snrs and "
        "--start-times.",
    )
    snrs: str = option("", "Comma-separated SNRs in dB, one per additive signal.")
    start_times: str = option(
        "",
        "Comma-separated start times in seconds of the additive signals in the input "
        "(a signal starting after the end is ignored).",
    )
    normalize_output: bool = option(
        True, "Scale the output to the power of the input (see also --volume)."
    )
    duration: float = option(
        0.0,
        "If nonzero, the output length in seconds: the signal is cut, or repeated to "
        "fill it.",
    )
    volume: float = option(
        0.0, "If nonzero, scale the output by this (instead of --normalize-output)."
    )


def _run_wav_reverberate(ctx: ToolContext) -> int:
    o: WavReverberateOptions = ctx.opts(WavReverberateOptions)
    src, dst = ctx.args
    if o.multi_channel_output and (o.rir_channel != 0 or o.noise_channel != 0):
        ctx.log.warning(
            "options for --rir-channel and --noise-channelare ignored as "
            "--multi-channel-output is true."
        )
    wave = _read_wave_file(src)
    ctx.log.vlog(
        1,
        f"sampling frequency of input: {wave.samp_freq:g} #samples: {wave.num_samples} "
        f"#channel: {wave.num_channels}",
    )
    rir = _read_wave_file(o.impulse_response) if o.impulse_response else None
    additive = []
    if o.additive_signals:
        if not o.snrs or not o.start_times:
            raise KaldiFatalError(
                "--additive-signals option requires --snrs and --start-times to be set."
            )
        additive = [_read_wave_file(name) for name in o.additive_signals.split(",") if name]
    settings = ReverberateOptions(
        snrs=parse_comma_floats(o.snrs),
        start_times=parse_comma_floats(o.start_times),
        shift_output=o.shift_output,
        normalize_output=o.normalize_output,
        volume=o.volume,
        duration=o.duration,
        input_channel=o.input_wave_channel,
        rir_channel=o.rir_channel,
        noise_channel=o.noise_channel,
        multi_channel_output=o.multi_channel_output,
    )
    out = reverberate(wave, rir, additive, settings)
    data = write_kaldi_wave(out)
    with open_wx(dst) as f:
        f.write(data)
    return 0


WAV_REVERBERATE = Tool(
    "wav-reverberate",
    usage=(
        "Reverberate a wave file with a room impulse response and/or add noises at given\n"
        "signal-to-noise ratios.\n"
        "Usage:  wav-reverberate [options...] <wav-in-rxfilename> <wav-out-wxfilename>\n"
        "e.g.\n"
        "wav-reverberate --duration=20.25 --impulse-response=rir.wav "
        "--additive-signals='noise1.wav,noise2.wav' --snrs='20.0,15.0' "
        "--start-times='0,17.8' input.wav output.wav\n"
    ),
    run=_run_wav_reverberate,
    groups=(WavReverberateOptions,),
    nargs=(2, 2),
)
