"""kaldibridge.io against sox's decodes in ../shared/golden/io (manifest-driven).

Every case of ``io/manifest.json`` is loaded straight from the golden folder:

* lossless files decode to sox's reference within 1e-6;
* lossy ones are checked by length and SNR (MP3 after aligning, see the golden
  README: sox-written MP3s carry 1105 samples of codec delay, LAME-tagged files
  decode gapless here);
* ``info()`` agrees with the manifest;
* corrupt headers decode what sox decodes, or raise an error naming the file;
* saving the float master with the case's encoding reproduces sox's samples.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import kaldibridge.io as kio
from kaldibridge.errors import AudioFormatError


def _golden_root() -> Path:
    env = os.environ.get("KALDIBRIDGE_GOLDEN")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"


GOLDEN = _golden_root()
MANIFEST = GOLDEN / "io" / "manifest.json"
CASES = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else []
BY_NAME = {c["name"]: c for c in CASES}
NAMES = sorted(BY_NAME)

pytestmark = pytest.mark.skipif(not CASES, reason=f"golden io manifest not found at {MANIFEST}")

# a lossless re-encode of the master is only comparable when the file holds it all
_REENCODABLE = {"PCM_S", "PCM_U", "PCM_F", "ULAW", "ALAW", "FLAC"}
_MP3_FRAME = 1152
_LIBMAD_DELAY = 529  # decoder delay of libmad, which made the references


def _raw_kwargs(case: dict) -> dict:
    rp = case.get("raw_params")
    if not rp:
        return {}
    return {
        "format": "raw",
        "sample_rate": int(rp["sample_rate"]),
        "num_channels": int(rp["channels"]),
        "encoding": rp["encoding"],
        "bits_per_sample": int(rp["bits"]),
        "endianness": rp.get("endian", "little"),
    }


def _reference(case: dict, channels: int | None = None) -> np.ndarray:
    """sox's decode, shape (frames, channels)."""
    nch = int(case["channels"]) if channels is None else channels
    return np.fromfile(GOLDEN / case["reference"], "<f4").reshape(-1, nch)


def _snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    noise = float(np.sum((ref.astype(np.float64) - test) ** 2))
    power = float(np.sum(ref.astype(np.float64) ** 2))
    if noise == 0.0:
        return float("inf")
    return 10.0 * np.log10(power / noise)


