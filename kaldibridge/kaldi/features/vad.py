"""Kaldi's energy-based voice activity detection (compute-vad, select-voiced-frames).

Kaldi: ``VadEnergyOptions``, ``ComputeVadEnergy`` in
``src/ivector/voice-activity-detection.cc``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaldibridge.errors import FormatError, OptionError
from kaldibridge.kaldi.options import OptionGroup, option

__all__ = ["VadEnergyOptions", "compute_vad_energy", "select_voiced_frames"]


@dataclass(frozen=True)
class VadEnergyOptions(OptionGroup):
    """Energy VAD options (compute-vad).

    Kaldi: ``VadEnergyOptions``.
    """

    vad_energy_threshold: float = option(
        5.0, "Constant part of the threshold on the log energy (feature column 0)."
    )
    vad_energy_mean_scale: float = option(
        0.5,
        "The threshold is vad-energy-threshold plus this times the mean log energy of "
        "the utterance.",
    )
    vad_frames_context: int = option(
        0, "Frames on each side of a frame that take part in its decision."
    )
    vad_proportion_threshold: float = option(
        0.6,
        "A frame is voiced if at least this proportion of the frames in its window are "
        "above the threshold.",
    )

    def validate(self) -> None:
        if self.vad_energy_mean_scale < 0.0:
            raise OptionError("--vad-energy-mean-scale must be >= 0")
        if self.vad_frames_context < 0:
            raise OptionError("--vad-frames-context must be >= 0")
        if not 0.0 < self.vad_proportion_threshold < 1.0:
            raise OptionError("--vad-proportion-threshold must be in (0, 1)")


def compute_vad_energy(feats: Any, opts: VadEnergyOptions | None = None, **kwargs: Any) -> Any:
    """Per-frame voicing decisions (1.0 voiced, 0.0 not) from column 0 (log energy).

    Args:
        feats: ``(frames, dim)`` features whose first column is a log energy (MFCC C0
            with energy), or a batch ``(batch, frames, dim)`` of equal lengths.
        opts: VAD options; keywords override them.

    Returns:
        float32 ``(frames,)`` (or ``(batch, frames)``) of 0/1, numpy or torch like ``feats``.

    Raises:
        FormatError: an empty matrix.

    Thresholds and proportions are compared in float32 as in Kaldi; the mean is summed
    in float64.

    Kaldi: ``ComputeVadEnergy``.
    """
    o = opts or VadEnergyOptions()
    if kwargs:
        o = o.replace(**kwargs)
    o.validate()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(feats, torch.Tensor):
        return torch.from_numpy(compute_vad_energy(feats.detach().cpu().numpy(), o)).to(feats.device)
    x = np.asarray(feats)
    if x.ndim < 2 or x.shape[-2] == 0 or x.shape[-1] == 0:
        raise FormatError("compute-vad: empty feature matrix")
    energy = x[..., 0].astype(np.float32)
    n = energy.shape[-1]
    threshold = np.full(energy.shape[:-1], np.float32(o.vad_energy_threshold), dtype=np.float32)
    if o.vad_energy_mean_scale != 0.0:
        mean = (energy.sum(axis=-1, dtype=np.float64) / n).astype(np.float32)
        threshold = threshold + np.float32(o.vad_energy_mean_scale) * mean
    above = energy > threshold[..., None]
    c = o.vad_frames_context
    # votes in the window [t - c, t + c] clipped to the utterance, from prefix sums
    prefix = np.zeros(energy.shape[:-1] + (n + 1,), dtype=np.int64)
    np.cumsum(above, axis=-1, out=prefix[..., 1:])
    t = np.arange(n)
    lo, hi = np.maximum(t - c, 0), np.minimum(t + c + 1, n)
    num = (prefix[..., hi] - prefix[..., lo]).astype(np.float32)
    den = (hi - lo).astype(np.float32)
    return (num >= den * np.float32(o.vad_proportion_threshold)).astype(np.float32)


def select_voiced_frames(feats: Any, voiced: Any) -> Any:
    """Rows of ``feats`` whose voicing value is nonzero.

    Args:
        feats: ``(frames, dim)``, numpy or torch.
        voiced: ``(frames,)`` 0/1 vector.

    Returns:
        ``(num_voiced, dim)`` like ``feats``.

    Raises:
        FormatError: lengths differ.

    Kaldi: select-voiced-frames.
    """
    if feats.shape[0] != voiced.shape[0]:
        raise FormatError(
            f"Mismatch in number for frames {feats.shape[0]} for features and VAD {voiced.shape[0]}"
        )
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(feats, torch.Tensor):
        mask = torch.as_tensor(voiced, device=feats.device) != 0
        return feats[mask]
    return np.asarray(feats)[np.asarray(voiced) != 0]
