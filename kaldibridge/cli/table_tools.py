"""Table tools: copy-feats, copy-matrix, copy-vector, copy-int-vector, feat-to-len,
feat-to-dim, select-feats, subset-feats, concat-feats, paste-feats, matrix-sum,
vector-sum, sum-matrices, extract-feature-segments, compare-feats.

Each tool mirrors the Kaldi binary of the same name (``src/featbin``, ``src/bin``):
same arguments, flags, log messages and exit statuses. The work is done by
:mod:`kaldibridge.kaldi.table` and numpy.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaldibridge.cli.common import (
    printable_rx,
    printable_wx,
    open_random,
    open_sequential,
    open_writer,
    read_integer_vector,
    read_single,
    write_integer_vector,
    write_single,
)
from kaldibridge.cli.framework import Tool, ToolContext
from kaldibridge.errors import KaldiFatalError
from kaldibridge.kaldi.options import OptionGroup, option
from kaldibridge.kaldi.table import is_rspecifier, is_wspecifier


def _binary_option(help_text: str = "Write single objects in binary form (tables follow their wspecifier).") -> Any:
    return option(True, help_text)


def _float32(value: float) -> float:
    """Round to float32, as a BaseFloat option holds its value in Kaldi."""
    return float(np.float32(value))


def _cxx_g(x: float) -> str:
    """A double as a C++ ``ostream`` prints it by default (``%g``; NaN keeps its sign)."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return f"{x:g}"


# -- copy-feats ---------------------------------------------------------------------

@dataclass(frozen=True)
class CopyFeatsOptions(OptionGroup):
    binary: bool = _binary_option()
    htk_in: bool = option(False, "Input holds HTK-format matrices (header, big-endian data).")
    sphinx_in: bool = option(False, "Input holds Sphinx-format features (int32 count then big-endian floats).")
    compress: bool = option(False, "Write compressed matrices (tables only).")
    compression_method: int = option(1, "Compression method 1..7 (see kaldibridge.kaldi.table.compress), with --compress.")
    write_num_frames: str = option("", "Also write each utterance's frame count to this wspecifier, e.g. ark,t:utt2num_frames.")


def _copy_feats(ctx: ToolContext) -> int:
    o: CopyFeatsOptions = ctx.opts(CopyFeatsOptions)
    src, dst = ctx.args
    # Kaldi checks the method only when it compresses a non-empty matrix.
    bad_method = o.compress and not 1 <= o.compression_method <= 7
    if is_rspecifier(src):
        if o.htk_in:
            holder: Any = "htk_matrix"
        elif o.sphinx_in:
            holder = "sphinx_matrix"
        else:
            holder = "matrix"
        if o.compress:
            writer = open_writer(dst, "compressed_matrix", method=1 if bad_method else o.compression_method)
        else:
            writer = open_writer(dst, "matrix")
        num_frames = open_writer(o.write_num_frames, "int") if o.write_num_frames else None
        done = 0
        try:
            with open_sequential(src, holder) as reader:
                for key, value in reader:
                    mat = value[0] if o.htk_in else value
                    if bad_method and mat.shape[0] > 0:
                        raise KaldiFatalError(f"Unknown compression method = {o.compression_method}")
                    writer.write(key, mat)
                    if num_frames is not None:
                        num_frames.write(key, int(mat.shape[0]))
                    done += 1
        finally:
            writer.close()
            if num_frames is not None:
                num_frames.close()
        ctx.log.info(f"Copied {done} feature matrices.")
        return 0 if done else 1
    if o.compress:
        raise KaldiFatalError("Compression is only supported when writing tables (archives or scripts)")
    if o.write_num_frames:
        raise KaldiFatalError("--write-num-frames option not supported when writing/reading single files.")
    if o.sphinx_in:
        raise KaldiFatalError("For single files, sphinx input is not yet supported.")
    mat = read_single(src, "htk_matrix" if o.htk_in else "matrix")
    if o.htk_in:
        mat = mat[0]
    write_single(dst, mat, "matrix", binary=o.binary)
    ctx.log.info(f"Copied features from {printable_rx(src)} to {printable_wx(dst)}")
    return 0


copy_feats = Tool(
    "copy-feats",
    "Copy feature matrices, optionally changing their format (text/binary, compressed).\n"
    "Usage: copy-feats [options] <feature-rspecifier> <feature-wspecifier>\n"
    "  or:  copy-feats [options] <feats-rxfilename> <feats-wxfilename>\n"
    "e.g.: copy-feats ark:- ark,scp:foo.ark,foo.scp",
    _copy_feats,
    groups=(CopyFeatsOptions,),
    nargs=(2, 2),
)


# -- copy-matrix --------------------------------------------------------------------

@dataclass(frozen=True)
class CopyMatrixOptions(OptionGroup):
    binary: bool = _binary_option()
    scale: float = option(1.0, "Multiply every element by this factor.")
    apply_log: bool = option(False, "Take the natural log of each element (after flooring at 1e-20).")
    apply_exp: bool = option(False, "Exponentiate each element.")
    apply_power: float = option(1.0, "Raise each element to this power.")
    apply_softmax_per_row: bool = option(False, "Replace each row by its softmax.")


