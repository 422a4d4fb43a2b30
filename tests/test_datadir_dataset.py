"""DataDir tables, the pandas view, KaldiDataset through a DataLoader, and the CLI."""

from __future__ import annotations

import io
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import ConcatDataset, DataLoader

from kaldibridge.errors import FormatError, PipesRefusedError
from kaldibridge.kaldi.datadir import (
    BucketBatchSampler,
    Console,
    DataDir,
    KaldiDataset,
    Segment,
    collate_padded,
    extract_segment,
    split,
    validate,
)

EXAMPLES = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))
RATE = 16000


def _wav(path: Path, n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).integers(-30000, 30000, size=(n, channels), dtype=np.int16)
    soundfile.write(str(path), x, RATE, subtype="PCM_16")
    return x.T.astype(np.float32)  # (channels, samples), int16 scale


def _reference_cut(x: np.ndarray, start: float, end: float, ch: int = 0) -> np.ndarray:
    """extract-segments' indices, written independently: int(t * rate + 0.5)."""
    a = int(start * RATE + 0.5)
    b = min(int(end * RATE + 0.5), x.shape[1])
    return x[ch, a:b]


@pytest.fixture()
def segdir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """8 speakers, recordings read directly and through `cat ... |` pipes, one stereo file
    whose second channel is taken by the dataset's ``channel`` option (validate_data_dir.sh
    rejects the 5-column segments that extract-segments accepts)."""
    d = tmp_path / "data"
    d.mkdir()
    recs = {}
    wav_lines, seg_lines, u2s, text = [], [], [], []
    for r in range(8):
        name = f"rec{r}"
        n = RATE * 2 + 123 * r
        channels = 2 if r == 7 else 1
        recs[name] = _wav(tmp_path / f"{name}.wav", n, channels, seed=r)
        entry = f"{tmp_path}/{name}.wav" if r % 2 == 0 else f"cat {tmp_path}/{name}.wav |"
        wav_lines.append(f"{name} {entry}")
        for k, (s, e) in enumerate([(0.0, 0.73), (0.73, 1.9101)]):
            utt = f"spk{r}-{name}-{k}"
            seg_lines.append(f"{utt} {name} {s} {e}")
            u2s.append(f"{utt} spk{r}")
            text.append(f"{utt} WORD{r} {k}")
    (d / "wav.scp").write_text("\n".join(sorted(wav_lines)) + "\n")
    (d / "segments").write_text("\n".join(sorted(seg_lines)) + "\n")
    (d / "utt2spk").write_text("\n".join(sorted(u2s)) + "\n")
    (d / "text").write_text("\n".join(sorted(text)) + "\n")
    dd = DataDir.read(d)
    dd.write(d)  # writes spk2utt
    return d, recs


def test_pipes_segments_validate_split_dataloader(segdir: tuple[Path, dict[str, np.ndarray]]) -> None:
    d, recs = segdir
    assert validate(str(d), no_feats=True, console=Console()) == 0
    assert split(str(d), 4, console=Console()) == 0
    parts = []
    for j in range(1, 5):
        part = d / "split4" / str(j)
        assert validate(str(part), no_feats=True, console=Console()) == 0
        parts.append(KaldiDataset(part, normalize=False, channel=1))
    assert sum(len(p) for p in parts) == 16
    dl = DataLoader(ConcatDataset(parts), batch_size=3, num_workers=2, collate_fn=collate_padded)
    seen = {}
    for batch in dl:
        for utt, wave, n in zip(batch["utt"], batch["waveform"], batch["waveform_lengths"]):
            seen[utt] = wave[: int(n)].numpy()
    assert len(seen) == 16
    for utt, got in seen.items():
        _, rec, k = utt.split("-")
        s, e = [(0.0, 0.73), (0.73, 1.9101)][int(k)]
        want = _reference_cut(recs[rec], s, e, ch=1 if rec == "rec7" else 0)
        np.testing.assert_array_equal(got, want)


def test_dataset_pickles_and_refuses_pipes(segdir: tuple[Path, dict[str, np.ndarray]]) -> None:
    d, _ = segdir
    ds = KaldiDataset(d, channel=0)
    item = ds[0]
    assert item["waveform"].abs().max() <= 1.0 and item["sample_rate"] == RATE
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[0]["waveform"], item["waveform"])
    refusing = KaldiDataset(d, allow_pipes=False, channel=0)
    pipe_index = next(i for i, rx in enumerate(refusing.wav_rx) if rx and rx.endswith("|"))
    with pytest.raises(PipesRefusedError):
        refusing[pipe_index]


