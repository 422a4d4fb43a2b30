"""Fuzz: corrupt audio never escapes as anything but AudioFormatError.

Mutations (truncation, byte flips, random runs) of the golden io and audio files are
fed to kaldibridge.io.load/info and kaldibridge.kaldi.wave readers. Example counts
scale with KALDIBRIDGE_FUZZ_EXAMPLES.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kaldibridge.io as kio
from kaldibridge.errors import AudioFormatError
from kaldibridge.kaldi.wave import WaveData, read_kaldi_wave, read_kaldi_wave_from_stream

FUZZ = int(os.environ.get("KALDIBRIDGE_FUZZ_EXAMPLES", "200"))
GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN")
              or Path(__file__).resolve().parents[1] / ".." / "shared" / "golden")
FILES = sorted(
    str(p) for d in ("io", "audio") if (GOLDEN / d).is_dir()
    for p in (GOLDEN / d).iterdir() if p.is_file() and p.suffix != ".json" and p.stat().st_size < 200_000
)
WAVS = [f for f in FILES if f.endswith(".wav")]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not FILES, reason=f"golden audio not found under {GOLDEN}")]


@st.composite
def mutated(draw, files: list[str]) -> bytes:
    blob = bytearray(Path(draw(st.sampled_from(files))).read_bytes())
    kind = draw(st.sampled_from(["truncate", "flip", "run"]))
    if kind == "truncate":
        return bytes(blob[: draw(st.integers(0, len(blob)))])
    head = min(len(blob), 256)  # headers live at the start
    if kind == "flip":
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, max(head - 1, 0)))
            if blob:
                blob[i] = draw(st.integers(0, 255))
        return bytes(blob)
    i = draw(st.integers(0, max(len(blob) - 1, 0)))
    run = draw(st.binary(min_size=1, max_size=64))
    blob[i: i + len(run)] = run
    return bytes(blob)


@settings(max_examples=max(20, FUZZ // 4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blob=mutated(FILES) if FILES else st.just(b""))
def test_io_raises_only_audio_format_errors(blob: bytes) -> None:
    logging.disable(logging.WARNING)
    try:
        for fn in (kio.load, kio.info):
            try:
                out = fn(blob)
            except AudioFormatError as exc:
                assert "<bytes>" in str(exc)
            else:
                assert out is not None
    finally:
        logging.disable(logging.NOTSET)


@settings(max_examples=max(20, FUZZ // 4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blob=mutated(WAVS) if WAVS else st.just(b""), strict=st.booleans())
def test_kaldi_wave_raises_only_audio_format_errors(blob: bytes, strict: bool) -> None:
    logging.disable(logging.WARNING)
    try:
        for fn in (lambda: read_kaldi_wave(blob, strict=strict),
                   lambda: read_kaldi_wave_from_stream(io.BytesIO(blob), strict=strict)):
            try:
                w = fn()
            except AudioFormatError as exc:
                assert str(exc)
            else:
                assert isinstance(w, WaveData) and w.data.ndim == 2
    finally:
        logging.disable(logging.NOTSET)
