"""Pitch tools: compute-kaldi-pitch-feats, process-kaldi-pitch-feats,
compute-and-process-kaldi-pitch-feats, interpolate-pitch.

The delta-pitch noise is drawn from a Python copy of glibc's ``rand()``: seeded with
``--srand`` by process-kaldi-pitch-feats and never seeded (glibc's seed 1) by
compute-and-process-kaldi-pitch-feats, continuing across utterances as in Kaldi.

Differences from Kaldi (where Kaldi aborts on an assertion, exit 134, losing its output):
process-kaldi-pitch-feats writes an empty matrix for an empty input matrix;
compute-and-process-kaldi-pitch-feats writes an empty matrix for a file too short for one
frame; ``--snip-edges=false`` with ``--frames-per-chunk`` reads the frames that straddle
chunk boundaries from the signal itself; interpolate-pitch writes an empty matrix for an
empty input (Kaldi reads past its end in the model-based mode), and invalid options or a
matrix that is not two columns wide are fatal errors (exit 255, not Kaldi's abort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kaldibridge.cli.framework import Tool, ToolContext
from kaldibridge.errors import KaldiFatalError
from kaldibridge.kaldi.features.pitch_interpolate import (
    InterpolationStats,
    PitchInterpolatorOptions,
    interpolate_pitch,
    linear_interpolate_pitch,
)
from kaldibridge.kaldi.features.pitch import (
    GlibcRandom,
    PitchExtractionOptions,
    ProcessPitchOptions,
    compute_and_process_kaldi_pitch,
    compute_kaldi_pitch,
    process_kaldi_pitch,
)
from kaldibridge.kaldi.options import OptionGroup, option
from kaldibridge.kaldi.table import SequentialTableReader, TableWriter

__all__ = [
    "COMPUTE_KALDI_PITCH_FEATS",
    "PROCESS_KALDI_PITCH_FEATS",
    "COMPUTE_AND_PROCESS_KALDI_PITCH_FEATS",
    "INTERPOLATE_PITCH",
]


@dataclass(frozen=True)
class ProcessPitchToolOptions(OptionGroup):
    """process-kaldi-pitch-feats flags outside ProcessPitchOptions."""

    srand: int = option(0, "Seed of the C library random generator that makes the delta-pitch noise.")


@dataclass(frozen=True)
class InterpolatePitchToolOptions(OptionGroup):
    """interpolate-pitch flags outside PitchInterpolatorOptions."""

    linear_interpolation: bool = option(
        False, "Only draw straight lines across zero-pitch gaps instead of the model-based search."
    )


def _g(x: float) -> str:
    return f"{float(np.float32(x)):g}"


def _select_channel(ctx: ToolContext, utt: str, wave) -> np.ndarray:
    if wave.num_channels != 1:
        ctx.log.warning(
            f"Channel not specified but you have data with {wave.num_channels} channels; defaulting to zero"
        )
    return wave.data[0]


def _wave_loop(ctx: ToolContext, compute) -> int:
    popts: PitchExtractionOptions = ctx.opts(PitchExtractionOptions)
    rspecifier, wspecifier = ctx.args
    done = err = 0
    with SequentialTableReader(rspecifier, "wave") as reader, TableWriter(wspecifier, "matrix") as writer:
        for utt, wave in reader:
            samples = _select_channel(ctx, utt, wave)
            if np.float32(popts.sample_frequency) != np.float32(wave.samp_freq):
                message = (
                    f"Sample frequency mismatch: you specified {_g(popts.sample_frequency)} but data has "
                    f"{_g(wave.samp_freq)} (use --sample-frequency option)"
                )
                if ctx.tool.name == "compute-kaldi-pitch-feats":
                    message += f".  Utterance is {utt}"
                raise KaldiFatalError(message)
            try:
                feats = compute(samples)
            except (ValueError, ArithmeticError) as exc:
                if str(exc):
                    ctx.log.error(str(exc))
                ctx.log.warning(f"Failed to compute pitch for utterance {utt}")
                err += 1
                continue
            writer.write(utt, np.ascontiguousarray(feats.numpy(), dtype=np.float32))
            done += 1
    ctx.log.info(f"Done {done} utterances, {err} with errors.")
    return 0 if done != 0 else 1


def _run_compute(ctx: ToolContext) -> int:
    popts: PitchExtractionOptions = ctx.opts(PitchExtractionOptions)
    return _wave_loop(ctx, lambda x: compute_kaldi_pitch(x, popts))


def _run_compute_and_process(ctx: ToolContext) -> int:
    popts: PitchExtractionOptions = ctx.opts(PitchExtractionOptions)
    qopts: ProcessPitchOptions = ctx.opts(ProcessPitchOptions)
    rng = GlibcRandom(1)  # the tool never calls srand()
    return _wave_loop(ctx, lambda x: compute_and_process_kaldi_pitch(x, popts, qopts, rng=rng))


def _run_process(ctx: ToolContext) -> int:
    qopts: ProcessPitchOptions = ctx.opts(ProcessPitchOptions)
    tool_opts: ProcessPitchToolOptions = ctx.opts(ProcessPitchToolOptions)
    rng = GlibcRandom(tool_opts.srand)
    rspecifier, wspecifier = ctx.args
    done = 0
    with SequentialTableReader(rspecifier, "matrix") as reader, TableWriter(wspecifier, "matrix") as writer:
        for utt, feats in reader:
            out = process_kaldi_pitch(feats, qopts, rng=rng)
            writer.write(utt, np.ascontiguousarray(out.numpy(), dtype=np.float32))
            done += 1
    ctx.log.info(f"Post-processed pitch for {done} utterances.")
    return 0 if done != 0 else 1


def _run_interpolate(ctx: ToolContext) -> int:
    iopts: PitchInterpolatorOptions = ctx.opts(PitchInterpolatorOptions)
    linear = ctx.opts(InterpolatePitchToolOptions).linear_interpolation
    if not linear:
        iopts.check()
    rng = GlibcRandom(1)  # the tool never calls srand()
    stats = InterpolationStats()
    rspecifier, wspecifier = ctx.args
    done = err = 0
    with SequentialTableReader(rspecifier, "matrix") as reader, TableWriter(wspecifier, "matrix") as writer:
        for utt, feats in reader:
            feats = np.asarray(feats, dtype=np.float32)
            if feats.shape[0] == 0 and feats.shape[1] != 2:
                ctx.log.warning(f"Feature file has bad size {feats.shape[0]} by {feats.shape[1]}")
                err += 1
                continue
            if linear:
                out = linear_interpolate_pitch(feats)
            else:
                out = interpolate_pitch(feats, iopts, rng=rng, stats=stats)
            writer.write(utt, np.ascontiguousarray(out.numpy(), dtype=np.float32))
            done += 1
            if done % 10 == 0:
                ctx.log.info(f"Processed {done} utterances")
            ctx.log.vlog(2, f"Processed features for key {utt}")
    if not linear:
        ctx.log.info(stats.message())
    ctx.log.info(f"Done {done} utterances, {err} with errors.")
    return 0 if done != 0 else 1


COMPUTE_KALDI_PITCH_FEATS = Tool(
    "compute-kaldi-pitch-feats",
    usage=(
        "Extract Kaldi pitch from waveforms: two columns per frame, the NCCF (between -1\n"
        "and 1, high on voiced frames) and the pitch in Hz. Usually followed by\n"
        "process-kaldi-pitch-feats.\n"
        "Usage: compute-kaldi-pitch-feats [options...] <wav-rspecifier> <feats-wspecifier>\n"
        "e.g.\n"
        "compute-kaldi-pitch-feats --sample-frequency=8000 scp:wav.scp ark:- \n"
        "\n"
        "See also: process-kaldi-pitch-feats, compute-and-process-kaldi-pitch-feats\n"
    ),
    run=_run_compute,
    groups=(PitchExtractionOptions,),
    nargs=(2, 2),
)

PROCESS_KALDI_PITCH_FEATS = Tool(
    "process-kaldi-pitch-feats",
    usage=(
        "Turn raw Kaldi pitch (NCCF, pitch) into ASR features. By default three columns:\n"
        "the POV feature (warped NCCF), the log-pitch minus its POV-weighted mean over a\n"
        "1.5 second window, and the delta of the log-pitch. The raw log-pitch can be added;\n"
        "each feature has an --add-* switch and they come in that order.\n"
        "\n"
        "Usage: process-kaldi-pitch-feats [options...] <feat-rspecifier> <feats-wspecifier>\n"
        "\n"
        "e.g.: compute-kaldi-pitch-feats [args] ark:- | process-kaldi-pitch-feats ark:- ark:feats.ark\n"
        "\n"
        "See also: compute-kaldi-pitch-feats, compute-and-process-kaldi-pitch-feats\n"
    ),
    run=_run_process,
    groups=(ProcessPitchOptions, ProcessPitchToolOptions),
    nargs=(2, 2),
)

COMPUTE_AND_PROCESS_KALDI_PITCH_FEATS = Tool(
    "compute-and-process-kaldi-pitch-feats",
    usage=(
        "Extract and post-process Kaldi pitch in one pass, as\n"
        "compute-kaldi-pitch-feats | process-kaldi-pitch-feats would, but able to simulate\n"
        "online extraction (--frames-per-chunk, --simulate-first-pass-online, --recompute-frame).\n"
        "\n"
        "Usage: compute-and-process-kaldi-pitch-feats [options...] <wav-rspecifier> <feats-wspecifier>\n"
        "e.g.\n"
        "compute-and-process-kaldi-pitch-feats --simulate-first-pass-online=true \\\n"
        "  --frames-per-chunk=10 --sample-frequency=8000 scp:wav.scp ark:- \n"
        "See also: compute-kaldi-pitch-feats, process-kaldi-pitch-feats\n"
    ),
    run=_run_compute_and_process,
    groups=(PitchExtractionOptions, ProcessPitchOptions),
    nargs=(2, 2),
)

INTERPOLATE_PITCH = Tool(
    "interpolate-pitch",
    usage=(
        "Fill in and smooth the pitch column of two-column (p(voicing), pitch) features, where\n"
        "pitch 0 marks frames without an estimate: by default with a Viterbi search over a\n"
        "discretized pitch grid, or with --linear-interpolation=true by straight lines\n"
        "across the gaps.\n"
        "Usage:  interpolate-pitch [options...] <feats-rspecifier> <feats-wspecifier>\n"
    ),
    run=_run_interpolate,
    groups=(InterpolatePitchToolOptions, PitchInterpolatorOptions),
    nargs=(2, 2),
)