def test_extract_segment_edges() -> None:
    x = np.arange(2 * 1000, dtype=np.float32).reshape(2, 1000)
    rate = 1000.0
    np.testing.assert_array_equal(extract_segment(x, rate, Segment("r", 0.2, -1, 1)), x[1, 200:])
    # overshoot by less than 0.5 s is truncated, by more rejected
    np.testing.assert_array_equal(extract_segment(x, rate, Segment("r", 0.5, 1.3, 0)), x[0, 500:])
    assert extract_segment(x, rate, Segment("r", 0.5, 1.6, 0)) is None
    assert extract_segment(x, rate, Segment("r", 0.5, 0.55, 0)) is None  # shorter than 0.1 s
    assert extract_segment(x, rate, Segment("r", 0.5, 0.4, 0)) is None
    assert extract_segment(x, rate, Segment("r", 0.1, 0.5, 2)) is None  # no such channel
    with pytest.raises(FormatError, match="multiple channels"):
        extract_segment(x, rate, Segment("r", 0.1, 0.5))
    np.testing.assert_array_equal(extract_segment(x, rate, Segment("r", 0.0015, 0.2004, 0)), x[0, 2:200])


def test_features_with_cmvn_and_on_the_fly(tmp_path: Path) -> None:
    from kaldibridge.kaldi.table import TableWriter

    d = tmp_path / "f"
    d.mkdir()
    rng = np.random.default_rng(1)
    feats = {f"s-{i}": rng.normal(3.0, 2.0, size=(20 + i, 4)).astype(np.float32) for i in range(3)}
    with TableWriter(f"ark,scp:{d}/feats.ark,{d}/feats.scp") as w:
        for k, m in feats.items():
            w.write(k, m)
    allf = np.concatenate(list(feats.values())).astype(np.float64)
    stats = np.zeros((2, 5))
    stats[0, :4], stats[0, 4], stats[1, :4] = allf.sum(0), len(allf), (allf**2).sum(0)
    with TableWriter(f"ark,scp:{d}/cmvn.ark,{d}/cmvn.scp", holder="double_matrix") as w:
        w.write("s", stats)
    (d / "utt2spk").write_text("".join(f"{k} s\n" for k in feats))
    ds = KaldiDataset(d, cmvn="mean+var")
    out = torch.cat([ds[i]["features"] for i in range(3)]).double()
    np.testing.assert_allclose(out.mean(0).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(0, unbiased=False).numpy(), 1.0, atol=1e-4)
    raw = KaldiDataset(d)[1]["features"].numpy()
    np.testing.assert_array_equal(raw, feats["s-1"])

    w = tmp_path / "w"
    w.mkdir()
    _wav(tmp_path / "a.wav", RATE)
    (w / "wav.scp").write_text(f"a {tmp_path}/a.wav\n")
    (w / "utt2spk").write_text("a a\n")
    calls = []

    def frames(wave: torch.Tensor, rate: float) -> torch.Tensor:
        calls.append((wave.shape, rate))
        return wave[: (wave.shape[0] // 160) * 160].reshape(-1, 160)

    item = KaldiDataset(w, features=frames, speed=1.0)[0]
    assert calls == [(torch.Size([RATE]), float(RATE))] and item["features"].shape == (100, 160)
    fast = KaldiDataset(w, speed=1.25)[0]
    assert fast["waveform"].shape[0] == round(RATE / 1.25)


def test_collate_and_bucket_sampler() -> None:
    items = [{"utt": "a", "waveform": torch.ones(3)}, {"utt": "b", "waveform": torch.ones(5)}]
    b = collate_padded(items)
    assert b["waveform"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert b["waveform_lengths"].tolist() == [3, 5] and b["utt"] == ["a", "b"]
    f = collate_padded([{"features": torch.ones(2, 3)}, {"features": torch.ones(4, 3)}])
    assert f["features"].shape == (2, 4, 3) and f["features"][0, 2:].abs().sum() == 0


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.floats(0.1, 30.0), min_size=1, max_size=60), st.integers(1, 8), st.floats(5.0, 100.0))
def test_bucket_sampler_covers_and_respects_limits(durs: list[float], bs: int, secs: float) -> None:
    sampler = BucketBatchSampler(durs, batch_size=bs, max_seconds=secs, seed=3)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(durs)))
    for b in batches:
        assert len(b) <= bs
        assert len(b) == 1 or max(durs[i] for i in b) * len(b) <= secs
    assert batches == list(BucketBatchSampler(durs, batch_size=bs, max_seconds=secs, seed=3))


# ----------------------------------------------------------------------- DataDir


