"""A Kaldi data directory in memory: every file as a table, a pandas view, and back.

:class:`DataDir` holds each known file as an ordered ``{key: value}`` table of strings
(the line minus its key), parses the typed ones on demand (segments, durations, frame
counts), keeps unknown top-level files byte for byte, and writes everything back in
Kaldi's order (``LC_ALL=C`` byte order of the keys; spk2utt rebuilt from utt2spk).

Example::

    dd = DataDir.read("data/train")
    df = dd.to_pandas()                  # one row per utterance
    dev = dd.subset(utterances=df.index[:100])
    parts = dd.split(4)                  # the same speakers per part as split_data.sh 4
    dev.write("data/dev100")
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from kaldibridge.errors import FormatError, KaldiIOError
from kaldibridge.kaldi.datadir._base import dec, enc
from kaldibridge.kaldi.datadir._text import split_lines

__all__ = ["DataDir", "Segment", "KNOWN_FILES", "c_sorted"]

logger = logging.getLogger("kaldibridge.datadir")

_BIG = 1 << 20

#: Files with one ``key value`` line per entry, and what their key is.
KNOWN_FILES: dict[str, str] = {
    "wav.scp": "recording",
    "segments": "utterance",
    "utt2spk": "utterance",
    "spk2utt": "speaker",
    "text": "utterance",
    "feats.scp": "utterance",
    "cmvn.scp": "speaker",
    "vad.scp": "utterance",
    "utt2dur": "utterance",
    "reco2dur": "recording",
    "utt2num_frames": "utterance",
    "reco2file_and_channel": "recording",
    "spk2gender": "speaker",
    "utt2lang": "utterance",
    "utt2uniq": "utterance",
    "utt2warp": "utterance",
    "spk2warp": "speaker",
}


def c_sorted(keys: Iterable[str]) -> list[str]:
    """Keys in Kaldi's ``LC_ALL=C`` order (bytes of their UTF-8 encoding)."""
    return sorted(keys, key=enc)


class Segment(NamedTuple):
    """One line of a segments file.

    Attributes:
        recording: recording id (a wav.scp key).
        start: start time in seconds.
        end: end time in seconds; -1 means the end of the recording.
        channel: 0-based channel (the optional 5th column of extract-segments), or None.
    """

    recording: str
    start: float
    end: float
    channel: int | None = None