def _transform_matrix(mat: np.ndarray, o: CopyMatrixOptions) -> np.ndarray:
    mat = np.array(mat, dtype=np.float32, copy=True)
    if o.scale != 1.0:
        mat *= np.float32(o.scale)
    if o.apply_log:
        np.maximum(mat, np.float32(1e-20), out=mat)
        np.log(mat, out=mat)
    if o.apply_exp:
        np.exp(mat, out=mat)
    if o.apply_softmax_per_row and mat.size:
        mx = mat.max(axis=1, keepdims=True)
        e = np.exp(mat - mx)
        mat = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    if _float32(o.apply_power) != 1.0:
        # Kaldi's MatrixBase::Pow: a plain pow() per element, no checks (a negative base
        # with a non-integer power gives NaN, zero to a negative power gives inf).
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            mat = np.power(mat, np.float32(o.apply_power)).astype(np.float32, copy=False)
    return mat


def _copy_matrix(ctx: ToolContext) -> int:
    o: CopyMatrixOptions = ctx.opts(CopyMatrixOptions)
    if sum((o.apply_log, o.apply_exp, o.apply_softmax_per_row)) > 1:
        raise KaldiFatalError("Only one of apply-log, apply-exp and apply-softmax-per-row can be given")
    src, dst = ctx.args
    if is_rspecifier(src) != is_wspecifier(dst):
        raise KaldiFatalError("Cannot mix archives with regular files (copying matrices)")
    modify = o.scale != 1.0 or o.apply_log or o.apply_exp or o.apply_power != 1.0 or o.apply_softmax_per_row
    if not is_rspecifier(src):
        mat = read_single(src, "matrix")
        write_single(dst, _transform_matrix(mat, o) if modify else mat, "matrix", binary=o.binary)
        ctx.log.info(f"Copied matrix to {dst}")
        return 0
    done = 0
    with open_sequential(src, "matrix") as reader, open_writer(dst, "matrix") as writer:
        for key, mat in reader:
            writer.write(key, _transform_matrix(mat, o) if modify else mat)
            done += 1
    ctx.log.info(f"Copied {done} matrices.")
    return 0 if done else 1


copy_matrix = Tool(
    "copy-matrix",
    "Copy matrices or archives of matrices, optionally scaling or transforming them.\n"
    "Usage: copy-matrix [options] <matrix-in-rspecifier> <matrix-out-wspecifier>\n"
    "  or:  copy-matrix [options] <matrix-in-rxfilename> <matrix-out-wxfilename>",
    _copy_matrix,
    groups=(CopyMatrixOptions,),
    nargs=(2, 2),
)


# -- copy-vector / copy-int-vector --------------------------------------------------

@dataclass(frozen=True)
class CopyVectorOptions(OptionGroup):
    binary: bool = _binary_option()
    change_dim: int = option(-1, "If >= 0, truncate or zero-pad every vector to this dimension.", flag="change_dim")
    scale: float = option(1.0, "Multiply every element by this factor.")


def _resize(vec: np.ndarray, dim: int) -> np.ndarray:
    out = np.zeros(dim, dtype=np.float32)
    n = min(dim, vec.shape[0])
    out[:n] = vec[:n]
    return out


def _copy_vector(ctx: ToolContext) -> int:
    o: CopyVectorOptions = ctx.opts(CopyVectorOptions)
    src, dst = ctx.args
    if is_rspecifier(src) != is_wspecifier(dst):
        raise KaldiFatalError("Cannot mix archives with regular files (copying vectors)")
    if not is_rspecifier(src):
        vec = read_single(src, "vector")
        if o.change_dim >= 0:
            vec = _resize(vec, o.change_dim)
        write_single(dst, vec, "vector", binary=o.binary)
        ctx.log.info(f"Copied vector to {dst}")
        return 0
    done = 0
    plain = o.change_dim < 0 and o.scale == 1.0
    with open_sequential(src, "vector") as reader, open_writer(dst, "vector") as writer:
        for key, vec in reader:
            if not plain:
                if o.change_dim >= 0:
                    vec = _resize(vec, o.change_dim)
                if o.scale != 1.0:
                    vec = (vec * np.float32(o.scale)).astype(np.float32)
            writer.write(key, vec)
            done += 1
    if plain:
        ctx.log.info(f"Copied {done} vectors.")
    else:
        ctx.log.info(f"Copied {done} vectors, setting dim to {o.change_dim} scaled by {_g(o.scale)}")
    return 0 if done else 1


copy_vector = Tool(
    "copy-vector",
    "Copy vectors or archives of vectors, optionally resizing or scaling them.\n"
    "Usage: copy-vector [options] (<vector-in-rspecifier>|<vector-in-rxfilename>) "
    "(<vector-out-wspecifier>|<vector-out-wxfilename>)",
    _copy_vector,
    groups=(CopyVectorOptions,),
    nargs=(2, 2),
)


@dataclass(frozen=True)
class BinaryOnlyOptions(OptionGroup):
    binary: bool = _binary_option()


def _copy_int_vector(ctx: ToolContext) -> int:
    o: BinaryOnlyOptions = ctx.opts(BinaryOnlyOptions)
    src, dst = ctx.args
    if is_rspecifier(src) != is_wspecifier(dst):
        raise KaldiFatalError("Cannot mix archives with regular files (copying vectors)")
    if not is_rspecifier(src):
        # Single files use ReadIntegerVector/WriteIntegerVector, not the table holder's format.
        write_integer_vector(dst, read_integer_vector(src), binary=o.binary)
        ctx.log.info(f"Copied vector to {dst}")
        return 0
    done = 0
    with open_sequential(src, "int_vector") as reader, open_writer(dst, "int_vector") as writer:
        for key, vec in reader:
            writer.write(key, vec)
            done += 1
    ctx.log.info(f"Copied {done} vectors of int32.")
    return 0 if done else 1


