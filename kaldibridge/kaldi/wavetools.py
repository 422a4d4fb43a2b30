"""Kaldi's wave tools: segment extraction, durations and reverberation / noise addition.

Waveforms are :class:`~kaldibridge.kaldi.wave.WaveData` (float32 ``(channels, samples)``
in int16 scale), as Kaldi's ``WaveData``.

Kaldi: ``src/featbin/extract-segments.cc``, ``wav-to-duration.cc``, ``wav-reverberate.cc``
and ``src/feat/signal.cc``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from kaldibridge.errors import FormatError
from kaldibridge.functional.convolve import block_fft_convolve, next_power_of_two
from kaldibridge.kaldi.wave import WaveData

__all__ = [
    "Segment",
    "parse_segment_line",
    "cut_segment",
    "kaldi_block_convolve",
    "ReverberateOptions",
    "reverberate",
    "parse_comma_floats",
]

_log = logging.getLogger(__name__)

_F32 = np.float32
_FLT_EPSILON = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class Segment:
    """One line of a Kaldi ``segments`` file.

    Attributes:
        segment: segment id.
        recording: recording id (key of wav.scp).
        start: start time in seconds.
        end: end time in seconds; -1 means the end of the recording.
        channel: channel index, or -1 when the line has no channel column.
        line: the line as read (for messages).
    """

    segment: str
    recording: str
    start: float
    end: float
    channel: int
    line: str


def _to_real(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if not math.isnan(v) else None


def parse_segment_line(line: str) -> Segment | str:
    """Parse a segments line: ``seg rec start end [channel]``.

    Returns:
        The :class:`Segment`, or Kaldi's warning text (a ``str``) when the line is
        rejected (wrong field count, bad numbers, empty or negative range, bad channel).
    """
    fields = line.replace("\t", " ").replace("\r", " ").split()
    if len(fields) not in (4, 5):
        return f"Invalid line in segments file: {line}"
    start = _to_real(fields[2])
    if start is None:
        return f"Invalid line in segments file [bad start]: {line}"
    end = _to_real(fields[3])
    if end is None:
        return f"Invalid line in segments file [bad end]: {line}"
    if start < 0 or (end != -1.0 and end <= 0) or (start >= end and end > 0):
        return f"Invalid line in segments file [empty or invalid segment]: {line}"
    channel = -1
    if len(fields) == 5:
        try:
            channel = int(fields[4], 10)
        except ValueError:
            channel = -1
            return f"Invalid line in segments file [bad channel]: {line}"
        if channel < 0:
            return f"Invalid line in segments file [bad channel]: {line}"
    return Segment(fields[0], fields[1], start, end, channel, line)


def cut_segment(
    wave: WaveData, seg: Segment, min_segment_length: float = 0.1, max_overshoot: float = 0.5
) -> WaveData | str:
    """The samples of one segment, with Kaldi's checks and rounding.

    Sample indices are ``int(time * samp_freq + 0.5)``; an end up to ``max_overshoot``
    seconds past the end of the recording (or -1) is cut to the end.

    Returns:
        A one-channel :class:`WaveData`, or Kaldi's warning text when the segment is
        skipped.

    Raises:
        FormatError: a multi-channel recording and no channel column (fatal in Kaldi).
    """
    samp_freq = _F32(wave.samp_freq)
    num_chan, num_samp = wave.data.shape
    file_length = float(_F32(num_samp) / samp_freq)
    start, end = seg.start, seg.end
    if start < 0 or start > file_length:
        return (
            f"Segment start is out of file data range [0, {file_length:g}s]; skipping "
            f"segment '{seg.line}'"
        )
    if end > float(_F32(file_length) + _F32(max_overshoot)):
        return (
            f"Segment end is too far out of file data range [0,{file_length:g}s]; skipping "
            f"segment '{seg.line}'"
        )
    if end < 0 or end > file_length:
        end = file_length
    if end - start < float(_F32(min_segment_length)):
        return f"Segment {seg.segment} too short, skipping it."
    channel = seg.channel
    if channel == -1:
        if num_chan != 1:
            raise FormatError(
                "Your data has multiple channels. You must specify the channel in the "
                f"segments file. Skipping segment {seg.segment}"
            )
        channel = 0
    elif channel >= num_chan:
        return f"Invalid channel {channel} >= {num_chan}. Skipping segment {seg.segment}"
    start_samp = int(start * float(samp_freq) + 0.5)
    end_samp = min(int(end * float(samp_freq) + 0.5), num_samp)
    data = np.array(wave.data[channel : channel + 1, start_samp:end_samp], dtype=np.float32)
    return WaveData(samp_freq=wave.samp_freq, data=data)


def kaldi_block_convolve(filt: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Kaldi's ``FFTbasedBlockConvolveSignals`` in float32 (length ``N + M - 1``).

    FFT size is the power of two >= ``4 * M``; as in Kaldi's packed real FFT, the DC
    and Nyquist bins of each block are multiplied as one complex number, which this
    reproduces so that results match Kaldi's to float rounding.
    """
    f = torch.from_numpy(np.ascontiguousarray(filt, dtype=np.float32))
    s = torch.from_numpy(np.ascontiguousarray(signal, dtype=np.float32))
    out = block_fft_convolve(
        s, f, fft_length=next_power_of_two(4 * f.numel()), dc_nyquist_as_complex=True
    )
    return out.numpy().astype(np.float32, copy=False)


