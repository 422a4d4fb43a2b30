"""Every command-line tool kaldibridge provides, by Kaldi name.

``TOOLS`` maps the tool name to ``"module:attribute"`` of its :class:`~kaldibridge.cli.framework.Tool`.
The ``[project.scripts]`` table of ``pyproject.toml`` must list the same tools (a test checks it),
so each is installed as a console script with Kaldi's exact name. Modules are imported only
when their tool runs, which keeps start-up fast.
"""

from __future__ import annotations

import importlib

from kaldibridge.cli.framework import Tool

__all__ = ["TOOLS", "load_tool"]

TOOLS: dict[str, str] = {
    # kaldibridge:tools-begin  (one line per tool, sorted; keep pyproject.toml in sync)
    "add-deltas": "kaldibridge.cli.feat_ops:ADD_DELTAS",
    "add-deltas-sdc": "kaldibridge.cli.feat_ops:ADD_DELTAS_SDC",
    "append-post-to-feats": "kaldibridge.cli.feat_ops:APPEND_POST_TO_FEATS",
    "append-vector-to-feats": "kaldibridge.cli.feat_ops:APPEND_VECTOR_TO_FEATS",
    "apply-cmvn": "kaldibridge.cli.cmvn:APPLY_CMVN",
    "apply-cmvn-sliding": "kaldibridge.cli.cmvn:APPLY_CMVN_SLIDING",
    "compare-feats": "kaldibridge.cli.table_tools:compare_feats",
    "compute-and-process-kaldi-pitch-feats": "kaldibridge.cli.pitch:COMPUTE_AND_PROCESS_KALDI_PITCH_FEATS",
    "compute-cmvn-stats": "kaldibridge.cli.cmvn:COMPUTE_CMVN_STATS",
    "compute-cmvn-stats-two-channel": "kaldibridge.cli.cmvn:COMPUTE_CMVN_STATS_TWO_CHANNEL",
    "compute-fbank-feats": "kaldibridge.cli.feats:COMPUTE_FBANK_FEATS",
    "compute-kaldi-pitch-feats": "kaldibridge.cli.pitch:COMPUTE_KALDI_PITCH_FEATS",
    "compute-mfcc-feats": "kaldibridge.cli.feats:COMPUTE_MFCC_FEATS",
    "compute-plp-feats": "kaldibridge.cli.feats:COMPUTE_PLP_FEATS",
    "compute-spectrogram-feats": "kaldibridge.cli.feats:COMPUTE_SPECTROGRAM_FEATS",
    "compute-vad": "kaldibridge.cli.vad:COMPUTE_VAD",
    "concat-feats": "kaldibridge.cli.table_tools:concat_feats",
    "copy-feats": "kaldibridge.cli.table_tools:copy_feats",
    "copy-int-vector": "kaldibridge.cli.table_tools:copy_int_vector",
    "copy-matrix": "kaldibridge.cli.table_tools:copy_matrix",
    "copy-vector": "kaldibridge.cli.table_tools:copy_vector",
    "extract-feature-segments": "kaldibridge.cli.table_tools:extract_feature_segments",
    "extract-segments": "kaldibridge.cli.wav_tools:EXTRACT_SEGMENTS",
    "feat-to-dim": "kaldibridge.cli.table_tools:feat_to_dim",
    "feat-to-len": "kaldibridge.cli.table_tools:feat_to_len",
    "interpolate-pitch": "kaldibridge.cli.pitch:INTERPOLATE_PITCH",
    "matrix-sum": "kaldibridge.cli.table_tools:matrix_sum",
    "modify-cmvn-stats": "kaldibridge.cli.cmvn:MODIFY_CMVN_STATS",
    "paste-feats": "kaldibridge.cli.table_tools:paste_feats",
    "post-to-feats": "kaldibridge.cli.feat_ops:POST_TO_FEATS",
    "process-kaldi-pitch-feats": "kaldibridge.cli.pitch:PROCESS_KALDI_PITCH_FEATS",
    "select-feats": "kaldibridge.cli.table_tools:select_feats",
    "select-voiced-frames": "kaldibridge.cli.vad:SELECT_VOICED_FRAMES",
    "shift-feats": "kaldibridge.cli.feat_ops:SHIFT_FEATS",
    "splice-feats": "kaldibridge.cli.feat_ops:SPLICE_FEATS",
    "subsample-feats": "kaldibridge.cli.feat_ops:SUBSAMPLE_FEATS",
    "subset-feats": "kaldibridge.cli.table_tools:subset_feats",
    "sum-matrices": "kaldibridge.cli.table_tools:sum_matrices",
    "vector-sum": "kaldibridge.cli.table_tools:vector_sum",
    "wav-copy": "kaldibridge.cli.wav_tools:WAV_COPY",
    "wav-reverberate": "kaldibridge.cli.wav_tools:WAV_REVERBERATE",
    "wav-to-duration": "kaldibridge.cli.wav_tools:WAV_TO_DURATION",
    # kaldibridge:tools-end
}


def load_tool(name: str) -> Tool:
    """Import and return the :class:`Tool` registered as ``name``.

    Raises:
        KeyError: no such tool.
    """
    target = TOOLS[name]
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    tool = getattr(module, attr)
    if not isinstance(tool, Tool):
        raise TypeError(f"{target} is not a kaldibridge Tool")
    return tool
