"""FLAC streams without audio frames (libsndfile writes none and cannot read them back)."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
import torch

import kaldibridge.io as kio


@pytest.mark.parametrize("channels", [1, 2, 5])
@pytest.mark.parametrize("bits", [16, 24])
def test_empty_flac_round_trip(channels, bits):
    buf = io.BytesIO()
    kio.save(buf, torch.zeros(channels, 0), 22050, format="flac", bits_per_sample=bits)
    data = buf.getvalue()
    assert data.startswith(b"fLaC") and len(data) == 42  # marker + one STREAMINFO block
    assert kio.info(data) == kio.AudioMetaData(22050, 0, channels, bits, "FLAC")
    wav, rate = kio.load(data)
    assert rate == 22050 and tuple(wav.shape) == (channels, 0)


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs the sox program to write/read the reference file")
def test_empty_flac_agrees_with_sox(tmp_path):
    ref = tmp_path / "sox_empty.flac"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "2", "-b", "24", str(ref), "trim", "0", "0"], check=True)
    wav, rate = kio.load(ref)
    assert rate == 16000 and tuple(wav.shape) == (2, 0)
    ours = tmp_path / "ours.flac"
    kio.save(ours, torch.zeros(2, 0), 16000, bits_per_sample=24)
    info = subprocess.run(["sox", "--i", str(ours)], capture_output=True, text=True, check=True).stdout
    assert "Channels       : 2" in info and "Sample Rate    : 16000" in info
    raw = subprocess.run(["sox", str(ours), "-t", "raw", "-"], capture_output=True, check=True).stdout
    assert raw == b""