def _best_lag(a: np.ndarray, b: np.ndarray, max_lag: int) -> int:
    """Lag L (|L| <= max_lag) minimizing the mean squared error between a[i] and b[i + L].

    Plain cross-correlation is ambiguous on steady tones (any multiple of the period
    scores alike); the error over the overlap also sees the onset and the end.
    Shapes: a (n,), b (m,) float64 (sum over channels for multichannel).
    """
    n, m = len(a), len(b)
    size = 1 << (n + m - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    ca = np.concatenate([[0.0], np.cumsum(a * a)])
    cb = np.concatenate([[0.0], np.cumsum(b * b)])
    best, best_err = 0, np.inf
    for lag in range(-max_lag, max_lag + 1):
        # overlap: i in [max(0, -lag), min(n, m - lag))
        lo, hi = max(0, -lag), min(n, m - lag)
        if hi - lo < min(n, m) // 2:
            continue
        ea = ca[hi] - ca[lo]
        eb = cb[hi + lag] - cb[lo + lag]
        err = (ea + eb - 2.0 * corr[lag % size]) / (hi - lo)
        if err < best_err:
            best, best_err = lag, err
    return best


def _load_case(case: dict, **kw) -> tuple[np.ndarray, int]:
    wav, rate = kio.load(GOLDEN / case["file"], channels_first=False, **_raw_kwargs(case), **kw)
    return wav.numpy(), rate


@pytest.mark.parametrize("name", NAMES)
def test_decode_matches_sox(name: str) -> None:
    case = BY_NAME[name]
    if case.get("decode_exit_code", 0) != 0:
        with pytest.raises(AudioFormatError) as err:
            _load_case(case)
        assert Path(case["file"]).name in str(err.value)
        return
    ref = _reference(case)
    try:
        got, rate = _load_case(case)
    except AudioFormatError as exc:
        # sox decoded nothing (e.g. a header with no data): a clear error is fine
        assert len(ref) == 0, f"sox decodes {len(ref)} frames but load() raised {exc}"
        assert Path(case["file"]).name in str(exc)
        return
    assert rate == case["sample_rate"]
    assert got.dtype == np.float32
    assert got.shape[1] == case["channels"]
    enc = case["encoding"]
    if not case["lossy"]:
        assert got.shape == ref.shape
        if len(ref):
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    elif enc == "MP3":
        _check_mp3(case, got, ref)
    else:
        # Vorbis: exact length, float rounding differences only.
        # ADPCM and GSM: deterministic integer decoders, expected (near) exact.
        assert got.shape == ref.shape
        floor = 50.0 if enc == "VORBIS" else 80.0
        assert _snr_db(ref, got) >= floor


def _check_mp3(case: dict, got: np.ndarray, ref: np.ndarray) -> None:
    src_frames = _source_frames(case)
    # every source sample is present; at most the codec delay and padding added
    assert src_frames <= len(got) <= src_frames + 3 * _MP3_FRAME
    lag = _best_lag(got.astype(np.float64).sum(1), ref.astype(np.float64).sum(1), 4 * _MP3_FRAME)
    tag = case.get("lame_tag") or {}
    if tag.get("encoder_delay") is not None:
        # gapless decode here; sox's reference keeps the Info frame (one MPEG frame:
        # 1152 samples for MPEG-1, 576 below 32 kHz) and the encoder and decoder delays
        frame = _MP3_FRAME if case["sample_rate"] >= 32000 else _MP3_FRAME // 2
        assert lag == frame + int(tag["encoder_delay"]) + _LIBMAD_DELAY
        assert len(got) == src_frames
    else:
        assert lag == 0
    if lag >= 0:
        a, b = got, ref[lag:]
    else:
        a, b = got[-lag:], ref
    n = min(len(a), len(b))
    assert n >= 0.8 * min(len(got), src_frames)
    assert _snr_db(b[:n], a[:n]) >= 30.0


@pytest.mark.parametrize("name", NAMES)
def test_info_matches_manifest(name: str) -> None:
    case = BY_NAME[name]
    path = GOLDEN / case["file"]
    try:
        meta = kio.info(path, **_raw_kwargs(case))
    except AudioFormatError as exc:
        assert case["num_frames_decoded"] == 0
        assert Path(case["file"]).name in str(exc)
        return
    assert meta.sample_rate == case["sample_rate"]
    assert meta.num_channels == case["channels"]
    assert meta.encoding == case["encoding"]
    assert meta.bits_per_sample == case["bits_per_sample"]
    if case["encoding"] == "MP3":
        # decoders differ in MP3 length; info() must agree with load()
        wav, _ = kio.load(path)
        assert meta.num_frames == wav.shape[1]
    else:
        assert meta.num_frames == case["num_frames_decoded"]
        if case["num_frames"] == case["num_frames_decoded"]:
            assert meta.num_frames == case["num_frames"]


EXTRA = [(c["name"], i) for c in CASES for i, _ in enumerate(c.get("extra_references") or [])]


@pytest.mark.parametrize(("name", "index"), EXTRA)
def test_ignore_length_matches_sox(name: str, index: int) -> None:
    case = BY_NAME[name]
    extra = case["extra_references"][index]
    assert "--ignore-length" in extra["decode_argv"]
    ref = _reference(extra, case["channels"])
    got, _ = _load_case(case, ignore_length=True)
    assert got.shape == ref.shape == (extra["num_frames_decoded"], case["channels"])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    meta = kio.info(GOLDEN / case["file"], ignore_length=True)
    assert meta.num_frames == extra["num_frames_decoded"]


@pytest.mark.parametrize("name", NAMES)
def test_bytes_and_file_like_sources_agree_with_path(name: str) -> None:
    case = BY_NAME[name]
    path = GOLDEN / case["file"]
    raw = _raw_kwargs(case)
    try:
        ref, rate = kio.load(path, **raw)
    except AudioFormatError:
        with pytest.raises(AudioFormatError):
            kio.load(path.read_bytes(), **raw)
        return
    blob = path.read_bytes()
    from_bytes, r1 = kio.load(blob, **raw)
    from_stream, r2 = kio.load(io.BytesIO(blob), **raw)
    assert r1 == r2 == rate
    assert torch.equal(from_bytes, ref)
    assert torch.equal(from_stream, ref)


def _source_frames(case: dict) -> int:
    if case.get("source_num_frames") is not None:
        return int(case["source_num_frames"])
    return kio.info(GOLDEN / case["source"]).num_frames


SAVE_CASES = [
    c["name"]
    for c in CASES
    if not c["lossy"]
    and c["encoding"] in _REENCODABLE
    and c.get("source")
    and (GOLDEN / c["source"]).is_file()
    and c["num_frames"] == c["num_frames_decoded"] == _source_frames(c)
]


@pytest.mark.parametrize("name", SAVE_CASES)
def test_save_reproduces_sox_encoding(name: str, tmp_path: Path) -> None:
    case = BY_NAME[name]
    master, rate = kio.load(GOLDEN / case["source"])
    fmt = case["format"]
    suffix = {"vorbis": "ogg"}.get(fmt, fmt)
    out = tmp_path / f"out.{suffix}"
    enc = case["encoding"]
    bits = int(case["bits_per_sample"])
    kw: dict = {}
    if fmt == "raw":
        rp = case["raw_params"]
        kw = {"endianness": rp.get("endian", "little")}
    kio.save(out, master, rate, encoding=enc, bits_per_sample=bits, **kw)
    got, got_rate = kio.load(out, channels_first=False, **_raw_kwargs(case))
    ref = _reference(case)
    assert got_rate == rate
    assert got.shape == ref.shape
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-6)
