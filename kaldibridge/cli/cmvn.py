"""CMVN tools: compute-cmvn-stats, apply-cmvn, modify-cmvn-stats, apply-cmvn-sliding.

Differences from Kaldi (strictly better): an empty (0x0) feature matrix is skipped with a
warning by compute-cmvn-stats (Kaldi aborts on an assertion and loses its buffered
output) and by apply-cmvn (Kaldi dies on a dimension mismatch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kaldibridge.cli.common import printable_wx
from kaldibridge.cli.framework import Tool, ToolContext
from kaldibridge.errors import FormatError, KaldiFatalError
from kaldibridge.kaldi.features.cmvn import (
    SlidingWindowCmnOptions,
    apply_cmvn,
    apply_cmvn_sliding,
    cmvn_stats_to_mean_var,
    compute_cmvn_stats,
    compute_cmvn_stats_two_channel,
    fake_stats_for_some_dims,
    parse_skip_dims,
)
from kaldibridge.kaldi.options import OptionGroup, option
from kaldibridge.kaldi.table import (
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    is_rspecifier,
    is_wspecifier,
    open_rx,
    read_object,
    write_object,
)

__all__ = [
    "COMPUTE_CMVN_STATS",
    "COMPUTE_CMVN_STATS_TWO_CHANNEL",
    "APPLY_CMVN",
    "MODIFY_CMVN_STATS",
    "APPLY_CMVN_SLIDING",
]


# --------------------------------------------------------------------------- compute
@dataclass(frozen=True)
class ComputeCmvnStatsOptions(OptionGroup):
    """compute-cmvn-stats flags."""

    spk2utt: str = option("", "Speaker-to-utterances table; stats are then accumulated per speaker.")
    binary: bool = option(True, "Write the global stats matrix in binary (only for a single output file).")
    weights: str = option("", "Table of per-frame weight vectors, one per utterance.")


def _acc(ctx: ToolContext, utt: str, feats: np.ndarray, weights_reader: RandomAccessTableReader | None) -> np.ndarray | None:
    """Stats of one utterance, or None (with Kaldi's warning) when it cannot be used."""
    if feats.shape[1] == 0 or feats.shape[0] == 0:
        ctx.log.warning(f"Empty feature matrix for utterance {utt}, skipping it")
        return None
    if weights_reader is None:
        return compute_cmvn_stats(feats)
    w = weights_reader.get(utt)
    if w is None:
        ctx.log.warning(f"No weights available for utterance {utt}")
        return None
    if w.shape[0] != feats.shape[0]:
        ctx.log.warning(
            f"Weights for utterance {utt} have wrong dimension {w.shape[0]} vs. {feats.shape[0]}"
        )
        return None
    return compute_cmvn_stats(feats, w)


def _run_compute(ctx: ToolContext) -> int:
    o: ComputeCmvnStatsOptions = ctx.opts(ComputeCmvnStatsOptions)
    rspecifier, target = ctx.args
    weights_reader = RandomAccessTableReader(o.weights, "vector") if o.weights else None
    done = err = 0
    if is_wspecifier(target):
        with TableWriter(target, "double_matrix") as writer:
            if o.spk2utt:
                spk_reader = SequentialTableReader(o.spk2utt, "token_vector")
                feat_reader = RandomAccessTableReader(rspecifier, "matrix")
                for spk, utts in spk_reader:
                    total = None
                    for utt in utts:
                        feats = feat_reader.get(utt)
                        if feats is None:
                            ctx.log.warning(f"Did not find features for utterance {utt}")
                            err += 1
                            continue
                        stats = _acc(ctx, utt, feats, weights_reader)
                        if stats is None:
                            err += 1
                            continue
                        if total is not None and total.shape != stats.shape:
                            raise FormatError(
                                f"utterance {utt} has dimension {stats.shape[1] - 1}, other "
                                f"utterances of speaker {spk} have {total.shape[1] - 1}"
                            )
                        total = stats if total is None else total + stats
                        done += 1
                    if total is None:
                        ctx.log.warning(f"No stats accumulated for speaker {spk}")
                    else:
                        writer.write(spk, total)
            else:
                for utt, feats in SequentialTableReader(rspecifier, "matrix"):
                    stats = _acc(ctx, utt, feats, weights_reader)
                    if stats is None:
                        err += 1
                        continue
                    writer.write(utt, stats)
                    done += 1
    else:
        if o.spk2utt:
            raise KaldiFatalError(
                "--spk2utt option not compatible with wxfilename as output (did you forget ark:?)"
            )
        total = None
        for utt, feats in SequentialTableReader(rspecifier, "matrix"):
            stats = _acc(ctx, utt, feats, weights_reader)
            if stats is None:
                err += 1
                continue
            if total is not None and total.shape != stats.shape:
                raise FormatError(
                    f"utterance {utt} has dimension {stats.shape[1] - 1}, earlier ones "
                    f"{total.shape[1] - 1}"
                )
            total = stats if total is None else total + stats
            done += 1
        out = np.zeros((0, 0), np.float32) if total is None else total.astype(np.float32)
        write_object(target, out, "matrix", binary=o.binary)
        ctx.log.info(f"Wrote global CMVN stats to {printable_wx(target)}")
    ctx.log.info(f"Done accumulating CMVN stats for {done} utterances; {err} had errors.")
    return 0 if done else 1


COMPUTE_CMVN_STATS = Tool(
    "compute-cmvn-stats",
    usage=(
        "Accumulate cepstral mean and variance statistics: per utterance by default, per\n"
        "speaker with --spk2utt, or over everything when the output is a single file.\n"
        "Usage: compute-cmvn-stats  [options] <feats-rspecifier> (<stats-wspecifier>|<stats-wxfilename>)\n"
        "e.g.: compute-cmvn-stats --spk2utt=ark:data/train/spk2utt scp:data/train/feats.scp ark,scp:cmvn.ark,cmvn.scp\n"
    ),
    run=_run_compute,
    groups=(ComputeCmvnStatsOptions,),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- two-channel
@dataclass(frozen=True)
class TwoChannelOptions(OptionGroup):
    """compute-cmvn-stats-two-channel flags."""

    quieter_channel_weight: float = option(
        0.01, "Weight of a frame in the stats of the quieter side of the call."
    )


def _utterance_groups(ctx: ToolContext, rxfilename: str) -> list[list[str]]:
    """Utterances grouped by call (sorted by call id); calls without two sides split up."""
    calls: dict[str, list[str]] = {}
    with open_rx(rxfilename) as f:
        text = f.read().decode("utf-8", errors="replace")
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        fields = line.replace("\t", " ").replace("\r", " ").split()
        if len(fields) != 3:
            raise KaldiFatalError(
                f"Expecting 3 fields per line of reco2file_and_channel file {rxfilename}, got: {line}"
            )
        calls.setdefault(fields[1], []).append(fields[0])
    groups: list[list[str]] = []
    for call in sorted(calls, key=lambda c: c.encode()):
        utts = calls[call]
        if len(utts) == 2:
            groups.append(utts)
        else:
            ctx.log.warning(
                f"Call {call} has {len(utts)} utterances, expected two; treating them singly."
            )
            groups.extend([u] for u in utts)
    return groups


def _run_two_channel(ctx: ToolContext) -> int:
    q = ctx.opts(TwoChannelOptions).quieter_channel_weight
    reco_rx, feats_rspecifier, stats_wspecifier = ctx.args
    groups = _utterance_groups(ctx, reco_rx)
    reader = RandomAccessTableReader(feats_rspecifier, "matrix")
    done = err = 0
    with TableWriter(stats_wspecifier, "double_matrix") as writer:
        for group in groups:
            if len(group) == 2:
                utt1, utt2 = group
                feats1, feats2 = reader.get(utt1), reader.get(utt2)
                if feats1 is None:
                    ctx.log.warning(f"No feature data for utterance {utt1}")
                    err += 1
                    group = [utt2]
                elif feats2 is None:
                    ctx.log.warning(f"No feature data for utterance {utt2}")
                    err += 1
                    group = [utt1]
                elif feats1.shape[1] != feats2.shape[1] or feats1.shape[1] == 0:
                    raise KaldiFatalError(
                        f"utterances {utt1} and {utt2} have feature dimensions "
                        f"{feats1.shape[1]} and {feats2.shape[1]}"
                    )
                else:
                    if feats1.shape[0] != feats2.shape[0]:
                        ctx.log.warning(
                            f"Number of frames differ between {utt1} and {utt2}: "
                            f"{feats1.shape[0]} vs. {feats2.shape[0]}, treating them separately."
                        )
                        s1, s2 = compute_cmvn_stats(feats1), compute_cmvn_stats(feats2)
                    else:
                        s1, s2 = compute_cmvn_stats_two_channel(feats1, feats2, q)
                    writer.write(utt1, s1)
                    writer.write(utt2, s2)
                    done += 2
                    continue
            utt = group[0]
            feats = reader.get(utt)
            if feats is None:
                ctx.log.warning(f"No feature data for utterance {utt}")
                err += 1
                continue
            stats = _acc(ctx, utt, feats, None)
            if stats is None:
                err += 1
                continue
            writer.write(utt, stats)
            done += 1
    ctx.log.info(f"Done accumulating CMVN stats for {done} utterances; {err} had errors.")
    return 0 if done else 1


COMPUTE_CMVN_STATS_TWO_CHANNEL = Tool(
    "compute-cmvn-stats-two-channel",
    usage=(
        "CMVN stats for two-sided telephone calls: each frame counts fully for the louder\n"
        "side (judged by the first feature, energy or C0) and with a small weight for the\n"
        "quieter one. The reco2file_and_channel file has lines <utterance-id> <call-id>\n"
        "<side>; calls without exactly two sides get ordinary per-utterance stats.\n"
        "\n"
        "Usage: compute-cmvn-stats-two-channel  [options] <reco2file-and-channel> <feats-rspecifier> <stats-wspecifier>\n"
        "e.g.: compute-cmvn-stats-two-channel data/train_unseg/reco2file_and_channel scp:data/train_unseg/feats.scp ark,t:-\n"
    ),
    run=_run_two_channel,
    groups=(TwoChannelOptions,),
    nargs=(3, 3),
)


# --------------------------------------------------------------------------- apply
@dataclass(frozen=True)
class ApplyCmvnOptions(OptionGroup):
    """apply-cmvn flags."""

    utt2spk: str = option("", "Utterance-to-speaker table, to look up per-speaker stats.")
    norm_vars: bool = option(False, "Normalize variances as well as means.")
    norm_means: bool = option(
        True, "Set to false to copy the features unchanged (no normalization at all)."
    )
    skip_dims: str = option(
        "", "Colon-separated dimensions to leave unnormalized, e.g. 13:14:15."
    )
    reverse: bool = option(
        False,
        "Undo the normalization: give zero-mean, unit-variance input the stats' mean and variance.",
    )


def _run_apply(ctx: ToolContext) -> int:
    o: ApplyCmvnOptions = ctx.opts(ApplyCmvnOptions)
    stats_in, feat_rspecifier, feat_wspecifier = ctx.args
    if o.norm_vars and not o.norm_means:
        raise KaldiFatalError("You cannot normalize the variance but not the mean.")
    if not o.norm_means:
        # Kaldi only echoes the input here, compressed matrices staying compressed
        n = 0
        with SequentialTableReader(feat_rspecifier, "general_matrix") as reader, TableWriter(
            feat_wspecifier, "general_matrix"
        ) as writer:
            for utt, feats in reader:
                writer.write(utt, feats)
                n += 1
        ctx.log.info(f"Copied {n} utterances.")
        return 0 if n else 1
    skip_dims = parse_skip_dims(o.skip_dims)
    done = err = 0
    feat_reader = SequentialTableReader(feat_rspecifier, "matrix")
    with TableWriter(feat_wspecifier, "matrix") as writer:
        if is_rspecifier(stats_in):
            stats_reader = RandomAccessTableReader(stats_in, "double_matrix")
            spk_of = RandomAccessTableReader(o.utt2spk, "token") if o.utt2spk else None
            for utt, feats in feat_reader:
                key = utt if spk_of is None else spk_of.get(utt)
                stats = stats_reader.get(key) if key is not None else None
                if stats is None:
                    ctx.log.warning(
                        f"No normalization statistics available for key {utt}, producing no "
                        "output for this utterance"
                    )
                    err += 1
                    continue
                if feats.shape[0] == 0:
                    ctx.log.warning(f"Empty feature matrix for utterance {utt}, skipping it")
                    err += 1
                    continue
                if skip_dims:
                    stats = fake_stats_for_some_dims(stats, skip_dims)
                writer.write(utt, apply_cmvn(feats, stats, o.norm_vars, reverse=o.reverse))
                done += 1
        else:
            if o.utt2spk:
                raise KaldiFatalError(
                    "--utt2spk option not compatible with rxfilename as input (did you forget ark:?)"
                )
            stats = read_object(stats_in, "double_matrix")
            if skip_dims:
                stats = fake_stats_for_some_dims(stats, skip_dims)
            for utt, feats in feat_reader:
                if feats.shape[0] == 0:
                    ctx.log.warning(f"Empty feature matrix for utterance {utt}, skipping it")
                    err += 1
                    continue
                writer.write(utt, apply_cmvn(feats, stats, o.norm_vars, reverse=o.reverse))
                done += 1
    what = "mean and variance" if o.norm_vars else "mean"
    ctx.log.info(f"Applied cepstral {what} normalization to {done} utterances, errors on {err}")
    return 0 if done else 1


APPLY_CMVN = Tool(
    "apply-cmvn",
    usage=(
        "Normalize features with CMVN stats: per utterance by default, per speaker with\n"
        "--utt2spk, or with one stats matrix for everything when given a file name.\n"
        "Usage: apply-cmvn [options] (<cmvn-stats-rspecifier>|<cmvn-stats-rxfilename>) <feats-rspecifier> <feats-wspecifier>\n"
        "e.g.: apply-cmvn --utt2spk=ark:data/train/utt2spk scp:data/train/cmvn.scp scp:data/train/feats.scp ark:-\n"
    ),
    run=_run_apply,
    groups=(ApplyCmvnOptions,),
    nargs=(3, 3),
)


# --------------------------------------------------------------------------- modify
@dataclass(frozen=True)
class ModifyCmvnStatsOptions(OptionGroup):
    """modify-cmvn-stats flags."""

    convert_to_mean_and_var: bool = option(
        False, "Write a (2, dim) matrix of means and centred variances instead of stats."
    )


def _run_modify(ctx: ToolContext) -> int:
    o: ModifyCmvnStatsOptions = ctx.opts(ModifyCmvnStatsOptions)
    if len(ctx.args) == 3:
        skip_text, rspecifier, wspecifier = ctx.args
    else:
        skip_text, (rspecifier, wspecifier) = "", ctx.args
    try:
        dims = parse_skip_dims(skip_text)
    except FormatError:
        raise KaldiFatalError("Bad first argument (should be colon-separated list of integers)") from None
    except ValueError:
        raise KaldiFatalError("Bad first argument (should be colon-separated list of integers)") from None
    done = 0
    reader = SequentialTableReader(rspecifier, "double_matrix")
    with TableWriter(wspecifier, "double_matrix") as writer:
        for key, mat in reader:
            if mat.shape[0] != 2:
                raise KaldiFatalError("Expected input to be CMVN stats (should have two rows)")
            mat = fake_stats_for_some_dims(mat, dims)
            if o.convert_to_mean_and_var:
                if mat[0, -1] <= 0.0:
                    ctx.log.warning(
                        f"Zero or negative count for speaker {key}, not outputting mean and "
                        "variance stats."
                    )
                    continue
                mat = cmvn_stats_to_mean_var(mat)
            writer.write(key, mat)
            done += 1
    ctx.log.info(f"Modified {done} sets of stats.")
    return 0 if done else 1


MODIFY_CMVN_STATS = Tool(
    "modify-cmvn-stats",
    usage=(
        "Copy CMVN stats, giving some dimensions neutral stats so that they are not\n"
        "normalized, or converting the stats to means and variances.\n"
        "Usage: modify-cmvn-stats [options] [<fake-dims>] <in-rspecifier> <out-wspecifier>\n"
        "e.g.: modify-cmvn-stats 13:14:15 ark:- ark:-\n"
    ),
    run=_run_modify,
    groups=(ModifyCmvnStatsOptions,),
    nargs=(2, 3),
)


# --------------------------------------------------------------------------- sliding
def _run_sliding(ctx: ToolContext) -> int:
    o: SlidingWindowCmnOptions = ctx.opts(SlidingWindowCmnOptions)
    rspecifier, wspecifier = ctx.args
    done = err = 0
    reader = SequentialTableReader(rspecifier, "matrix")
    with TableWriter(wspecifier, "matrix") as writer:
        for utt, feats in reader:
            if feats.shape[0] == 0:
                ctx.log.warning(f"Empty feature matrix for utterance {utt}")
                err += 1
                continue
            writer.write(utt, apply_cmvn_sliding(feats, o))
            done += 1
    what = "and variance " if o.norm_vars else ""
    ctx.log.info(
        f"Applied sliding-window cepstral mean {what}normalization to {done} utterances, "
        f"{err} had errors."
    )
    return 0 if done else 1


APPLY_CMVN_SLIDING = Tool(
    "apply-cmvn-sliding",
    usage=(
        "Per-utterance cepstral mean (and optionally variance) normalization over a\n"
        "sliding window of frames, centred on the frame or ending at it.\n"
        "\n"
        "Usage: apply-cmvn-sliding [options] <feats-rspecifier> <feats-wspecifier>\n"
    ),
    run=_run_sliding,
    groups=(SlidingWindowCmnOptions,),
    nargs=(2, 2),
)
