"""A Kaldi data directory as a ``torch.utils.data.Dataset``.

:class:`KaldiDataset` yields one dict per utterance: ``utt``, ``speaker``, ``text``,
``duration`` and either ``waveform`` (wav.scp entries read as Kaldi reads them, pipes
run, segments cut exactly as ``extract-segments`` cuts them) or ``features``
(feats.scp, optionally with the speaker's CMVN from cmvn.scp, or computed on the fly).

It holds only strings and numbers, so it pickles into ``DataLoader`` workers; every
file, archive and pipe is opened by the worker that reads the item. Pipes respect
the table I/O switch (``allow_pipes=False`` or ``KALDIBRIDGE_NO_PIPES=1``).

Also here: :func:`collate_padded` (pads to the batch's longest and returns lengths) and
:class:`BucketBatchSampler` (batches of similar durations).

Example::

    ds = KaldiDataset("data/train")                  # waveforms in [-1, 1]
    dl = DataLoader(ds, batch_sampler=BucketBatchSampler(ds.durations, max_seconds=60),
                    collate_fn=collate_padded, num_workers=2)
    for batch in dl:
        batch["waveform"], batch["waveform_lengths"]   # (batch, max_samples), (batch,)
"""

from __future__ import annotations

import io
import logging
import os
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from kaldibridge.errors import FormatError, KaldiIOError
from kaldibridge.kaldi.datadir.table import DataDir, Segment

__all__ = ["KaldiDataset", "collate_padded", "BucketBatchSampler", "read_wav_entry", "extract_segment"]

logger = logging.getLogger("kaldibridge.datadir")

FeatureFn = Callable[[torch.Tensor, float], torch.Tensor]


def read_wav_entry(rxfilename: str, *, allow_pipes: bool | None = None) -> tuple[np.ndarray, float]:
    """Reads one wav.scp entry (file, ``"cmd |"`` pipe or ``"archive:OFFSET"``).

    Args:
        rxfilename: the wav.scp value.
        allow_pipes: ``False`` refuses pipes (default: allowed unless KALDIBRIDGE_NO_PIPES).

    Returns:
        ``(samples, rate)``: float32 ``(channels, samples)`` in int16 scale (Kaldi's
        ``WaveData``), rate in Hz.

    Raises:
        PipesRefusedError: a pipe while pipes are refused. KaldiIOError / AudioFormatError:
        unreadable audio.
    """
    import soundfile

    from kaldibridge.kaldi.table import open_rx
    from kaldibridge.kaldi.table.specifiers import classify_rxfilename

    kind = classify_rxfilename(rxfilename)
    if kind in ("file", "pipe"):
        try:
            if kind == "file":
                data, rate = soundfile.read(rxfilename, dtype="float32", always_2d=True)
            else:
                with open_rx(rxfilename, allow_pipes=allow_pipes) as stream:
                    blob = stream.read()
                data, rate = soundfile.read(io.BytesIO(blob), dtype="float32", always_2d=True)
            return np.ascontiguousarray(data.T * np.float32(32768.0)), float(rate)
        except (RuntimeError, soundfile.LibsndfileError) as e:
            logger.debug("libsndfile cannot read %s (%s); trying Kaldi's wave reader", rxfilename, e)
    from kaldibridge.kaldi.table import read_object

    wave = read_object(rxfilename, "wave", allow_pipes=allow_pipes)
    return np.asarray(wave.data, dtype=np.float32), float(wave.samp_freq)


