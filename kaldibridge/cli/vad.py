"""Voice activity tools: compute-vad and select-voiced-frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kaldibridge.cli.framework import Tool, ToolContext
from kaldibridge.kaldi.features.vad import VadEnergyOptions, compute_vad_energy, select_voiced_frames
from kaldibridge.kaldi.options import OptionGroup, option
from kaldibridge.kaldi.table import RandomAccessTableReader, SequentialTableReader, TableWriter

__all__ = ["COMPUTE_VAD", "SELECT_VOICED_FRAMES"]


@dataclass(frozen=True)
class ComputeVadToolOptions(OptionGroup):
    """compute-vad flags besides the VAD options."""

    omit_unvoiced_utts: bool = option(
        False, "Write nothing for utterances in which no frame was judged voiced."
    )


def _run_compute_vad(ctx: ToolContext) -> int:
    o: VadEnergyOptions = ctx.opts(VadEnergyOptions)
    omit = ctx.opts(ComputeVadToolOptions).omit_unvoiced_utts
    rspecifier, wspecifier = ctx.args
    done = err = unvoiced = 0
    tot_length = tot_decision = 0.0
    reader = SequentialTableReader(rspecifier, "matrix")
    with TableWriter(wspecifier, "vector") as writer:
        for utt, feats in reader:
            if feats.shape[0] == 0:
                ctx.log.warning(f"Empty feature matrix for utterance {utt}")
                err += 1
                continue
            voiced = compute_vad_energy(feats, o)
            total = float(np.sum(voiced, dtype=np.float64))
            if total == 0.0:
                ctx.log.warning(f"No frames were judged voiced for utterance {utt}")
                unvoiced += 1
            else:
                done += 1
            tot_decision += total
            tot_length += voiced.shape[0]
            if not (omit and total == 0.0):
                writer.write(utt, voiced)
    ctx.log.info(
        "Applied energy based voice activity detection; "
        f"processed {done} utterances successfully; {err} had empty features, and "
        f"{unvoiced} were completely unvoiced."
    )
    prop = tot_decision / tot_length if tot_length else float("nan")
    ctx.log.info(f"Proportion of voiced frames was {prop:g} over {tot_length:g} frames.")
    return 0 if done else 1


COMPUTE_VAD = Tool(
    "compute-vad",
    usage=(
        "Energy-based voice activity detection: for each utterance write a vector with\n"
        "1.0 for frames judged voiced and 0.0 otherwise, from thresholding the log energy\n"
        "in feature column 0 (with a vote over a window of frames). Meant for speaker-ID.\n"
        "\n"
        "Usage: compute-vad [options] <feats-rspecifier> <vad-wspecifier>\n"
        "e.g.: compute-vad scp:feats.scp ark:vad.ark\n"
    ),
    run=_run_compute_vad,
    groups=(ComputeVadToolOptions, VadEnergyOptions),
    nargs=(2, 2),
)


def _run_select_voiced(ctx: ToolContext) -> int:
    feat_rspecifier, vad_rspecifier, wspecifier = ctx.args
    done = err = 0
    feat_reader = SequentialTableReader(feat_rspecifier, "matrix")
    vad_reader = RandomAccessTableReader(vad_rspecifier, "vector")
    with TableWriter(wspecifier, "matrix") as writer:
        for utt, feats in feat_reader:
            if feats.shape[0] == 0:
                ctx.log.warning(f"Empty feature matrix for utterance {utt}")
                err += 1
                continue
            voiced = vad_reader.get(utt)
            if voiced is None:
                ctx.log.warning(f"No VAD input found for utterance {utt}")
                err += 1
                continue
            if feats.shape[0] != voiced.shape[0]:
                ctx.log.warning(
                    f"Mismatch in number for frames {feats.shape[0]} for features and VAD "
                    f"{voiced.shape[0]}, for utterance {utt}"
                )
                err += 1
                continue
            if float(np.sum(voiced, dtype=np.float64)) == 0.0:
                ctx.log.warning(f"No features were judged as voiced for utterance {utt}")
                err += 1
                continue
            writer.write(utt, select_voiced_frames(feats, voiced))
            done += 1
    ctx.log.info(
        f"Done selecting voiced frames; processed {done} utterances, {err} had errors."
    )
    return 0 if done else 1


SELECT_VOICED_FRAMES = Tool(
    "select-voiced-frames",
    usage=(
        "Keep only the frames that a VAD vector (from compute-vad: 1.0 voiced, 0.0 not)\n"
        "marks as voiced. Mostly useful for speaker identification.\n"
        "Usage: select-voiced-frames [options] <feats-rspecifier>  <vad-rspecifier> <feats-wspecifier>\n"
        "E.g.: select-voiced-frames [options] scp:feats.scp scp:vad.scp ark:-\n"
    ),
    run=_run_select_voiced,
    groups=(),
    nargs=(3, 3),
)
