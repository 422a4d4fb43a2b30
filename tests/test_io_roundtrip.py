"""Property tests: save -> load round trips for every encoding and channel count.

Expected sample values are computed here from the documented rules (sox's
``floor(x * 2**(bits-1) + 0.5)`` with clipping), not by the code under test.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import kaldibridge.io as kio

FUZZ = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))

# (format, encoding, bits) stored exactly as integers / floats
LINEAR = [
    ("wav", "PCM_U", 8),
    ("wav", "PCM_S", 16),
    ("wav", "PCM_S", 24),
    ("wav", "PCM_S", 32),
    ("wav", "PCM_F", 32),
    ("wav", "PCM_F", 64),
    ("flac", "FLAC", 8),
    ("flac", "FLAC", 16),
    ("flac", "FLAC", 24),
    ("sph", "PCM_S", 16),
    ("sph", "PCM_S", 24),
    ("sph", "PCM_S", 32),
    ("au", "PCM_S", 8),
    ("au", "PCM_S", 16),
    ("au", "PCM_S", 24),
    ("au", "PCM_S", 32),
    ("au", "PCM_F", 32),
    ("au", "PCM_F", 64),
    ("aiff", "PCM_S", 8),
    ("aiff", "PCM_S", 16),
    ("aiff", "PCM_S", 24),
    ("aiff", "PCM_S", 32),
    ("aiff", "PCM_F", 32),
    ("raw", "PCM_S", 16),
    ("raw", "PCM_U", 8),
    ("raw", "PCM_F", 32),
    ("w64", "PCM_S", 24),
    ("caf", "PCM_S", 16),
]
COMPANDED = [
    ("wav", "ULAW"),
    ("wav", "ALAW"),
    ("au", "ULAW"),
    ("au", "ALAW"),
    ("sph", "ULAW"),
    ("raw", "ULAW"),
    ("raw", "ALAW"),
]


def _expected_int(x: np.ndarray, bits: int) -> np.ndarray:
    top = 2.0 ** (bits - 1)
    q = np.floor(x.astype(np.float64) * top + 0.5)
    return (np.clip(q, -top, top - 1) / top).astype(np.float32)


def _raw_kw(fmt: str, enc: str, bits: int, rate: int, ch: int) -> dict:
    if fmt != "raw":
        return {}
    return {"format": "raw", "sample_rate": rate, "num_channels": ch, "encoding": enc,
            "bits_per_sample": bits}


waveforms = st.integers(1, 4).flatmap(
    lambda ch: hnp.arrays(
        np.float32,
        st.tuples(st.just(ch), st.integers(1, 300)),
        elements=st.floats(-1.25, 1.25, width=32),
    )
)


def _roundtrip(x: np.ndarray, fmt: str, enc: str, bits: int, rate: int = 16000) -> tuple[torch.Tensor, int]:
    buf = io.BytesIO()
    kio.save(buf, torch.from_numpy(x), rate, format=fmt, encoding=enc, bits_per_sample=bits)
    blob = buf.getvalue()
    return kio.load(blob, **_raw_kw(fmt, enc, bits, rate, x.shape[0]))


@pytest.mark.parametrize(("fmt", "enc", "bits"), LINEAR)
@settings(max_examples=max(5, FUZZ // 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=waveforms)
def test_linear_roundtrip_matches_sox_rounding(fmt: str, enc: str, bits: int, x: np.ndarray) -> None:
    y, rate = _roundtrip(x, fmt, enc, bits)
    assert rate == 16000
    assert y.dtype == torch.float32
    assert tuple(y.shape) == x.shape
    if enc == "PCM_F":
        want = x if bits == 32 else x.astype(np.float64).astype(np.float32)
    else:
        want = _expected_int(x, bits)
    np.testing.assert_array_equal(y.numpy(), want)


def _levels(subtype: str) -> np.ndarray:
    """All 256 reconstruction levels, decoded by libsndfile from raw code bytes."""
    codes = np.arange(256, dtype=np.uint8).tobytes()
    vals, _ = sf.read(io.BytesIO(codes), samplerate=8000, channels=1, format="RAW",
                      subtype=subtype, dtype="float32")
    return np.unique(vals)


@pytest.mark.parametrize(("fmt", "enc"), COMPANDED)
@settings(max_examples=max(5, FUZZ // 20), deadline=None)
@given(x=waveforms)
def test_companded_roundtrip_is_a_near_level(fmt: str, enc: str, x: np.ndarray) -> None:
    y, _ = _roundtrip(x, fmt, enc, 8, rate=8000)
    assert tuple(y.shape) == x.shape
    y = y.numpy()
    levels = _levels(enc)
    assert np.isin(y, levels).all()
    xc = np.clip(x, -1.0, 1.0)
    bound = 0.125 * np.abs(xc) + 32.0 / 32768.0
    assert (np.abs(y - xc) <= bound).all()
    # monotone: a larger input never gets a smaller level
    order = np.argsort(xc.ravel(), kind="stable")
    assert (np.diff(y.ravel()[order]) >= 0).all()


def _tone(ch: int, n: int, rate: int) -> np.ndarray:
    t = np.arange(n) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * (300 + 110 * c) * t) for c in range(ch)]).astype(np.float32)


def _snr(ref: np.ndarray, test: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref - test) ** 2.0)))


@pytest.mark.parametrize(
    ("fmt", "enc", "rate", "channels", "min_snr"),
    [
        ("wav", "IMA_ADPCM", 16000, 1, 20.0),
        ("wav", "IMA_ADPCM", 16000, 2, 20.0),
        ("wav", "MS_ADPCM", 16000, 1, 20.0),
        ("wav", "MS_ADPCM", 16000, 2, 20.0),
        ("wav", "GSM", 8000, 1, 5.0),
        ("ogg", "VORBIS", 16000, 1, 10.0),
        ("ogg", "VORBIS", 44100, 2, 10.0),
        ("mp3", "MP3", 44100, 2, 20.0),
        ("mp3", "MP3", 16000, 1, 20.0),
        ("opus", "OPUS", 48000, 1, 10.0),
    ],
)
def test_lossy_roundtrip_keeps_length_and_signal(fmt, enc, rate, channels, min_snr) -> None:
    x = _tone(channels, rate // 2, rate)
    buf = io.BytesIO()
    kio.save(buf, torch.from_numpy(x), rate, format=fmt, encoding=enc)
    y, got_rate = kio.load(buf.getvalue())
    meta = kio.info(buf.getvalue())
    assert got_rate == rate
    assert y.shape[0] == channels
    assert meta.encoding == enc
    assert meta.num_frames == y.shape[1]
    # block codecs pad the last block; nothing may be lost
    assert x.shape[1] <= y.shape[1] <= x.shape[1] + 2048
    if enc in ("VORBIS", "OPUS", "MP3"):
        # exact length: Ogg granule positions; MP3 written with a LAME tag decodes gapless
        assert y.shape[1] == x.shape[1]
    assert _snr(x, y.numpy()[:, : x.shape[1]]) >= min_snr


INT_NATIVE = [
    (np.int16, "wav", "PCM_S", 16, torch.int16),
    (np.int32, "wav", "PCM_S", 32, torch.int32),
    (np.uint8, "wav", "PCM_U", 8, torch.uint8),
    (np.int16, "flac", "FLAC", 16, torch.int16),
    (np.int16, "aiff", "PCM_S", 16, torch.int16),
]


@pytest.mark.parametrize(("dtype", "fmt", "enc", "bits", "tdtype"), INT_NATIVE)
@settings(max_examples=max(5, FUZZ // 20), deadline=None)
@given(data=st.data())
def test_integer_tensors_roundtrip_exactly_without_normalize(dtype, fmt, enc, bits, tdtype, data) -> None:
    info = np.iinfo(dtype)
    x = data.draw(hnp.arrays(dtype, st.tuples(st.integers(1, 3), st.integers(1, 200)),
                             elements=st.integers(int(info.min), int(info.max))))
    buf = io.BytesIO()
    kio.save(buf, torch.from_numpy(x), 8000, format=fmt, encoding=enc, bits_per_sample=bits)
    y, _ = kio.load(buf.getvalue(), normalize=False)
    assert y.dtype == tdtype
    np.testing.assert_array_equal(y.numpy(), x)
    meta = kio.info(buf.getvalue())
    assert meta.bits_per_sample == bits
    assert meta.num_frames == x.shape[1]
    assert meta.num_channels == x.shape[0]


def test_24_bit_without_normalize_is_left_justified_int32() -> None:
    vals = np.array([[-(2**23), -1, 0, 1, 2**23 - 1]], dtype=np.int64)
    x = (vals / 2.0**23).astype(np.float32)
    buf = io.BytesIO()
    kio.save(buf, torch.from_numpy(x), 16000, format="wav", encoding="PCM_S", bits_per_sample=24)
    y, _ = kio.load(buf.getvalue(), normalize=False)
    assert y.dtype == torch.int32
    np.testing.assert_array_equal(y.numpy(), vals * 256)


def test_default_encodings_follow_dtype() -> None:
    cases = [
        (torch.zeros(1, 10), "wav", ("PCM_F", 32)),
        (torch.zeros(1, 10, dtype=torch.float64), "wav", ("PCM_F", 64)),
        (torch.zeros(1, 10, dtype=torch.int16), "wav", ("PCM_S", 16)),
        (torch.zeros(1, 10, dtype=torch.int32), "wav", ("PCM_S", 32)),
        (torch.zeros(1, 10, dtype=torch.uint8), "wav", ("PCM_U", 8)),
        (torch.zeros(1, 10), "flac", ("FLAC", 24)),
        (torch.zeros(1, 10), "sph", ("PCM_S", 16)),
    ]
    for tensor, fmt, (enc, bits) in cases:
        buf = io.BytesIO()
        kio.save(buf, tensor, 16000, format=fmt)
        meta = kio.info(buf.getvalue())
        assert (meta.encoding, meta.bits_per_sample) == (enc, bits), (tensor.dtype, fmt)


@settings(max_examples=max(5, FUZZ // 10), deadline=None)
@given(x=waveforms, channels_first=st.booleans())
def test_channels_first_layouts_agree(x: np.ndarray, channels_first: bool) -> None:
    buf = io.BytesIO()
    t = torch.from_numpy(x if channels_first else np.ascontiguousarray(x.T))
    kio.save(buf, t, 8000, format="wav", channels_first=channels_first)
    y, _ = kio.load(buf.getvalue(), channels_first=channels_first)
    assert torch.equal(y, t)


def test_one_dimensional_input_is_mono(tmp_path) -> None:
    x = torch.linspace(-0.5, 0.5, 101)
    kio.save(tmp_path / "m.wav", x, 8000)
    y, rate = kio.load(tmp_path / "m.wav")
    assert rate == 8000
    assert tuple(y.shape) == (1, 101)
    assert torch.equal(y[0], x)