def extract_segment(
    samples: np.ndarray,
    samp_freq: float,
    segment: Segment,
    *,
    min_segment_length: float = 0.1,
    max_overshoot: float = 0.5,
) -> np.ndarray | None:
    """Cuts one segment as Kaldi's ``extract-segments`` does.

    Args:
        samples: ``(channels, samples)`` of the recording.
        samp_freq: its rate in Hz.
        segment: start/end in seconds (end -1: to the end), optional channel.
        min_segment_length: shorter segments are rejected (seconds).
        max_overshoot: an end beyond the recording by less than this is truncated,
            by more it is rejected (seconds).

    Returns:
        ``(samples,)`` of the chosen channel, or None when extract-segments skips the
        segment (a warning names the reason, in Kaldi's words).

    Raises:
        FormatError: several channels and no channel column (Kaldi's fatal error).

    Kaldi: ``extract-segments`` (sample indices ``int(t * rate + 0.5)``).
    """
    start, end, channel = float(segment.start), float(segment.end), segment.channel
    if start < 0 or (end != -1.0 and end <= 0) or (start >= end and end > 0):
        logger.warning("Invalid line in segments file [empty or invalid segment]: %s", segment)
        return None
    num_chan, num_samp = samples.shape
    f32 = np.float32
    file_length = float(f32(num_samp) / f32(samp_freq))
    if start > file_length:
        logger.warning("Segment start is out of file data range [0, %gs]; skipping segment %s", file_length, segment)
        return None
    if end > file_length + float(f32(max_overshoot)):
        logger.warning("Segment end is too far out of file data range [0,%gs]; skipping segment %s",
                       file_length, segment)
        return None
    if end < 0 or end > file_length:
        end = file_length
    if end - start < float(f32(min_segment_length)):
        logger.warning("Segment %s too short, skipping it.", segment)
        return None
    if channel is None:
        if num_chan != 1:
            raise FormatError("Your data has multiple channels. You must specify the channel in the segments "
                              f"file. Skipping segment {segment}")
        channel = 0
    elif channel >= num_chan:
        logger.warning("Invalid channel %d >= %d. Skipping segment %s", channel, num_chan, segment)
        return None
    sf = float(f32(samp_freq))
    start_samp = int(start * sf + 0.5)
    end_samp = min(int(end * sf + 0.5), num_samp)
    return samples[channel, start_samp:end_samp].copy()


def _speed(wave: torch.Tensor, rate: float, factor: float) -> torch.Tensor:
    """sox ``speed FACTOR``: the signal played ``factor`` times faster, same rate."""
    if factor == 1.0:
        return wave
    from kaldibridge.functional.resample import resample

    new = int(round(rate / factor))
    return resample(wave, int(round(rate)), new)