def _parse_table(data: bytes, name: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for n, raw in enumerate(split_lines(data), 1):
        parts = raw.strip().split(None, 1)
        if not parts:
            continue
        key = dec(parts[0])
        value = dec(parts[1].strip()) if len(parts) > 1 else ""
        if key in table:
            logger.warning("%s: line %d: duplicate key %s ignored (the first line is kept)", name, n, key)
            continue
        table[key] = value
    return table


@dataclass
class DataDir:
    """A data directory as tables.

    Attributes:
        tables: file name -> ordered ``{key: value}`` (value: the rest of the line).
        other_files: unknown top-level files, name -> bytes, or the source path for files
            over 1 MiB (copied on write); written back as they were.
        frame_shift: content of the ``frame_shift`` file (seconds), if any.
        path: where it was read from, if anywhere.
    """

    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    other_files: dict[str, bytes | Path] = field(default_factory=dict)
    frame_shift: float | None = None
    path: Path | None = None

    # ------------------------------------------------------------------ reading/writing
    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> DataDir:
        """Reads every top-level file of a data directory.

        Raises:
            KaldiIOError: the directory or a file cannot be read.
        """
        p = Path(path)
        if not p.is_dir():
            raise KaldiIOError(f"no such data directory: {p}")
        dd = cls(path=p)
        for entry in sorted(p.iterdir()):
            if not entry.is_file():
                continue
            if entry.name not in KNOWN_FILES and entry.name != "frame_shift" and entry.stat().st_size > _BIG:
                dd.other_files[entry.name] = entry
                continue
            try:
                data = entry.read_bytes()
            except OSError as e:
                raise KaldiIOError(f"cannot read {entry}: {e.strerror or e}") from e
            if entry.name in KNOWN_FILES:
                dd.tables[entry.name] = _parse_table(data, str(entry))
            elif entry.name == "frame_shift":
                try:
                    dd.frame_shift = float(data.split()[0])
                except (IndexError, ValueError):
                    raise FormatError(f"{entry}: expected a number of seconds, got {data[:40]!r}") from None
            else:
                dd.other_files[entry.name] = data
        if "spk2utt" not in dd.tables and "utt2spk" in dd.tables:
            dd.tables["spk2utt"] = dd._spk2utt_table()
        return dd

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Writes the directory (created if needed); tables sorted in C order.

        spk2utt is rebuilt from utt2spk (when there is one). Files already in the
        folder and not part of this DataDir are left alone.

        Returns:
            The directory path.
        """
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        tables = dict(self.tables)
        if "utt2spk" in tables:
            tables["spk2utt"] = self._spk2utt_table()
        for name, table in tables.items():
            body = b"".join(
                enc(k) + (b" " + enc(table[k]) if table[k] != "" else b"") + b"\n" for k in c_sorted(table)
            )
            (p / name).write_bytes(body)
        if self.frame_shift is not None:
            (p / "frame_shift").write_text(f"{self.frame_shift:g}\n")
        for name, data in self.other_files.items():
            if isinstance(data, Path):
                if not (p / name).exists() or not os.path.samefile(data, p / name):
                    shutil.copyfile(data, p / name)
            else:
                (p / name).write_bytes(data)
        return p

    # ------------------------------------------------------------------ views
    def table(self, name: str) -> dict[str, str]:
        """The table of file ``name`` (empty if absent)."""
        return self.tables.get(name, {})

    def has(self, name: str) -> bool:
        return name in self.tables

    @property
    def utt2spk(self) -> dict[str, str]:
        return self.table("utt2spk")

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        """Speakers (C order) -> their utterances (C order), derived from utt2spk."""
        groups: dict[str, list[str]] = {}
        for u in c_sorted(self.utt2spk):
            groups.setdefault(self.utt2spk[u], []).append(u)
        return {s: groups[s] for s in c_sorted(groups)}

    def _spk2utt_table(self) -> dict[str, str]:
        return {s: " ".join(us) for s, us in self.spk2utt.items()}

    @property
    def utterances(self) -> list[str]:
        """Utterance ids in C order (from utt2spk, else the first utterance-indexed file)."""
        for name in ("utt2spk", "segments", "text", "feats.scp"):
            if name in self.tables:
                return c_sorted(self.tables[name])
        if "wav.scp" in self.tables:
            return c_sorted(self.tables["wav.scp"])
        return []

    @property
    def speakers(self) -> list[str]:
        return c_sorted(set(self.utt2spk.values()))

    @property
    def recordings(self) -> list[str]:
        return c_sorted(self.table("wav.scp"))

    @property
    def segments(self) -> dict[str, Segment]:
        """Parsed segments (4 or 5 columns).

        Raises:
            FormatError: a line that is not ``utt reco start end [channel]``.
        """
        out = {}
        for utt, value in self.table("segments").items():
            f = value.split()
            try:
                if len(f) not in (3, 4):
                    raise ValueError
                out[utt] = Segment(f[0], float(f[1]), float(f[2]), int(f[3]) if len(f) == 4 else None)
            except ValueError:
                raise FormatError(f"segments: bad line for utterance {utt}: {value!r}") from None
        return out

    def _floats(self, name: str) -> dict[str, float]:
        out = {}
        for k, v in self.table(name).items():
            try:
                out[k] = float(v.split()[0])
            except (IndexError, ValueError):
                raise FormatError(f"{name}: bad value for {k}: {v!r}") from None
        return out

    @property
    def utt2dur(self) -> dict[str, float]:
        return self._floats("utt2dur")

    @property
    def reco2dur(self) -> dict[str, float]:
        return self._floats("reco2dur")

    @property
    def utt2num_frames(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._floats("utt2num_frames").items()}

    def wav_of(self, utt: str) -> tuple[str, Segment | None]:
        """The wav.scp entry (rxfilename) of an utterance and its segment, if segmented.

        Raises:
            KeyError: the utterance or its recording is unknown.
        """
        segs = self.table("segments")
        if segs:
            seg = self.segments[utt]
            return self.tables["wav.scp"][seg.recording], seg
        return self.tables["wav.scp"][utt], None

    def durations(self) -> dict[str, float]:
        """Seconds per utterance: utt2dur, else segments (end - start), else the wav headers."""
        if self.has("utt2dur"):
            return self.utt2dur
        if self.has("segments"):
            reco = self.reco2dur if self.has("reco2dur") else {}
            out = {}
            for u, s in self.segments.items():
                end = s.end if s.end >= 0 else reco.get(s.recording, float("nan"))
                out[u] = end - s.start
            return out
        if self.has("wav.scp"):
            from kaldibridge.kaldi.datadir.durations import wav_duration

            return {u: wav_duration(rx) for u, rx in self.tables["wav.scp"].items()}
        if self.has("utt2num_frames"):
            fs = self.frame_shift or 0.01
            return {u: (n + 1.5) * fs for u, n in self.utt2num_frames.items()}
        return {}

    # ------------------------------------------------------------------ pandas
    def to_pandas(self) -> Any:
        """One row per utterance (index ``utt``, C order).

        Columns (present when their file is): ``speaker``, ``recording``, ``wav``
        (the recording's wav.scp entry), ``start``, ``end``, ``channel``, ``duration``,
        ``text``, ``feats``, ``cmvn`` (the speaker's cmvn.scp entry), ``gender``,
        ``num_frames``, ``lang``, ``uniq``, ``vad``, ``warp``.
        """
        import pandas as pd

        utts = self.utterances
        cols: dict[str, list[Any]] = {}
        u2s = self.utt2spk
        if u2s:
            cols["speaker"] = [u2s.get(u) for u in utts]
        wav = self.table("wav.scp")
        if self.has("segments"):
            segs = self.segments
            cols["recording"] = [segs[u].recording if u in segs else None for u in utts]
            cols["wav"] = [wav.get(segs[u].recording) if u in segs else None for u in utts]
            cols["start"] = [segs[u].start if u in segs else float("nan") for u in utts]
            cols["end"] = [segs[u].end if u in segs else float("nan") for u in utts]
            if any(s.channel is not None for s in segs.values()):
                cols["channel"] = [segs[u].channel if u in segs else None for u in utts]
        elif wav:
            cols["recording"] = [u if u in wav else None for u in utts]
            cols["wav"] = [wav.get(u) for u in utts]
        if self.has("utt2dur") or self.has("segments"):
            d = self.durations()
            cols["duration"] = [d.get(u, float("nan")) for u in utts]
        for col, name in (("text", "text"), ("feats", "feats.scp"), ("lang", "utt2lang"), ("uniq", "utt2uniq"),
                          ("vad", "vad.scp"), ("warp", "utt2warp")):
            if self.has(name):
                t = self.tables[name]
                cols[col] = [t.get(u) for u in utts]
        if self.has("utt2num_frames"):
            nf = self.utt2num_frames
            cols["num_frames"] = [nf.get(u) for u in utts]
        for col, name in (("cmvn", "cmvn.scp"), ("gender", "spk2gender")):
            if self.has(name) and u2s:
                t = self.tables[name]
                cols[col] = [t.get(u2s.get(u, ""), None) for u in utts]
        return pd.DataFrame(cols, index=pd.Index(utts, name="utt"))

    @classmethod
    def from_pandas(cls, df: Any, *, reco2dur: Mapping[str, float] | None = None) -> DataDir:
        """Builds a DataDir from a frame shaped like :meth:`to_pandas` output.

        The index (or a ``utt`` column) gives utterance ids; ``speaker`` is required.
        With ``start``/``end`` columns a segments file is written (recordings from
        ``recording``, wav.scp from ``wav``); otherwise ``wav`` is indexed by utterance.

        Raises:
            FormatError: no speaker column, or a recording with two different wav entries.
        """
        import math

        if "utt" in getattr(df, "columns", ()):
            df = df.set_index("utt")
        if "speaker" not in df.columns:
            raise FormatError("from_pandas: a 'speaker' column is required")
        dd = cls()
        utts = [str(u) for u in df.index]

        def col(name: str) -> list[Any] | None:
            return list(df[name]) if name in df.columns else None

        def present(v: Any) -> bool:
            return v is not None and not (isinstance(v, float) and math.isnan(v))

        dd.tables["utt2spk"] = {u: str(s) for u, s in zip(utts, col("speaker") or [])}
        segmented = "start" in df.columns and "end" in df.columns
        wav = col("wav")
        if segmented:
            recs, starts, ends = col("recording") or [], col("start") or [], col("end") or []
            chans = col("channel")
            seg: dict[str, str] = {}
            wavs: dict[str, str] = {}
            for i, u in enumerate(utts):
                if not present(recs[i]):
                    continue
                value = f"{recs[i]} {_num(starts[i])} {_num(ends[i])}"
                if chans is not None and present(chans[i]):
                    value += f" {int(chans[i])}"
                seg[u] = value
                if wav is not None and present(wav[i]):
                    if wavs.get(recs[i], wav[i]) != wav[i]:
                        raise FormatError(f"from_pandas: recording {recs[i]} has two wav entries")
                    wavs[str(recs[i])] = str(wav[i])
            dd.tables["segments"] = seg
            if wavs:
                dd.tables["wav.scp"] = wavs
        elif wav is not None:
            dd.tables["wav.scp"] = {u: str(w) for u, w in zip(utts, wav) if present(w)}
        for c, name in (("text", "text"), ("feats", "feats.scp"), ("lang", "utt2lang"), ("uniq", "utt2uniq"),
                        ("vad", "vad.scp"), ("warp", "utt2warp")):
            values = col(c)
            if values is not None:
                dd.tables[name] = {u: str(v) for u, v in zip(utts, values) if present(v)}
        durs = col("duration")
        if durs is not None and not segmented:
            dd.tables["utt2dur"] = {u: _num(v) for u, v in zip(utts, durs) if present(v)}
        nf = col("num_frames")
        if nf is not None:
            dd.tables["utt2num_frames"] = {u: str(int(v)) for u, v in zip(utts, nf) if present(v)}
        spk = col("speaker") or []
        for c, name in (("cmvn", "cmvn.scp"), ("gender", "spk2gender")):
            values = col(c)
            if values is not None:
                dd.tables[name] = {str(s): str(v) for s, v in zip(spk, values) if present(v)}
        if reco2dur:
            dd.tables["reco2dur"] = {k: _num(v) for k, v in reco2dur.items()}
        dd.tables["spk2utt"] = dd._spk2utt_table()
        return dd

    # ------------------------------------------------------------------ operations
    def subset(self, utterances: Iterable[str] | None = None, speakers: Iterable[str] | None = None) -> DataDir:
        """The utterances listed (and/or those of the speakers listed), with everything
        indexed by them: speakers and recordings that remain, as subset_data_dir.sh keeps."""
        keep = set(self.utterances)
        if utterances is not None:
            keep &= set(utterances)
        if speakers is not None:
            spk = set(speakers)
            keep = {u for u in keep if self.utt2spk.get(u) in spk}
        return self._restrict(keep)

    def _restrict(self, keep: set[str]) -> DataDir:
        out = DataDir(other_files=dict(self.other_files), frame_shift=self.frame_shift)
        spks = {self.utt2spk[u] for u in keep if u in self.utt2spk}
        segmented = self.has("segments")
        recs = {s.recording for u, s in self.segments.items() if u in keep} if segmented else keep
        for name, table in self.tables.items():
            kind = KNOWN_FILES[name]
            if name == "wav.scp" and not segmented:
                kind = "utterance"
            if name == "reco2dur" and not segmented:
                kind = "utterance"
            ids = {"utterance": keep, "speaker": spks, "recording": recs}[kind]
            out.tables[name] = {k: v for k, v in table.items() if k in ids}
        if "utt2spk" in out.tables:
            out.tables["spk2utt"] = out._spk2utt_table()
        return out

    def split(self, num: int, *, per_utt: bool = False) -> list[DataDir]:
        """Splits into ``num`` parts with the assignment of ``split_data.sh``.

        Args:
            num: number of parts.
            per_utt: consecutive blocks of utterances instead of whole speakers.

        Raises:
            DataDirError: fewer speakers (or utterances) than parts (the script's message).
        """
        from kaldibridge.kaldi.datadir._base import DataDirError, PerlDie
        from kaldibridge.kaldi.datadir.ops import split_scp_per_line, split_scp_per_speaker

        lines = [enc(u) + b" " + enc(self.utt2spk[u]) for u in c_sorted(self.utt2spk)]
        try:
            pieces = split_scp_per_line(lines, num) if per_utt else split_scp_per_speaker(lines, lines, num)
        except PerlDie as e:
            raise DataDirError(e.message.strip(), status=1, messages=[e.message.strip()]) from None
        return [self._restrict({dec(x.split()[0]) for x in piece}) for piece in pieces]

    @classmethod
    def combine(cls, dirs: Sequence[DataDir]) -> DataDir:
        """Union of data directories; tables missing from some of them are dropped (as
        combine_data.sh does), the first entry of a duplicated key wins."""
        out = cls()
        names = set.intersection(*(set(d.tables) for d in dirs)) if dirs else set()
        for name in names:
            merged: dict[str, str] = {}
            for d in dirs:
                for k, v in d.tables[name].items():
                    merged.setdefault(k, v)
            out.tables[name] = merged
        shifts = {d.frame_shift for d in dirs if d.frame_shift is not None}
        if len(shifts) == 1:
            out.frame_shift = shifts.pop()
        if "utt2spk" in out.tables:
            out.tables["spk2utt"] = out._spk2utt_table()
        return out

    def summary(self, *, bins: int = 10) -> str:
        """A text summary: counts, hours and a duration histogram."""
        import numpy as np

        utts = self.utterances
        lines = [
            f"data directory: {self.path if self.path is not None else '(in memory)'}",
            f"utterances: {len(utts)}",
            f"speakers: {len(self.speakers)}",
            f"recordings: {len(self.recordings)}",
            "files: " + " ".join(sorted([*self.tables, *self.other_files]
                                        + (["frame_shift"] if self.frame_shift is not None else []))),
        ]
        try:
            durs = np.array(list(self.durations().values()), dtype=np.float64)
        except (KaldiIOError, FormatError, OSError, ValueError) as e:
            lines.append(f"durations: unavailable ({e})")
            return "\n".join(lines)
        durs = durs[np.isfinite(durs)]
        if durs.size == 0:
            lines.append("durations: unavailable")
            return "\n".join(lines)
        lines.append(f"total: {durs.sum() / 3600:.4f} hours ({durs.sum():.2f} s)")
        lines.append(f"duration (s): min {durs.min():.3f}  mean {durs.mean():.3f}  median "
                     f"{float(np.median(durs)):.3f}  max {durs.max():.3f}")
        counts, edges = np.histogram(durs, bins=bins)
        width = max(int(counts.max()), 1)
        lines.append("histogram (s):")
        for c, lo, hi in zip(counts, edges[:-1], edges[1:]):
            lines.append(f"  {lo:8.2f} - {hi:8.2f} | {'#' * int(round(40 * c / width)):<40} {int(c)}")
        return "\n".join(lines)

    def plot_durations(self, path: str | os.PathLike[str]) -> None:
        """Saves a histogram of utterance durations (needs matplotlib).

        Raises:
            KaldiIOError: matplotlib is not installed.
        """
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise KaldiIOError("saving a plot needs matplotlib (pip install matplotlib)") from None
        durs = list(self.durations().values())
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(durs, bins=30)
        ax.set_xlabel("duration (s)")
        ax.set_ylabel("utterances")
        ax.set_title(f"{len(durs)} utterances, {sum(durs) / 3600:.2f} h")
        fig.tight_layout()
        fig.savefig(os.fspath(path))
        plt.close(fig)


def _num(v: Any) -> str:
    x = float(v)
    return str(int(x)) if x.is_integer() else repr(x)