copy_int_vector = Tool(
    "copy-int-vector",
    "Copy integer vectors (e.g. alignments) or archives of them.\n"
    "Usage: copy-int-vector [options] (vector-in-rspecifier|vector-in-rxfilename) "
    "(vector-out-wspecifier|vector-out-wxfilename)",
    _copy_int_vector,
    groups=(BinaryOnlyOptions,),
    nargs=(2, 2),
)


# -- feat-to-len / feat-to-dim ------------------------------------------------------

def _feat_to_len(ctx: ToolContext) -> int:
    if len(ctx.args) == 2:
        with open_sequential(ctx.args[0], "matrix") as reader, open_writer(ctx.args[1], "int") as writer:
            for key, mat in reader:
                writer.write(key, int(mat.shape[0]))
        return 0
    total = 0
    with open_sequential(ctx.args[0], "matrix") as reader:
        for _, mat in reader:
            total += int(mat.shape[0])
    sys.stdout.write(f"{total}\n")
    return 0


feat_to_len = Tool(
    "feat-to-len",
    "Write the number of frames of each utterance (with two arguments) or the total\n"
    "number of frames of an archive to stdout (with one).\n"
    "Usage: feat-to-len [options] <in-rspecifier> [<out-wspecifier>]",
    _feat_to_len,
    nargs=(1, 2),
)


def _feat_to_dim(ctx: ToolContext) -> int:
    src, dst = ctx.args
    with open_sequential(src, "matrix") as reader:
        if is_wspecifier(dst):
            with open_writer(dst, "int") as writer:
                for key, mat in reader:
                    writer.write(key, int(mat.shape[1]))
            return 0
        first = next(iter(reader), None)
        if first is None:
            raise KaldiFatalError("Could not read any features (empty archive?)")
        write_single(dst, f"{first[1].shape[1]}\n", "text")
    return 0


feat_to_dim = Tool(
    "feat-to-dim",
    "Write the feature dimension: of the first matrix to a file (wxfilename), or of\n"
    "every utterance to a table (wspecifier).\n"
    "Usage: feat-to-dim [options] <feat-rspecifier> (<dim-wspecifier>|<dim-wxfilename>)",
    _feat_to_dim,
    nargs=(2, 2),
)


# -- select-feats / subset-feats ------------------------------------------------------

def _leading_int(text: str) -> int:
    """What ``istringstream >> int`` reads from the start of ``text`` (0 if nothing,
    INT32_MAX/MIN on overflow)."""
    text = text.lstrip()
    end = 0
    if end < len(text) and text[end] in "+-":
        end += 1
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        value = int(text[:end])
    except ValueError:
        return 0
    return min(max(value, -(2**31)), 2**31 - 1)  # an overflowing read saturates


def parse_selection(selection: str, dim_in: int) -> list[int]:
    """Column indices selected by a select-feats selection like ``0,24-22,3-12``.

    Ranges ``a-b`` are inclusive and may run downwards. Kaldi reads the start of a range
    from the first ``len(token) - p - 1`` characters (``p`` = position of ``-``); this
    function does the same, so selections Kaldi misreads (a start with more digits than
    the end, e.g. ``100-5``) select what Kaldi selects.

    Raises:
        KaldiFatalError: an index outside ``[0, dim_in)`` or an empty selection.
    """
    columns: list[int] = []
    tokens = selection.split(",")
    if tokens and tokens[-1] == "":
        tokens = tokens[:-1]  # getline() yields no empty token after a trailing comma
    for token in tokens:
        p = token.find("-")
        if p >= 0:
            start = _leading_int(token[: max(len(token) - p - 1, 0)])
            end = _leading_int(token[p + 1 :])
            if start < 0 or start > dim_in - 1:
                raise KaldiFatalError(f"Invalid range start: {start}")
            if end < 0 or end > dim_in - 1:
                raise KaldiFatalError(f"Invalid range end: {end}")
            if start > end:
                columns.extend(range(start, end - 1, -1))
            else:
                columns.extend(range(start, end + 1))
        else:
            index = _leading_int(token)
            if index < 0 or index > dim_in - 1:
                raise KaldiFatalError(f"Invalid selection index: {index}")
            columns.append(index)
    if not columns:
        raise KaldiFatalError("No ranges or indices in selection string!")
    return columns


def _select_feats(ctx: ToolContext) -> int:
    selection, src, dst = ctx.args
    with open_sequential(src, "matrix") as reader:
        it = iter(reader)
        first = next(it, None)
        if first is None:
            ctx.log.warning("Empty archive provided.")
            return 0
        columns = np.asarray(parse_selection(selection, first[1].shape[1]), dtype=np.intp)
        with open_writer(dst, "matrix") as writer:
            key, mat = first
            while True:
                if mat.shape[1] <= columns.max():
                    raise KaldiFatalError(
                        f"Features for {key} have dimension {mat.shape[1]}, too small for the selection {selection}"
                    )
                writer.write(key, np.ascontiguousarray(mat[:, columns]))
                nxt = next(it, None)
                if nxt is None:
                    break
                key, mat = nxt
    return 0


select_feats = Tool(
    "select-feats",
    "Keep selected feature dimensions (like `cut -f`), e.g. 0,24-22,3-12.\n"
    "Usage: select-feats <selection> <in-rspecifier> <out-wspecifier>",
    _select_feats,
    nargs=(3, 3),
)