class KaldiDataset(Dataset):
    """Utterances of a Kaldi data directory.

    Args:
        data_dir: the directory (or a :class:`DataDir`).
        source: ``"wav"`` (waveforms from wav.scp, segments cut), ``"feats"``
            (feats.scp), or ``"auto"`` (feats if there is a feats.scp, else wav).
        normalize: waveforms in [-1, 1] (torchaudio's convention) instead of int16 scale.
        features: compute features on the fly from the waveform: ``"fbank"``,
            ``"mfcc"``, ``"plp"``, ``"spectrogram"`` (kaldibridge.kaldi.features, with
            ``feature_opts`` as overrides, e.g. ``{"dither": 0.0}``) or a callable
            ``f(waveform_int16_scale (time,), sample_rate) -> (frames, dim)``.
        feature_opts: keyword overrides for the named feature type.
        cmvn: apply the speaker's CMVN stats from cmvn.scp to features (``"mean"``,
            ``"mean+var"``) or not (None).
        speed: speed factor (sox ``speed``), applied before features.
        channel: channel (0-based) to take from multi-channel recordings whose segment names
            none (mono recordings are unaffected). Default: a whole-file utterance takes
            channel 0 with a warning; a segment raises extract-segments' fatal error.
        allow_pipes: ``False`` refuses wav.scp pipes (default: the table I/O switch).
        min_segment_length, max_overshoot: extract-segments' options.

    Each item is a dict: ``utt``, ``speaker``, ``text`` (or None), ``duration`` (seconds),
    and ``waveform`` float32 ``(samples,)`` with ``sample_rate``, or ``features`` float32
    ``(frames, dim)``.

    Raises (on access):
        KaldiIOError, FormatError, PipesRefusedError: unreadable entries.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | DataDir,
        *,
        source: Literal["wav", "feats", "auto"] = "auto",
        normalize: bool = True,
        features: str | FeatureFn | None = None,
        feature_opts: dict[str, Any] | None = None,
        cmvn: Literal["mean", "mean+var"] | None = None,
        speed: float = 1.0,
        channel: int | None = None,
        allow_pipes: bool | None = None,
        min_segment_length: float = 0.1,
        max_overshoot: float = 0.5,
    ) -> None:
        dd = data_dir if isinstance(data_dir, DataDir) else DataDir.read(data_dir)
        if source == "auto":
            source = "feats" if dd.has("feats.scp") and features is None else "wav"
        if source == "feats" and not dd.has("feats.scp"):
            raise FormatError(f"{dd.path}: source='feats' needs a feats.scp")
        if source == "wav" and not dd.has("wav.scp"):
            raise FormatError(f"{dd.path}: source='wav' needs a wav.scp")
        if cmvn is not None and not dd.has("cmvn.scp"):
            raise FormatError(f"{dd.path}: cmvn={cmvn!r} needs a cmvn.scp")
        self.source = source
        self.normalize = normalize
        self.features = features
        self.feature_opts = dict(feature_opts or {})
        self.cmvn = cmvn
        self.speed = float(speed)
        self.channel = channel
        self.allow_pipes = allow_pipes
        self.min_segment_length = min_segment_length
        self.max_overshoot = max_overshoot
        self.utts: list[str] = dd.utterances
        u2s = dd.utt2spk
        self.speakers = [u2s.get(u, u) for u in self.utts]
        text = dd.table("text")
        self.texts = [text.get(u) for u in self.utts]
        feats = dd.table("feats.scp")
        self.feats_rx = [feats.get(u) for u in self.utts]
        cm = dd.table("cmvn.scp")
        self.cmvn_rx = [cm.get(s) for s in self.speakers]
        self.segments: list[Segment | None] = []
        self.wav_rx: list[str | None] = []
        wav = dd.table("wav.scp")
        segs = dd.segments if dd.has("segments") else None
        for u in self.utts:
            if segs is not None:
                seg = segs.get(u)
                self.segments.append(seg)
                self.wav_rx.append(wav.get(seg.recording) if seg else None)
            else:
                self.segments.append(None)
                self.wav_rx.append(wav.get(u))
        durs: dict[str, float] = {}
        if dd.has("utt2dur"):
            durs = dd.utt2dur
        elif segs is not None:
            durs = {u: s.end - s.start for u, s in segs.items() if s.end >= 0}
        elif dd.has("utt2num_frames"):
            fs = dd.frame_shift or 0.01
            durs = {u: (n + 1.5) * fs for u, n in dd.utt2num_frames.items()}
        self.durations: list[float] = [durs.get(u, float("nan")) / self.speed for u in self.utts]
        self._cache: tuple[str, np.ndarray, float] | None = None  # per worker, never pickled

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = None
        return state

    def __len__(self) -> int:
        return len(self.utts)

    def _recording(self, rx: str) -> tuple[np.ndarray, float]:
        if self._cache is not None and self._cache[0] == rx:
            return self._cache[1], self._cache[2]
        samples, rate = read_wav_entry(rx, allow_pipes=self.allow_pipes)
        self._cache = (rx, samples, rate)
        return samples, rate

    def waveform(self, i: int) -> tuple[np.ndarray, float]:
        """Samples ``(samples,)`` in int16 scale (before speed/normalize) and the rate."""
        rx = self.wav_rx[i]
        if rx is None:
            raise KaldiIOError(f"utterance {self.utts[i]}: no wav.scp entry")
        samples, rate = self._recording(rx)
        seg = self.segments[i]
        if seg is not None:
            if seg.channel is None and self.channel is not None and samples.shape[0] > 1:
                seg = seg._replace(channel=self.channel)
            cut = extract_segment(samples, rate, seg, min_segment_length=self.min_segment_length,
                                  max_overshoot=self.max_overshoot)
            if cut is None:
                raise FormatError(f"utterance {self.utts[i]}: extract-segments would skip segment {seg}")
            return cut, rate
        ch = self.channel if self.channel is not None and samples.shape[0] > 1 else 0
        if samples.shape[0] > 1 and self.channel is None:
            logger.warning("utterance %s has %d channels; taking channel 0 (set channel=)", self.utts[i],
                           samples.shape[0])
        if ch >= samples.shape[0]:
            raise FormatError(f"utterance {self.utts[i]}: channel {ch} >= {samples.shape[0]} channels")
        return samples[ch].copy(), rate

    def _features_of(self, wave: torch.Tensor, rate: float) -> torch.Tensor:
        if callable(self.features):
            return self.features(wave, rate)
        import importlib

        name = str(self.features)
        if name not in ("fbank", "mfcc", "plp", "spectrogram"):
            raise FormatError(f"unknown feature type {name!r} (fbank, mfcc, plp, spectrogram or a callable)")
        fn = getattr(importlib.import_module(f"kaldibridge.kaldi.features.{name}"), name)
        feats, _ = fn(wave, sample_rate=rate, **self.feature_opts)
        return feats

    def _apply_cmvn(self, feats: torch.Tensor, i: int) -> torch.Tensor:
        if self.cmvn is None:
            return feats
        rx = self.cmvn_rx[i]
        if rx is None:
            raise KaldiIOError(f"speaker {self.speakers[i]}: no cmvn.scp entry")
        from kaldibridge.kaldi.features.cmvn import apply_cmvn
        from kaldibridge.kaldi.table import read_object

        stats = read_object(rx, "double_matrix", allow_pipes=self.allow_pipes)
        return apply_cmvn(feats, torch.as_tensor(stats), norm_vars=self.cmvn == "mean+var")

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {"utt": self.utts[i], "speaker": self.speakers[i], "text": self.texts[i]}
        if self.source == "feats":
            from kaldibridge.kaldi.table import read_object

            rx = self.feats_rx[i]
            if rx is None:
                raise KaldiIOError(f"utterance {self.utts[i]}: no feats.scp entry")
            feats = torch.as_tensor(read_object(rx, "matrix", allow_pipes=self.allow_pipes))
            item["features"] = self._apply_cmvn(feats, i)
            item["duration"] = self.durations[i]
            return item
        samples, rate = self.waveform(i)
        wave = torch.from_numpy(samples)
        if self.speed != 1.0:
            wave = _speed(wave, rate, self.speed)
        item["duration"] = wave.shape[-1] / rate
        item["sample_rate"] = rate
        if self.features is not None:
            item["features"] = self._apply_cmvn(self._features_of(wave, rate), i)
        item["waveform"] = wave / 32768.0 if self.normalize else wave
        return item


def collate_padded(items: Sequence[dict[str, Any]], *, pad_value: float = 0.0) -> dict[str, Any]:
    """Batches dataset items: tensors padded to the longest (time is their first axis for
    features, the only axis for waveforms), with ``<name>_lengths``; other fields as lists.

    Returns:
        ``waveform`` ``(batch, max_samples)`` and ``waveform_lengths`` ``(batch,)``;
        ``features`` ``(batch, max_frames, dim)`` and ``features_lengths``; lists of ``utt``,
        ``speaker``, ``text``, ``duration``, ``sample_rate``.
    """
    out: dict[str, Any] = {}
    keys = items[0].keys() if items else []
    for k in keys:
        values = [it[k] for it in items]
        if isinstance(values[0], torch.Tensor):
            lengths = torch.tensor([v.shape[0] for v in values], dtype=torch.int64)
            longest = int(lengths.max()) if len(values) else 0
            shape = (len(values), longest, *values[0].shape[1:])
            batch = values[0].new_full(shape, pad_value)
            for j, v in enumerate(values):
                batch[j, : v.shape[0]] = v
            out[k] = batch
            out[f"{k}_lengths"] = lengths
        else:
            out[k] = values
    return out


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of utterances of similar duration.

    Utterances are sorted by duration, cut into batches holding at most ``batch_size``
    items and ``max_seconds`` of (padded) audio, and the batches are shuffled (seeded,
    different every epoch via :meth:`set_epoch`).

    Args:
        durations: seconds per dataset index (e.g. ``dataset.durations``; NaN counts as 0).
        batch_size: most items per batch (None: no limit).
        max_seconds: most padded seconds per batch (longest * count; None: no limit).
        shuffle: shuffle the order of the batches.
        seed: base seed of the shuffle.
        drop_last: drop a final incomplete batch (only with ``batch_size``).
    """

    def __init__(
        self,
        durations: Sequence[float],
        *,
        batch_size: int | None = None,
        max_seconds: float | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if batch_size is None and max_seconds is None:
            raise FormatError("BucketBatchSampler needs batch_size or max_seconds")
        d = np.nan_to_num(np.asarray(durations, dtype=np.float64), nan=0.0)
        order = np.argsort(d, kind="stable")
        batches: list[list[int]] = []
        cur: list[int] = []
        for idx in order.tolist():
            longest = d[idx]  # ascending: the new item is the longest
            full = batch_size is not None and len(cur) >= batch_size
            too_long = max_seconds is not None and cur and longest * (len(cur) + 1) > max_seconds
            if full or too_long:
                batches.append(cur)
                cur = []
            cur.append(idx)
        if cur and not (drop_last and batch_size is not None and len(cur) < batch_size):
            batches.append(cur)
        self.batches = batches
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        order = list(range(len(self.batches)))
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(order)
        for j in order:
            yield list(self.batches[j])

    def __len__(self) -> int:
        return len(self.batches)