def _power(x: np.ndarray) -> np.float32:
    """``VecVec(x, x) / dim`` as a float (summed in float64)."""
    return _F32(_F32(np.dot(x.astype(np.float64), x.astype(np.float64))) / _F32(x.size))


def parse_comma_floats(text: str) -> list[float]:
    """Kaldi's ``ReadCommaSeparatedCommand``: comma-separated floats, empty fields dropped.

    Raises:
        FormatError: a field that is not a number.
    """
    out = []
    for field in text.split(","):
        if field == "":
            continue
        v = _to_real(field)
        if v is None:
            raise FormatError(f"bad number {field!r} in comma-separated list {text!r}")
        out.append(float(_F32(v)))
    return out


@dataclass(frozen=True)
class ReverberateOptions:
    """Settings of :func:`reverberate` (wav-reverberate's flags, parsed).

    Attributes:
        snrs: SNR in dB of each additive signal.
        start_times: where each additive signal starts in the input, in seconds.
        shift_output: shift the output by the RIR's peak position and keep the input
            length.
        normalize_output: scale the output to the input's power.
        volume: if > 0, scale the output by this instead of normalizing.
        duration: if > 0, output length in seconds (trimmed, or the signal repeated).
        input_channel, rir_channel, noise_channel: channels to use.
        multi_channel_output: one output channel per RIR channel.
    """

    snrs: Sequence[float] = ()
    start_times: Sequence[float] = ()
    shift_output: bool = True
    normalize_output: bool = True
    volume: float = 0.0
    duration: float = 0.0
    input_channel: int = 0
    rir_channel: int = 0
    noise_channel: int = 0
    multi_channel_output: bool = False


