"""kaldibridge pitch against kaldi-native-fbank (a C++ port of Kaldi's pitch) on option
combinations the golden set does not cover: f0 range, penalty, resampling, chunking,
recompute frame, latency, ballast mode, post-processing contexts.

The peer is optional (not a kaldibridge dependency); without it these tests are skipped.
kaldi-native-fbank draws its own delta-pitch noise, so the noise is switched off here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kaldibridge.kaldi.features.pitch import PitchExtractionOptions, ProcessPitchOptions, compute_and_process_kaldi_pitch

knf = pytest.importorskip("kaldi_native_fbank", reason="optional peer kaldi-native-fbank is not installed")

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
AUDIO = GOLDEN / "audio"
pytestmark = pytest.mark.skipif(not AUDIO.exists(), reason="golden audio not present at ../shared/golden")

_KNF_NAMES = {
    "sample_frequency": "samp_freq",
    "frame_length": "frame_length_ms",
    "frame_shift": "frame_shift_ms",
    "resample_frequency": "resample_freq",
    "preemphasis_coefficient": "preemph_coeff",
}

CASES = [
    ("s16k_b1.wav", dict(min_f0=80.0, max_f0=300.0), {}),
    ("s16k_b1.wav", dict(penalty_factor=0.5, soft_min_f0=0.0), {}),
    ("s16k_b1.wav", dict(resample_frequency=3000.0, lowpass_cutoff=900.0, lowpass_filter_width=3), {}),
    ("s16k_b1.wav", dict(frame_length=30.0, frame_shift=12.5, delta_pitch=0.01, nccf_ballast=1000.0), {}),
    ("s16k_b1.wav", dict(preemphasis_coefficient=0.97), {}),
    ("s16k_b1.wav", dict(frames_per_chunk=5, recompute_frame=40), {}),
    ("s16k_b1.wav", dict(frames_per_chunk=3, max_frames_latency=15, simulate_first_pass_online=True), {}),
    ("s16k_b1.wav", dict(nccf_ballast_online=True, frames_per_chunk=4), {}),
    ("s16k_b1.wav", dict(frames_per_chunk=10, simulate_first_pass_online=True),
     dict(delay=2, normalization_right_context=10)),
    ("s16k_b1.wav", {}, dict(normalization_left_context=20, normalization_right_context=5, delta_window=3,
                             pitch_scale=1.5, pov_scale=0.5, pov_offset=0.1, delta_pitch_scale=5.0)),
    ("s8k_n1.wav", dict(sample_frequency=8000.0, resample_frequency=2600.0), {}),
]


@pytest.mark.parametrize("wav,popts,qopts", CASES)
def test_agrees_with_kaldi_native_fbank(wav, popts, qopts):
    path = AUDIO / wav
    if not path.exists():
        pytest.skip(f"{wav} not in the golden audio set")
    x, _ = sf.read(str(path), dtype="int16", always_2d=True)
    x = x[:, 0].astype(np.float32)
    qopts = dict(qopts, delta_pitch_noise_stddev=0.0, add_raw_log_pitch=True)
    kp, kq = knf.PitchExtractionOptions(), knf.ProcessPitchOptions()
    for k, v in popts.items():
        setattr(kp, _KNF_NAMES.get(k, k), v)
    for k, v in qopts.items():
        setattr(kq, k, v)
    theirs = np.asarray(knf.compute_and_process_kaldi_pitch(kp, kq, x))
    ours = compute_and_process_kaldi_pitch(x, PitchExtractionOptions(**popts), ProcessPitchOptions(**qopts)).numpy()
    assert ours.shape == theirs.shape
    bad = ~np.isclose(ours, theirs, rtol=1e-3, atol=1e-3).all(axis=1)
    assert bad.mean() <= 0.02