@dataclass(frozen=True)
class SubsetFeatsOptions(OptionGroup):
    n: int = option(10, "Copy the first n matrices (ignored with --include/--exclude).")
    include: str = option("", "File whose first column lists the utterances to copy.")
    exclude: str = option("", "File whose first column lists the utterances to leave out.")


def _read_key_list(rxfilename: str) -> set[str]:
    """First fields of the lines of a text file; an empty line is fatal, as in Kaldi."""
    text = read_single(rxfilename, "text")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # getline() yields nothing after the final newline
    keys = set()
    for number, line in enumerate(lines, 1):
        fields = line.replace("\t", " ").replace("\r", " ").split(" ")
        first = next((f for f in fields if f), None)
        if first is None:
            raise KaldiFatalError(f"Empty line encountered in {rxfilename} (line {number})")
        keys.add(first)
    return keys


def _subset_feats(ctx: ToolContext) -> int:
    o: SubsetFeatsOptions = ctx.opts(SubsetFeatsOptions)
    src, dst = ctx.args
    if o.n < 0:
        raise KaldiFatalError(f"Invalid option --n={o.n}: must be non-negative")
    with open_writer(dst, "matrix") as writer, open_sequential(src, "matrix") as reader:
        if o.include or o.exclude:
            if o.n != 10:
                which = "--include" if o.include else "--exclude"
                raise KaldiFatalError(f"Should not have both {which} and --n option!")
            if o.include and o.exclude:
                raise KaldiFatalError("should not have both --exclude and --include option!")
            keys = _read_key_list(o.include or o.exclude)
            keep_listed = bool(o.include)
            written = total = 0
            for key, mat in reader:
                total += 1
                if (key in keys) == keep_listed:
                    writer.write(key, mat)
                    written += 1
            ctx.log.info(f" Wrote {written} out of {total} utterances.")
            return 0 if written else 1
        if o.n == 0:
            raise KaldiFatalError("Invalid option --n=0. Should be at least 1")
        for k, (key, mat) in enumerate(reader):
            if k >= o.n:
                break
            writer.write(key, mat)
    return 0


subset_feats = Tool(
    "subset-feats",
    "Copy a subset of feature matrices: the first --n, or those listed with --include,\n"
    "or all but those listed with --exclude.\n"
    "Usage: subset-feats [options] <in-rspecifier> <out-wspecifier>",
    _subset_feats,
    groups=(SubsetFeatsOptions,),
    nargs=(2, 2),
)


# -- concat-feats / paste-feats -------------------------------------------------------

def _concat_feats(ctx: ToolContext) -> int:
    o: BinaryOnlyOptions = ctx.opts(BinaryOnlyOptions)
    mats = [read_single(rx, "matrix") for rx in ctx.args[:-1]]
    dims = {m.shape[1] for m in mats}
    if len(dims) > 1:
        raise KaldiFatalError(
            "Cannot concatenate matrices of different dimensions: " + ", ".join(str(m.shape[1]) for m in mats)
        )
    write_single(ctx.args[-1], np.concatenate(mats, axis=0), "matrix", binary=o.binary)
    return 0


concat_feats = Tool(
    "concat-feats",
    "Concatenate feature files along time (they must have the same dimension).\n"
    "Usage: concat-feats <in-rxfilename1> <in-rxfilename2> [<in-rxfilename3> ...] <out-wxfilename>",
    _concat_feats,
    groups=(BinaryOnlyOptions,),
    nargs=(3, None),
)


@dataclass(frozen=True)
class PasteFeatsOptions(OptionGroup):
    length_tolerance: int = option(
        0, "Paste inputs whose frame counts differ by at most this much, trimmed to the shortest; skip others."
    )
    binary: bool = _binary_option()


def paste_matrices(mats: list[np.ndarray], tolerance: int, utt: str, log: Any) -> np.ndarray | None:
    """Append matrices frame by frame (Kaldi's AppendFeats); None (with a warning) if the
    lengths differ by more than ``tolerance`` or one is empty."""
    lengths = [m.shape[0] for m in mats]
    lo, hi = min(lengths), max(lengths)
    if hi - lo > tolerance or lo == 0:
        log.emit("WARNING", f"Length mismatch {hi} vs. {lo}" + (f" for utt {utt}" if utt else "")
                 + f" exceeds tolerance {tolerance}", depth=1)
        return None
    if hi != lo:
        log.vlog(2, f"Length mismatch {hi} vs. {lo}" + (f" for utt {utt}" if utt else "") + f" within tolerance {tolerance}")
    return np.concatenate([m[:lo] for m in mats], axis=1).astype(np.float32, copy=False)