def reverberate(
    wave: WaveData,
    rir: WaveData | None = None,
    additive: Sequence[WaveData] = (),
    opts: ReverberateOptions = ReverberateOptions(),
) -> WaveData:
    """Convolve with a room impulse response and add noises at given SNRs.

    The noises' SNRs are relative to the energy of the early reverberation (the RIR
    from 1 ms before its peak to 50 ms after it) when a RIR is given, else to the
    input's power. Computation is in float32 like Kaldi's (block FFT convolution);
    results match Kaldi's to about one least significant bit.

    Args:
        wave: input (int16 scale).
        rir: impulse response (int16 scale; scaled by 1/32768 as in Kaldi), or None.
        additive: additive signals, each at the input's sample rate.
        opts: settings.

    Returns:
        The output wave (float32, int16 scale; not clipped here).

    Raises:
        FormatError: a channel out of range, a sample-rate mismatch, or as many SNRs /
            start times as signals missing.

    Kaldi: wav-reverberate.
    """
    data = np.asarray(wave.data, dtype=np.float32)
    samp_freq = _F32(wave.samp_freq)
    num_in_chan, num_samp_input = data.shape
    if not 0 <= opts.input_channel < num_in_chan:
        raise FormatError(
            f"input channel {opts.input_channel} out of range: the input has {num_in_chan} channels"
        )
    num_samp_rir = 0
    num_rir_channel = 0
    rir_data = None
    samp_freq_rir = samp_freq
    if rir is not None:
        rir_data = np.asarray(rir.data, dtype=np.float32)
        num_rir_channel, num_samp_rir = rir_data.shape
        samp_freq_rir = _F32(rir.samp_freq)
        if not opts.multi_channel_output and not 0 <= opts.rir_channel < num_rir_channel:
            raise FormatError(
                f"RIR channel {opts.rir_channel} out of range: the RIR has {num_rir_channel} channels"
            )
    noises = [np.asarray(a.data, dtype=np.float32) for a in additive]
    for a, nd in zip(additive, noises):
        if _F32(a.samp_freq) != samp_freq:
            raise FormatError(
                f"additive signal has sample rate {a.samp_freq:g}, the input {float(samp_freq):g}"
            )
        if opts.multi_channel_output:
            if nd.shape[0] != num_rir_channel:
                raise FormatError("additive signal and RIR have different numbers of channels")
        elif not 0 <= opts.noise_channel < nd.shape[0]:
            raise FormatError(
                f"noise channel {opts.noise_channel} out of range: the signal has {nd.shape[0]} channels"
            )
    if noises and (len(opts.snrs) != len(noises) or len(opts.start_times) != len(noises)):
        raise FormatError(
            f"{len(noises)} additive signals need as many SNRs and start times "
            f"(got {len(opts.snrs)} and {len(opts.start_times)})"
        )
    num_out_chan = num_rir_channel if opts.multi_channel_output else 1
    if opts.duration > 0:
        num_samp_output = int(samp_freq * _F32(opts.duration))
    elif opts.shift_output:
        num_samp_output = num_samp_input
    else:
        num_samp_output = num_samp_input + num_samp_rir - 1
    out = np.zeros((num_out_chan, num_samp_output), dtype=np.float32)
    shift_index = 0
    for ch in range(num_out_chan):
        x = data[opts.input_channel].copy()
        power_before = _power(x)
        early_energy = power_before
        if rir_data is not None:
            this_rir = rir_data[ch if opts.multi_channel_output else opts.rir_channel]
            h = this_rir * _F32(1.0 / 32768)
            peak = int(np.argmax(h))
            lo = int(_F32(peak) - _F32(0.001) * samp_freq_rir)
            hi = int(_F32(peak) + _F32(0.05) * samp_freq_rir)
            lo, hi = max(lo, 0), min(hi, h.size)
            early = kaldi_block_convolve(h[lo:hi], x)
            early_energy = _power(early)
            x = kaldi_block_convolve(h, x)
            if opts.shift_output:
                shift_index = peak
        for i, nd in enumerate(noises):
            noise = nd[ch if opts.multi_channel_output else opts.noise_channel].copy()
            noise_power = _F32(_power(noise) + _F32(_FLT_EPSILON))
            scale = _F32(
                math.sqrt(10.0 ** (-float(_F32(opts.snrs[i])) / 10.0) * float(early_energy) / float(noise_power))
            )
            _log.debug(
                "Noise signal is being scaled with %g to generate output with SNR %gdb",
                scale,
                opts.snrs[i],
            )
            noise = noise * scale
            offset = int(_F32(opts.start_times[i]) * samp_freq)
            n = min(x.size - offset, noise.size)
            if n > 0:
                x[offset : offset + n] += noise[:n]
        power_after = _power(x)
        if opts.volume > 0:
            x = x * _F32(opts.volume)
        elif opts.normalize_output:
            x = x * _F32(math.sqrt(float(power_before) / float(power_after)))
        if num_samp_output <= num_samp_input:
            out[ch] = x[shift_index : shift_index + num_samp_output]
        else:
            piece = x[shift_index : shift_index + num_samp_input]
            reps = -(-num_samp_output // max(piece.size, 1))
            out[ch] = np.tile(piece, reps)[:num_samp_output]
    return WaveData(samp_freq=wave.samp_freq, data=out)
