"""Feature post-processing tools: add-deltas, splice-feats, subsample-feats, shift-feats,
append-vector-to-feats, append-post-to-feats.

Difference from Kaldi (strictly better): splice-feats skips an empty (0x0) matrix with a
warning and goes on (Kaldi dies there, exit 255).
"""

from __future__ import annotations

from dataclasses import dataclass

from kaldibridge.cli.common import map_matrices
from kaldibridge.cli.framework import Tool, ToolContext
from kaldibridge.errors import FormatError, KaldiFatalError
from kaldibridge.kaldi.features.deltas import (
    DeltaFeaturesOptions,
    ShiftedDeltaFeaturesOptions,
    compute_deltas_kaldi,
    compute_shifted_deltas,
)
from kaldibridge.kaldi.features.select import (
    append_post_to_feats,
    append_vector_to_feats,
    posterior_to_matrix,
    shift_feats,
    subsample_feats,
)
from kaldibridge.kaldi.features.splice import splice_feats
from kaldibridge.kaldi.options import OptionGroup, option
from kaldibridge.kaldi.table import (
    RandomAccessTableReader,
    SequentialTableReader,
    TableWriter,
    is_rspecifier,
    read_object,
    write_object,
)

__all__ = [
    "ADD_DELTAS",
    "SPLICE_FEATS",
    "SUBSAMPLE_FEATS",
    "SHIFT_FEATS",
    "APPEND_VECTOR_TO_FEATS",
    "APPEND_POST_TO_FEATS",
    "ADD_DELTAS_SDC",
    "POST_TO_FEATS",
]


# --------------------------------------------------------------------------- add-deltas
@dataclass(frozen=True)
class AddDeltasToolOptions(OptionGroup):
    """add-deltas flags besides the delta options."""

    truncate: int = option(0, "If nonzero, keep only this many leading dimensions before adding deltas.")


def _run_add_deltas(ctx: ToolContext) -> int:
    o: DeltaFeaturesOptions = ctx.opts(DeltaFeaturesOptions)
    truncate = ctx.opts(AddDeltasToolOptions).truncate
    return map_matrices(
        ctx, *ctx.args, lambda feats: compute_deltas_kaldi(feats, o, truncate=truncate),
        "Empty feature matrix for key {key}",
    )