def _paste_feats(ctx: ToolContext) -> int:
    o: PasteFeatsOptions = ctx.opts(PasteFeatsOptions)
    inputs, dst = ctx.args[:-1], ctx.args[-1]
    if not is_rspecifier(inputs[0]):
        mats = [read_single(rx, "matrix") for rx in inputs]
        out = paste_matrices(mats, o.length_tolerance, "", ctx.log)
        if out is None:
            return 1
        write_single(dst, out, "matrix", binary=o.binary)
        ctx.log.info(f"Wrote appended features to {dst}")
        return 0
    done = errors = 0
    others = [open_random(rs, "matrix") for rs in inputs[1:]]
    try:
        with open_writer(dst, "matrix") as writer, open_sequential(inputs[0], "matrix") as first:
            for utt, mat in first:
                ctx.log.vlog(2, f"Merging features for utterance {utt}")
                mats = [mat]
                for rs, reader in zip(inputs[1:], others):
                    if utt not in reader:
                        ctx.log.warning(f"Missing utt {utt} from input {rs}")
                        break
                    mats.append(reader[utt])
                if len(mats) != len(inputs):
                    errors += 1
                    continue
                out = paste_matrices(mats, o.length_tolerance, utt, ctx.log)
                if out is None:
                    errors += 1
                    continue
                writer.write(utt, out)
                done += 1
    finally:
        for r in others:
            r.close()
    ctx.log.info(f"Done {done} utts, errors on {errors}")
    return 0 if done else 255


paste_feats = Tool(
    "paste-feats",
    "Paste feature files frame by frame (like the unix `paste`), appending the features of\n"
    "each frame; inputs should have about the same length (see --length-tolerance).\n"
    "Usage: paste-feats <in-rspecifier1> <in-rspecifier2> [<in-rspecifier3> ...] <out-wspecifier>\n"
    "  or:  paste-feats <in-rxfilename1> <in-rxfilename2> [<in-rxfilename3> ...] <out-wxfilename>",
    _paste_feats,
    groups=(PasteFeatsOptions,),
    nargs=(3, None),
)


# -- matrix-sum / vector-sum / sum-matrices -------------------------------------------

@dataclass(frozen=True)
class MatrixSumOptions(OptionGroup):
    scale1: float = option(1.0, "Scale of the first input table (first usage only).")
    scale2: float = option(1.0, "Scale of the second input table (first usage only).")
    binary: bool = _binary_option()
    average: bool = option(False, "Average instead of summing (first and third usages).")


def _g(x: float) -> str:
    return f"{x:g}"


def _table_sum(ctx: ToolContext, holder: str, noun: str, scales: tuple[float, float] | None, average: bool) -> int:
    """Kaldi's "type one usage" of matrix-sum / vector-sum: sum several tables key by key."""
    args = ctx.args
    first_rs, out_ws, other_rs = args[0], args[-1], args[1:-1]
    nsys = len(args) - 1
    if average:
        s1 = s_rest = s2 = _float32(1.0 / nsys)
    elif scales is not None:
        s1, s2, s_rest = _float32(scales[0]), _float32(scales[1]), 1.0
    else:
        s1 = s2 = s_rest = 1.0
    readers = [open_random(rs, holder) for rs in other_rs]
    n_utts = n_total = n_success = n_missing = 0
    kind = "matrix" if holder == "matrix" else "vector"
    try:
        with open_writer(out_ws, holder) as writer, open_sequential(first_rs, holder) as first:
            for key, value in first:
                n_utts += 1
                n_total += 1
                acc = np.array(value, dtype=np.float32, copy=True)
                if s1 != 1.0:
                    acc *= np.float32(s1)
                for i, (rs, reader) in enumerate(zip(other_rs, readers)):
                    if key not in reader:
                        ctx.log.warning(f"No {kind} found for utterance {key} for system {i + 2}, rspecifier: {rs}")
                        n_missing += 1
                        continue
                    other = reader[key]
                    n_total += 1
                    if other.shape != acc.shape:
                        if holder == "matrix":
                            ctx.log.warning(
                                f"Dimension mismatch for utterance {key} : {other.shape[0]} by {other.shape[1]} "
                                f"for system {i + 2}, rspecifier: {rs} vs {acc.shape[0]} by {acc.shape[1]} "
                                f"primary matrix, rspecifier:{first_rs}"
                            )
                        else:
                            ctx.log.warning(
                                f"Dimension mismatch for utterance {key} : {other.shape[0]} for system {i + 2}, "
                                f"rspecifier: {rs} vs {acc.shape[0]} primary vector, rspecifier:{first_rs}"
                            )
                        continue
                    scale = s2 if i == 0 else s_rest
                    acc += np.float32(scale) * other.astype(np.float32) if scale != 1.0 else other.astype(np.float32)
                writer.write(key, acc)
                n_success += 1
    finally:
        for r in readers:
            r.close()
    ctx.log.info(
        f"Processed {n_utts} utterances: with a total of {n_total} {noun} across {nsys} different systems"
    )
    ctx.log.info(f"Produced output for {n_success} utterances; {n_missing} total missing {noun}")
    return 0 if (n_success != 0 and n_missing < (n_success - n_missing)) else 1


def _sum_table_to_single(ctx: ToolContext, holder: str, binary: bool, average: bool) -> int:
    """Kaldi's "type two usage": sum every entry of one table into a single object."""
    total: np.ndarray | None = None
    done = errors = 0
    with open_sequential(ctx.args[0], holder) as reader:
        for key, value in reader:
            if value.size == 0 or value.shape[0] == 0:
                ctx.log.warning(f"Zero {'matrix' if holder == 'matrix' else 'vector'} input for key {key}")
                errors += 1
                continue
            if total is None:
                total = np.zeros(value.shape, dtype=np.float64)
            if total.shape != value.shape:
                if holder == "matrix":
                    ctx.log.warning(
                        f"Dimension mismatch for key {key}: {value.shape[0]} by {value.shape[1]} vs. "
                        f"{total.shape[0]} by {total.shape[1]}"
                    )
                else:
                    ctx.log.warning(f"Dimension mismatch for key {key}: {value.shape[0]} vs. {total.shape[0]}")
                errors += 1
                continue
            total += value
            done += 1
    if total is None:
        total = np.zeros((0, 0) if holder == "matrix" else (0,), dtype=np.float64)
    if average and done > 0:
        total /= done
    write_single(ctx.args[1], total.astype(np.float32), holder, binary=binary)
    noun = "matrices" if holder == "matrix" else "vectors"
    ctx.log.info(f"Summed {done} {noun}, {errors} with errors; wrote sum to {printable_wx(ctx.args[1])}")
    return 0 if (done > 0 and errors < done) else 1


