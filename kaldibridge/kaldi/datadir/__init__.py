"""Kaldi data directories: read, validate, fix, subset, split, combine, copy, perturb.

Two layers:

* Script-exact operations (same output bytes, messages and exit status as Kaldi's
  ``egs/wsj/s5/utils`` scripts): :func:`validate`, :func:`fix`, :func:`subset`,
  :func:`split`, :func:`combine`, :func:`copy`, :func:`perturb_speed`,
  :func:`perturb_speed_3way`, :func:`get_utt2dur`, :func:`get_reco2dur`,
  :func:`get_utt2num_frames`, and the perl helpers :func:`filter_scp`,
  :func:`utt2spk_to_spk2utt`, :func:`spk2utt_to_utt2spk`. They work on directories
  (paths as strings: they appear in messages as given) and return the script's exit
  status; messages go to a :class:`Console` (default: the ``kaldibridge.datadir`` logger).
* :class:`DataDir`: the directory as tables in memory (every file, unknown ones kept),
  a pandas view, and a :class:`KaldiDataset` for ``torch.utils.data``.

Sort order everywhere is Kaldi's ``LC_ALL=C`` byte order.
"""

from kaldibridge.kaldi.datadir._base import (
    Console,
    DataDirError,
    filter_scp,
    spk2utt_to_utt2spk,
    utt2spk_to_spk2utt,
)
from kaldibridge.kaldi.datadir.durations import (
    feat_lengths,
    get_reco2dur,
    get_utt2dur,
    get_utt2num_frames,
    wav_duration,
    wav_durations,
)
from kaldibridge.kaldi.datadir.fix import fix
from kaldibridge.kaldi.datadir.ops import combine, copy, split, split_scp_per_line, split_scp_per_speaker, subset
from kaldibridge.kaldi.datadir.perturb import perturb_speed, perturb_speed_3way
from kaldibridge.kaldi.datadir.table import DataDir, Segment, c_sorted
from kaldibridge.kaldi.datadir.validate import validate

# torch-dependent names, loaded on first use (importing the package stays free of torch)
_LAZY = {
    "KaldiDataset": "kaldibridge.kaldi.datadir.dataset",
    "collate_padded": "kaldibridge.kaldi.datadir.dataset",
    "BucketBatchSampler": "kaldibridge.kaldi.datadir.dataset",
    "read_wav_entry": "kaldibridge.kaldi.datadir.dataset",
    "extract_segment": "kaldibridge.kaldi.datadir.dataset",
}


def __getattr__(name: str):  # PEP 562
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "DataDir",
    "Segment",
    "c_sorted",
    "KaldiDataset",
    "collate_padded",
    "BucketBatchSampler",
    "read_wav_entry",
    "extract_segment",
    "Console",
    "DataDirError",
    "filter_scp",
    "utt2spk_to_spk2utt",
    "spk2utt_to_utt2spk",
    "validate",
    "fix",
    "subset",
    "split",
    "split_scp_per_speaker",
    "split_scp_per_line",
    "combine",
    "copy",
    "perturb_speed",
    "perturb_speed_3way",
    "get_utt2dur",
    "get_reco2dur",
    "get_utt2num_frames",
    "wav_duration",
    "wav_durations",
    "feat_lengths",
]