def test_datadir_round_trip_keeps_unknown_files(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "utt2spk").write_text("b-1 b\na-2 a\na-1 a\n")
    (d / "text").write_text("a-1 HELLO  WORLD\na-2\nb-1 X\n")
    (d / "wav.scp").write_text("a-1 x.wav\na-2 sox y.wav -t wav - |\nb-1 z.wav\n")
    (d / "notes.txt").write_bytes(b"\xffkeep me\n")
    dd = DataDir.read(d)
    assert dd.utterances == ["a-1", "a-2", "b-1"] and dd.speakers == ["a", "b"]
    out = dd.write(tmp_path / "o")
    assert (out / "utt2spk").read_text() == "a-1 a\na-2 a\nb-1 b\n"
    assert (out / "spk2utt").read_text() == "a a-1 a-2\nb b-1\n"
    assert (out / "text").read_text() == "a-1 HELLO  WORLD\na-2\nb-1 X\n"
    assert (out / "notes.txt").read_bytes() == b"\xffkeep me\n"
    assert validate(str(out), no_feats=True, console=Console()) == 0


def test_datadir_pandas_round_trip(segdir: tuple[Path, dict[str, np.ndarray]]) -> None:
    d, _ = segdir
    dd = DataDir.read(d)
    dd.tables["segments"]["spk7-rec7-1"] += " 1"  # extract-segments' channel column
    df = dd.to_pandas()
    assert list(df.index) == dd.utterances
    row = df.loc["spk7-rec7-1"]
    assert (row.speaker, row.recording, row.start, row.end, row.channel) == ("spk7", "rec7", 0.73, 1.9101, 1)
    back = DataDir.from_pandas(df)
    for name in ("utt2spk", "spk2utt", "wav.scp", "text"):
        assert back.tables[name] == dd.tables[name], name
    assert back.segments == dd.segments


@settings(max_examples=max(20, EXAMPLES // 5), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), min_size=1, max_size=40, unique_by=lambda t: t[0]),
       st.data())
def test_datadir_split_and_subset_inverse(pairs: list[tuple[int, int]], data: st.DataObject) -> None:
    dd = DataDir(tables={"utt2spk": {f"s{s}-u{u:02d}": f"s{s}" for u, s in pairs},
                         "text": {f"s{s}-u{u:02d}": f"W{u}" for u, s in pairs}})
    nspk = len({s for _, s in pairs})
    num = data.draw(st.integers(1, nspk))
    parts = dd.split(num)
    assert len(parts) == num
    speakers = [set(p.speakers) for p in parts]
    assert sum(len(s) for s in speakers) == nspk  # each speaker in one part
    merged = DataDir.combine(parts)
    assert merged.tables["utt2spk"] == dd.tables["utt2spk"] and merged.tables["text"] == dd.tables["text"]
    keep = data.draw(st.sets(st.sampled_from(dd.utterances)))
    a, b = dd.subset(utterances=keep), dd.subset(utterances=set(dd.utterances) - keep)
    assert DataDir.combine([a, b]).tables["text"] == dd.tables["text"]
    per_utt = dd.split(min(num, len(pairs)), per_utt=True)
    assert [u for p in per_utt for u in p.utterances] == dd.utterances


# ----------------------------------------------------------------------- CLI


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: bytes = b"") -> tuple[int, str, str]:
    from kaldibridge.cli.datadir import main

    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, write_through=True))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, write_through=True))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_cli_both_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, segdir: tuple[Path, dict]) -> None:
    d, _ = segdir
    code, out, _ = _cli(["datadir", "validate", "--no-feats", str(d)], monkeypatch)
    assert code == 0 and out.endswith(f"Successfully validated data-directory {d}\n")
    code, out, _ = _cli(["utils/copy_data_dir.sh", "--utt-prefix=x-", str(d), str(tmp_path / "c")], monkeypatch)
    assert code == 1 and "options to scripts must be of the form --name value, got '--utt-prefix=x-'" in out
    code, out, _ = _cli(["utils/utt2spk_to_spk2utt.pl"], monkeypatch, stdin=b"u1 B\nu2 A\nu3 B\n")
    assert (code, out) == (0, "B u1 u3\nA u2\n")
    code, out, _ = _cli(["utils/filter_scp.pl", "--exclude", str(d / "utt2spk"), str(d / "text")], monkeypatch)
    assert (code, out) == (0, "")
    code, out, _ = _cli(["datadir", "info", str(d)], monkeypatch)
    assert code == 0 and "utterances: 16" in out and "speakers: 8" in out and "histogram" in out
    code, out, err = _cli(["utils/no_such_script.sh"], monkeypatch)
    assert code != 0 and "not provided" in err