def _sum_files(ctx: ToolContext, holder: str, binary: bool, average: bool) -> int:
    """Kaldi's "type three usage": sum single-object files.

    The sum grows to the largest shape seen so far (zero-padded); each input must then
    have exactly that shape, so an input smaller than an earlier one is fatal (Kaldi's
    AddMat/AddVec assertion).
    """
    for arg in ctx.args[:-1]:
        if is_rspecifier(arg):
            raise KaldiFatalError(
                "Wrong usage (type 3): if first and last arguments are not tables, "
                "the intermediate arguments must not be tables."
            )
    total = np.zeros((0, 0) if holder == "matrix" else (0,), dtype=np.float32)
    noun_one = "a matrix" if holder == "matrix" else "a vector"
    for rx in ctx.args[:-1]:
        value = read_single(rx, holder).astype(np.float32)
        shape = tuple(max(a, b) for a, b in zip(total.shape, value.shape))
        if shape != total.shape:
            grown = np.zeros(shape, dtype=np.float32)
            grown[tuple(slice(0, n) for n in total.shape)] = total
            total = grown
        if value.shape != total.shape:
            raise KaldiFatalError(
                f"Cannot add {noun_one} of size {_shape_text(value.shape)} from {rx} to the sum "
                f"of size {_shape_text(total.shape)} of the earlier inputs"
            )
        total += value
    if average:
        total *= np.float32(1.0 / (len(ctx.args) - 1))
    write_single(ctx.args[-1], total, holder, binary=binary)
    noun = "matrices" if holder == "matrix" else "vectors"
    ctx.log.info(f"Summed {len(ctx.args) - 1} {noun}; wrote sum to {printable_wx(ctx.args[-1])}")
    return 0


def _shape_text(shape: tuple[int, ...]) -> str:
    return " by ".join(str(n) for n in shape)


def _matrix_sum(ctx: ToolContext) -> int:
    o: MatrixSumOptions = ctx.opts(MatrixSumOptions)
    args = ctx.args
    if len(args) >= 2 and is_wspecifier(args[-1]):
        return _table_sum(ctx, "matrix", "matrices", (o.scale1, o.scale2), o.average)
    scaled = o.scale1 != 1.0 or o.scale2 != 1.0
    if scaled and (len(args) == 2 or not is_rspecifier(args[0])):
        raise KaldiFatalError("--scale1 and --scale2 apply only to the first usage (tables in, table out)")
    if len(args) == 2 and is_rspecifier(args[0]):
        if o.average:
            raise KaldiFatalError("--average option not compatible with type two usage.")
        return _sum_table_to_single(ctx, "matrix", o.binary, False)
    if len(args) >= 2 and not is_rspecifier(args[0]):
        return _sum_files(ctx, "matrix", o.binary, o.average)
    sys.stderr.write(ctx.tool.help_text())
    return 1


matrix_sum = Tool(
    "matrix-sum",
    "Add matrices: tables key by key (first usage, with --scale1/--scale2), all entries of\n"
    "one table into one matrix (second usage), or single matrix files (third usage).\n"
    "Usage: matrix-sum [options] <matrix-in-rspecifier1> [<matrix-in-rspecifier2> ...] <matrix-out-wspecifier>\n"
    "  or:  matrix-sum [options] <matrix-in-rspecifier> <matrix-out-wxfilename>\n"
    "  or:  matrix-sum [options] <matrix-in-rxfilename1> <matrix-in-rxfilename2> ... <matrix-out-wxfilename>",
    _matrix_sum,
    groups=(MatrixSumOptions,),
    nargs=(2, None),
)


@dataclass(frozen=True)
class VectorSumOptions(OptionGroup):
    # Kaldi leaves vector-sum's `binary` uninitialized; its --help shows false, so that is
    # the default here (it only matters for single-file output).
    binary: bool = option(False, "Write single objects in binary form (tables follow their wspecifier).")
    average: bool = option(False, "Average instead of summing.")


def _vector_sum(ctx: ToolContext) -> int:
    o: VectorSumOptions = ctx.opts(VectorSumOptions)
    args = ctx.args
    if len(args) >= 2 and is_wspecifier(args[-1]):
        return _table_sum(ctx, "vector", "vectors", None, False)
    if len(args) == 2 and is_rspecifier(args[0]):
        return _sum_table_to_single(ctx, "vector", o.binary, o.average)
    if len(args) >= 2 and not is_rspecifier(args[0]):
        return _sum_files(ctx, "vector", o.binary, False)
    sys.stderr.write(ctx.tool.help_text())
    return 1