ADD_DELTAS = Tool(
    "add-deltas",
    usage=(
        "Append delta and higher-order delta features (e.g. to MFCC or PLP features).\n"
        "Usage: add-deltas [options] in-rspecifier out-wspecifier\n"
    ),
    run=_run_add_deltas,
    groups=(DeltaFeaturesOptions, AddDeltasToolOptions),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- add-deltas-sdc
def _run_add_deltas_sdc(ctx: ToolContext) -> int:
    o: ShiftedDeltaFeaturesOptions = ctx.opts(ShiftedDeltaFeaturesOptions)
    truncate = ctx.opts(AddDeltasToolOptions).truncate
    return map_matrices(
        ctx, *ctx.args, lambda feats: compute_shifted_deltas(feats, o, truncate=truncate),
        "Empty feature matrix for key {key}",
    )


ADD_DELTAS_SDC = Tool(
    "add-deltas-sdc",
    usage=(
        "Append shifted delta cepstra (SDC), e.g. to MFCCs for language identification.\n"
        "Usage: add-deltas-sdc [options] in-rspecifier out-wspecifier\n"
    ),
    run=_run_add_deltas_sdc,
    groups=(ShiftedDeltaFeaturesOptions, AddDeltasToolOptions),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- splice-feats
@dataclass(frozen=True)
class SpliceOptions(OptionGroup):
    """splice-feats flags."""

    left_context: int = option(4, "Frames of context on the left.")
    right_context: int = option(4, "Frames of context on the right.")


def _run_splice(ctx: ToolContext) -> int:
    o: SpliceOptions = ctx.opts(SpliceOptions)
    return map_matrices(
        ctx, *ctx.args, lambda feats: splice_feats(feats, o.left_context, o.right_context),
        "Empty feature matrix for key {key}, skipping it", need_columns=True,
    )


SPLICE_FEATS = Tool(
    "splice-feats",
    usage=(
        "Stack each frame with its left and right neighbours (e.g. before LDA).\n"
        "Usage: splice-feats [options] <feature-rspecifier> <feature-wspecifier>\n"
        "e.g.: splice-feats scp:feats.scp ark:-\n"
    ),
    run=_run_splice,
    groups=(SpliceOptions,),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- subsample-feats
@dataclass(frozen=True)
class SubsampleOptions(OptionGroup):
    """subsample-feats flags."""

    n: int = option(1, "Keep every n-th frame; a negative n repeats each frame -n times instead.")
    offset: int = option(0, "First frame to keep (only with n > 0).")


def _run_subsample(ctx: ToolContext) -> int:
    o: SubsampleOptions = ctx.opts(SubsampleOptions)
    if o.n == 0:
        raise KaldiFatalError("--n must be nonzero")
    if o.n < 0 and o.offset != 0:
        raise KaldiFatalError("--offset option cannot be used with negative n.")
    rspecifier, wspecifier = ctx.args
    done = err = frames_in = frames_out = 0
    reader = SequentialTableReader(rspecifier, "matrix")
    with TableWriter(wspecifier, "matrix") as writer:
        for utt, feats in reader:
            out = subsample_feats(feats, o.n, o.offset)
            frames_in += feats.shape[0]
            frames_out += out.shape[0]
            if o.n > 0 and out.shape[0] == 0:
                ctx.log.warning(
                    f"For utterance {utt}, output would have no rows, producing no output."
                )
                err += 1
                continue
            writer.write(utt, out)
            done += 1
    ctx.log.info(f"Processed {done} feature matrices; {err} with errors.")
    ctx.log.info(f"Processed {frames_in} input frames and {frames_out} output frames.")
    return 0 if done else 1


SUBSAMPLE_FEATS = Tool(
    "subsample-feats",
    usage=(
        "Keep every n-th frame of each utterance, or with a negative n repeat each frame\n"
        "-n times (--n=-2 doubles every frame).\n"
        "\n"
        "Usage: subsample-feats [options] <in-rspecifier> <out-wspecifier>\n"
        "  e.g. subsample-feats --n=2 ark:- ark:-\n"
    ),
    run=_run_subsample,
    groups=(SubsampleOptions,),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- shift-feats
@dataclass(frozen=True)
class ShiftOptions(OptionGroup):
    """shift-feats flags."""

    shift: int = option(0, "Frames to shift by (positive: delay, negative: advance).")
    binary: bool = option(True, "Binary output (single-matrix mode only).")


def _run_shift(ctx: ToolContext) -> int:
    o: ShiftOptions = ctx.opts(ShiftOptions)
    src, dst = ctx.args
    if not is_rspecifier(src):
        mat = read_object(src, "matrix")
        if mat.shape[0] == 0:
            raise KaldiFatalError("Empty input matrix")
        write_object(dst, shift_feats(mat, o.shift), "matrix", binary=o.binary)
        return 0
    done = err = 0
    reader = SequentialTableReader(src, "matrix")
    with TableWriter(dst, "matrix") as writer:
        for key, feats in reader:
            if feats.shape[0] == 0:
                ctx.log.warning(f"Empty matrix for key {key}")
                err += 1
                continue
            writer.write(key, shift_feats(feats, o.shift))
            done += 1
    ctx.log.info(f"Shifted {done} features by {o.shift} frames; {err} with errors.")
    return 0 if done else 1


SHIFT_FEATS = Tool(
    "shift-feats",
    usage=(
        "Copy features, shifting them in time by a number of frames while keeping the\n"
        "number of frames (edge frames are repeated).\n"
        "Usage: shift-feats [options] <feature-rspecifier> <feature-wspecifier>\n"
        "or:  shift-feats [options] <feats-rxfilename> <feats-wxfilename>\n"
        "e.g.: shift-feats --shift=-1 foo.scp bar.ark\n"
    ),
    run=_run_shift,
    groups=(ShiftOptions,),
    nargs=(2, 2),
)


# --------------------------------------------------------------------------- append-*
@dataclass(frozen=True)
class AppendVectorOptions(OptionGroup):
    """append-vector-to-feats flags."""

    binary: bool = option(True, "Binary output (single-file mode only).")


def _run_append_vector(ctx: ToolContext) -> int:
    o: AppendVectorOptions = ctx.opts(AppendVectorOptions)
    feats_in, vec_in, out = ctx.args
    if not is_rspecifier(feats_in):
        mat = read_object(feats_in, "matrix")
        vec = read_object(vec_in, "vector")
        write_object(out, append_vector_to_feats(mat, vec), "matrix", binary=o.binary)
        ctx.log.info(f"Wrote appended features to {out}")
        return 0
    done = err = 0
    feat_reader = SequentialTableReader(feats_in, "matrix")
    vec_reader = RandomAccessTableReader(vec_in, "vector")
    with TableWriter(out, "matrix") as writer:
        for utt, feats in feat_reader:
            ctx.log.vlog(2, f"Processing utterance {utt}")
            vec = vec_reader.get(utt)
            if vec is None:
                ctx.log.warning(f"Could not read vector for utterance {utt}")
                err += 1
                continue
            if feats.shape[0] == 0:
                ctx.log.warning(f"Empty feature matrix for utterance {utt}")
                err += 1
                continue
            writer.write(utt, append_vector_to_feats(feats, vec))
            done += 1
    ctx.log.info(f"Done {done} utts, errors on {err}")
    return 0 if done else 255


APPEND_VECTOR_TO_FEATS = Tool(
    "append-vector-to-feats",
    usage=(
        "Append a vector to every row of each feature matrix.\n"
        "\n"
        "Usage: append-vector-to-feats <in-rspecifier1> <in-rspecifier2> <out-wspecifier>\n"
        " or: append-vector-to-feats <in-rxfilename1> <in-rxfilename2> <out-wxfilename>\n"
    ),
    run=_run_append_vector,
    groups=(AppendVectorOptions,),
    nargs=(3, 3),
)


@dataclass(frozen=True)
class AppendPostOptions(OptionGroup):
    """append-post-to-feats flags."""

    binary: bool = option(True, "Binary output (single-file mode only).")
    post_dim: int = option(0, "Number of posterior columns to append (required).")


def _run_append_post(ctx: ToolContext) -> int:
    o: AppendPostOptions = ctx.opts(AppendPostOptions)
    if o.post_dim == 0:
        raise KaldiFatalError(
            "You have to set the dimensionality of posteriors with '--post-dim=D'"
        )
    feats_in, post_in, out = ctx.args
    if not is_rspecifier(feats_in):
        mat = read_object(feats_in, "matrix")
        post = read_object(post_in, "posterior")
        write_object(out, _append_post(ctx, mat, post, o.post_dim), "matrix", binary=o.binary)
        ctx.log.info(f"Wrote appended features to {out}")
        return 0
    done = err = 0
    feat_reader = SequentialTableReader(feats_in, "matrix")
    post_reader = RandomAccessTableReader(post_in, "posterior")
    with TableWriter(out, "matrix") as writer:
        for utt, feats in feat_reader:
            ctx.log.vlog(2, f"Processing utterance {utt}")
            post = post_reader.get(utt)
            if post is None:
                ctx.log.warning(f"Could not read posteriors for utterance {utt}")
                err += 1
                continue
            writer.write(utt, _append_post(ctx, feats, post, o.post_dim))
            done += 1
    ctx.log.info(f"Done {done} utts, errors on {err}")
    return 0 if done else 255


def _run_post_to_feats(ctx: ToolContext) -> int:
    o: AppendPostOptions = ctx.opts(AppendPostOptions)
    if o.post_dim == 0:
        raise KaldiFatalError(
            "You have to set the dimensionality of posteriors with '--post-dim=D'"
        )
    src, dst = ctx.args
    try:
        if not is_rspecifier(src):
            post = read_object(src, "posterior")
            write_object(dst, posterior_to_matrix(post, o.post_dim), "matrix", binary=o.binary)
            ctx.log.info(f"Wrote posteriors as feature-matrix to {dst}")
            return 0
        done = 0
        reader = SequentialTableReader(src, "posterior")
        with TableWriter(dst, "matrix") as writer:
            for utt, post in reader:
                ctx.log.vlog(2, f"Processing utterance {utt}")
                writer.write(utt, posterior_to_matrix(post, o.post_dim))
                done += 1
    except FormatError as e:
        raise KaldiFatalError(str(e)) from None
    ctx.log.info(f"Done {done} utts, errors on 0")
    return 0 if done else 255


POST_TO_FEATS = Tool(
    "post-to-feats",
    usage=(
        "Write posteriors as dense feature matrices (one column per index).\n"
        "\n"
        "Usage: post-to-feats [options] <in-rspecifier> <out-wspecifier>\n"
        " or: post-to-feats [options] <in-rxfilename> <out-wxfilename>\n"
        "e.g.: post-to-feats --post-dim=50 ark:post.ark ark:feat.ark\n"
    ),
    run=_run_post_to_feats,
    groups=(AppendPostOptions,),
    nargs=(2, 2),
)


def _append_post(ctx: ToolContext, feats, post, post_dim: int):  # type: ignore[no-untyped-def]
    if feats.shape[0] != len(post):
        ctx.log.warning(
            f"Mismatch of length! features: {feats.shape[0]} posteriors: {len(post)}"
        )
        raise KaldiFatalError(
            f"number of frames of features ({feats.shape[0]}) and posteriors ({len(post)}) differ"
        )
    try:
        return append_post_to_feats(feats, post, post_dim)
    except FormatError as e:
        raise KaldiFatalError(str(e)) from None


APPEND_POST_TO_FEATS = Tool(
    "append-post-to-feats",
    usage=(
        "Append posteriors, as dense columns, to the features.\n"
        "\n"
        "Usage: append-post-to-feats [options] <in-rspecifier1> <in-rspecifier2> <out-wspecifier>\n"
        " or: append-post-to-feats [options] <in-rxfilename1> <in-rxfilename2> <out-wxfilename>\n"
        "e.g.: append-post-to-feats --post-dim=50 ark:input.ark scp:post.scp ark:output.ark\n"
    ),
    run=_run_append_post,
    groups=(AppendPostOptions,),
    nargs=(3, 3),
)
