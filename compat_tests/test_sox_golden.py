"""Every case of ``../shared/golden/sox/manifest.json``, compared by its ``compare`` class.

- exact / iir / fir: same shape and rate, samples within 1e-5 (measured: <= 6e-8).
- resample / algorithmic: exact output shape and rate, SNR against sox's output at least
  ``_SNR_FLOOR_DB`` (60 dB, the target) unless the case has a measured, documented floor
  in ``_SNR_FLOOR_OVERRIDES``.
- decision: the same cut points; the retained samples equal the input slice.
- error: the same kind of failure (usage error for exit 1, refusal for exit 2).
- random (dither): exact, since the generator is seeded like ``sox -R``.
- text (stat, stats): the report equals sox's stderr exactly.
Cases using an effect that is not implemented yet are reported as xfail naming the effect.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kaldibridge.sox import EffectRefusedError, EffectUsageError, apply_effects_file, effect_names

GOLDEN = Path(os.environ.get("KALDIBRIDGE_GOLDEN", Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"))
SOX = GOLDEN / "sox"
MANIFEST = json.loads((SOX / "manifest.json").read_text()) if (SOX / "manifest.json").exists() else []

_SNR_FLOOR_DB = 60.0
#: measured floors (dB) for cases whose algorithm is not a bit-exact port yet
_SNR_FLOOR_OVERRIDES: dict[str, float] = {}


def _output_rate(case: dict) -> int | None:
    argv = case["argv"]
    out_pos = next(i for i, a in enumerate(argv) if a.startswith("{out}") or a == "-n")
    head = argv[:out_pos]
    if "-r" in head[4:]:
        return int(float(head[head.index("-r", 4) + 1]))
    return None


def _missing(case: dict) -> list[str]:
    known = set(effect_names())
    used = [e[0] for e in case["effects"]] + [a.split()[0] for a in case.get("auto_inserted_effects", [])]
    return [name for name in used if name not in known]


def _run(case: dict):
    return apply_effects_file(GOLDEN / case["input"], case["effects"], output_sample_rate=_output_rate(case))


def _read_ref(case: dict) -> tuple[np.ndarray, int]:
    ref, sr = sf.read(GOLDEN / case["output"], dtype="float32", always_2d=True)
    return ref.T, sr


def _snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    noise = float(np.sum((ref.astype(np.float64) - got.astype(np.float64)) ** 2))
    signal = float(np.sum(ref.astype(np.float64) ** 2))
    if noise == 0:
        return math.inf
    return 10 * math.log10(signal / noise)


@pytest.mark.skipif(not MANIFEST, reason="sox goldens not found (set KALDIBRIDGE_GOLDEN)")
@pytest.mark.parametrize("case", MANIFEST, ids=[c["name"] for c in MANIFEST])
def test_sox_case(case: dict) -> None:
    kind = case["compare"]
    missing = _missing(case)
    if missing:
        pytest.xfail(f"effect {', '.join(sorted(set(missing)))} not implemented yet, issue #9")
    if kind == "text":
        reports: list[str] = []
        apply_effects_file(GOLDEN / case["input"], case["effects"], reports=reports)
        assert "".join(reports) == (GOLDEN / case["text_output"]).read_text()
        return
    if kind == "error":
        expected = EffectUsageError if case["exit_code"] == 1 else EffectRefusedError
        with pytest.raises(expected):
            _run(case)
        return
    y, sr = _run(case)
    got = y.numpy()
    ref, ref_sr = _read_ref(case)
    assert sr == ref_sr == case["sample_rate_out"]
    assert got.shape == ref.shape, f"shape {got.shape} != sox {ref.shape}"
    if kind in ("exact", "iir", "fir", "random"):
        # random: dither reproduces `sox -R`'s seeded generator, so it matches exactly
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
    elif kind in ("resample", "algorithmic"):
        floor = _SNR_FLOOR_OVERRIDES.get(case["name"], _SNR_FLOOR_DB)
        snr = _snr_db(ref, got)
        assert snr >= floor, f"SNR {snr:.1f} dB < {floor} dB"
    elif kind == "decision":
        # same cut points (shape checked above) and the retained samples unchanged
        np.testing.assert_array_equal(got, ref)
    else:  # pragma: no cover - a new compare class in the manifest
        pytest.fail(f"unknown compare class {kind!r}")