vector_sum = Tool(
    "vector-sum",
    "Add vectors: tables key by key, all entries of one table into one vector, or single\n"
    "vector files.\n"
    "Usage: vector-sum [options] <vector-in-rspecifier1> [<vector-in-rspecifier2> ...] <vector-out-wspecifier>\n"
    "  or:  vector-sum [options] <vector-in-rspecifier> <vector-out-wxfilename>\n"
    "  or:  vector-sum [options] <vector-in-rxfilename1> <vector-in-rxfilename2> ... <vector-out-wxfilename>",
    _vector_sum,
    groups=(VectorSumOptions,),
    nargs=(2, None),
)


def _sum_matrices(ctx: ToolContext) -> int:
    o: BinaryOnlyOptions = ctx.opts(BinaryOnlyOptions)
    # Kaldi reads each input with Matrix::Read(..., add=true): an empty sum takes the
    # shape of the next input, an empty input is skipped, other size mismatches are fatal.
    total = np.zeros((0, 0), dtype=np.float32)
    for rx in ctx.args[1:]:
        mat = read_single(rx, "matrix")
        if total.shape[0] == 0:
            total = np.array(mat, dtype=np.float32, copy=True)
        elif total.shape != mat.shape:
            if mat.shape[0] == 0:
                continue
            raise KaldiFatalError(
                f"Matrix::Read, size mismatch {total.shape[0]}, {total.shape[1]} vs. "
                f"{mat.shape[0]}, {mat.shape[1]} (reading {rx})"
            )
        else:
            total += mat
    write_single(ctx.args[0], total, "matrix", binary=o.binary)
    ctx.log.info(f"Summed {len(ctx.args) - 1} matrices  of dimension {total.shape[0]} by {total.shape[1]}")
    return 0


sum_matrices = Tool(
    "sum-matrices",
    "Sum single matrix files (of equal size) into one.\n"
    "Usage: sum-matrices [options] <mat-out> <mat-in1> [<mat-in2> ...]",
    _sum_matrices,
    groups=(BinaryOnlyOptions,),
    nargs=(2, None),
)


# -- extract-feature-segments -------------------------------------------------------

@dataclass(frozen=True)
class ExtractFeatureSegmentsOptions(OptionGroup):
    min_segment_length: float = option(0.1, "Skip segments shorter than this (seconds).")
    frame_length: int = option(25, "Frame length of the features (milliseconds).")
    frame_shift: int = option(10, "Frame shift of the features (milliseconds).")
    max_overshoot: float = option(0.0, "Truncate segments ending at most this far (seconds) past the features; skip others.")
    snip_edges: bool = option(True, "The features were computed with --snip-edges=true (frames fully inside the audio).")


_INT32_MIN = -(2**31)


def _c_int32(x: float) -> int:
    """``static_cast<int32>(x)``: truncation; NaN and values outside int32 become
    INT32_MIN, as the x86 conversion does."""
    if not math.isfinite(x):
        return _INT32_MIN
    r = math.trunc(x)
    return r if _INT32_MIN <= r < 2**31 else _INT32_MIN


def _kaldi_round(x: float) -> int:
    """``static_cast<int32>(round(x))``: halves away from zero."""
    if not math.isfinite(x):
        return _INT32_MIN
    whole = math.floor(abs(x))
    r = whole + (1 if abs(x) - whole >= 0.5 else 0)  # exact: no rounding in x + 0.5
    return _c_int32(r if x >= 0 else -r)


def _c_div(a: float, b: float) -> float:
    """Double division as in C: by zero gives inf or NaN instead of raising."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _wrap_int32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def _parse_real(text: str) -> float | None:
    """Kaldi's ConvertStringToReal: a whole token that is a number, inf or nan."""
    if "_" in text:
        return None  # Python's float() accepts digit separators; C++ streams do not
    try:
        return float(text)
    except ValueError:
        return None


def _parse_channel(text: str) -> int | None:
    """Kaldi's ConvertStringToInteger for an int32 (strtoll, whole token)."""
    if "_" in text:
        return None
    try:
        value = int(text, 10)
    except ValueError:
        return None
    return value if -(2**31) <= value < 2**31 else None


def _extract_feature_segments(ctx: ToolContext) -> int:
    o: ExtractFeatureSegmentsOptions = ctx.opts(ExtractFeatureSegmentsOptions)
    src, segments_rx, dst = ctx.args
    shift = o.frame_shift
    snip = _c_div(o.frame_length - shift, shift)
    snip_length = _c_int32(math.ceil(snip) if math.isfinite(snip) else snip) if o.snip_edges else 0
    num_lines = num_success = 0
    lines = read_single(segments_rx, "text").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    with open_writer(dst, "matrix") as writer, open_random(src, "matrix") as feats:
        for line in lines:
            num_lines += 1
            fields = [f for f in line.replace("\t", " ").replace("\r", " ").split(" ") if f]
            if len(fields) not in (4, 5):
                ctx.log.warning(f"Invalid line in segments file: {line}")
                continue
            segment, utterance, start_s, end_s = fields[:4]
            start, end = _parse_real(start_s), _parse_real(end_s)
            if start is None:
                ctx.log.warning(f"Invalid line in segments file [bad start]: {line}")
                continue
            if end is None:
                ctx.log.warning(f"Invalid line in segments file [bad end]: {line}")
                continue
            if start < 0 or end <= 0 or start >= end:
                ctx.log.warning(f"Invalid line in segments file [empty or invalid segment]: {line}")
                continue
            if len(fields) == 5:
                channel = _parse_channel(fields[4])
                if channel is None or channel < 0:
                    ctx.log.warning(f"Invalid line in segments file [bad channel]: {line}")
                    continue
            if utterance not in feats:
                ctx.log.warning(f"Did not find features for utterance {utterance}, skipping segment {segment}")
                continue
            mat = feats[utterance]
            num_rows, num_cols = mat.shape
            first = _kaldi_round(_c_div(start * 1000.0, shift))
            last = _wrap_int32(_kaldi_round(_c_div(end * 1000.0, shift)) - snip_length)
            if first < 0 or first >= num_rows:
                ctx.log.warning(
                    f"Start sample out of range {first} [length:] {num_rows}x{num_cols}, skipping segment {segment}"
                )
                continue
            if last > num_rows:
                if last >= num_rows + _kaldi_round(_c_div(_float32(o.max_overshoot) * 1000.0, shift)):
                    ctx.log.warning(
                        f"End sample too far out of range {last} [length:] {num_rows}x{num_cols}, "
                        f"skipping segment {segment}"
                    )
                    continue
                last = num_rows
            if last <= first + _kaldi_round(_c_div(_float32(o.min_segment_length) * 1000.0, shift)):
                ctx.log.warning(f"Segment {segment} too short, skipping it.")
                continue
            writer.write(segment, np.ascontiguousarray(mat[first:last]))
            num_success += 1
    ctx.log.info(f"Successfully processed {num_success} lines out of {num_lines} in the segments file. ")
    return 0 if num_success else 255


extract_feature_segments = Tool(
    "extract-feature-segments",
    "Cut segments out of feature matrices, as given by a Kaldi segments file\n"
    "(segment-id utterance-id start-seconds end-seconds [channel]).\n"
    "Usage: extract-feature-segments [options] <feats-rspecifier> <segments-rxfilename> <feats-wspecifier>",
    _extract_feature_segments,
    groups=(ExtractFeatureSegmentsOptions,),
    nargs=(3, 3),
)


# -- compare-feats ------------------------------------------------------------------

@dataclass(frozen=True)
class CompareFeatsOptions(OptionGroup):
    threshold: float = option(0.99, "Exit with status 0 only if the overall similarity is at least this.")


def _kaldi_vector_text(v: np.ndarray) -> str:
    """A vector as ``os << Vector`` writes it into a log message: `` [ a b ]`` + newline."""
    return " [ " + "".join(_cxx_g(float(x)) + " " for x in v) + "]\n"


def _compare_feats(ctx: ToolContext) -> int:
    o: CompareFeatsOptions = ctx.opts(CompareFeatsOptions)
    rs1, rs2 = ctx.args
    done = errors = 0
    prod1 = prod2 = cross = None
    with open_sequential(rs1, "matrix") as first, open_random(rs2, "matrix") as second:
        for utt, a in first:
            if utt not in second:
                ctx.log.warning(f"Second table has no feature for utterance {utt}")
                errors += 1
                continue
            b = second[utt]
            if a.shape[1] != b.shape[1]:
                ctx.log.warning(
                    f"Feature dimensions differ for utterance {utt}, {a.shape[1]} vs. {b.shape[1]}, "
                    f"skipping  utterance.{utt}"
                )
                errors += 1
                continue
            if a.shape[0] != b.shape[0]:
                raise KaldiFatalError(f"Frame counts differ for utterance {utt}: {a.shape[0]} vs. {b.shape[0]}")
            if prod1 is None:
                dim = a.shape[1]
                prod1, prod2, cross = np.zeros(dim), np.zeros(dim), np.zeros(dim)
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            prod1 += np.einsum("ij,ij->j", a64, a64)
            prod2 += np.einsum("ij,ij->j", b64, b64)
            cross += np.einsum("ij,ij->j", a64, b64)
            done += 1
    if prod1 is None:
        prod1 = prod2 = cross = np.zeros(0)
    ctx.log.info("self-product of 1st features for each column dimension: " + _kaldi_vector_text(prod1))
    ctx.log.info("self-product of 2nd features for each column dimension: " + _kaldi_vector_text(prod2))
    ctx.log.info("cross-product for each column dimension: " + _kaldi_vector_text(cross))
    denom = prod1 + prod2
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = 2.0 * cross / denom  # Kaldi divides as is: 0/0 gives NaN
    ctx.log.info(
        "Similarity metric for each dimension " + _kaldi_vector_text(similarity)
        + " (1.0 means identical, the smaller the more different)"
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = float(np.float64(similarity.sum()) / np.float64(similarity.size))
    ctx.log.info(
        f"Overall similarity for the two feats is:{_cxx_g(overall)} "
        "(1.0 means identical, the smaller the more different)"
    )
    ctx.log.info(f"Processed {done} feature files, {errors} had errors.")
    threshold = _float32(o.threshold)
    similar = overall >= threshold
    if done > 0:
        if similar:
            ctx.log.info(f"Features are considered similar since {_cxx_g(overall)} >= {_g(threshold)}")
        else:
            ctx.log.info(f"Features are considered dissimilar since {_cxx_g(overall)} < {_g(threshold)}")
    return 0 if (done > 0 and similar) else 1


compare_feats = Tool(
    "compare-feats",
    "Compare two feature tables dimension by dimension with a normalized cross-product\n"
    "similarity (1.0 means identical); exit status 0 if at least --threshold.\n"
    "Usage: compare-feats [options] <in-rspecifier1> <in-rspecifier2>",
    _compare_feats,
    groups=(CompareFeatsOptions,),
    nargs=(2, 2),
)
