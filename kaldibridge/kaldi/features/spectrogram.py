"""Log power spectrogram, Kaldi's ``compute-spectrogram-feats``.

Kaldi: ``SpectrogramOptions`` / ``SpectrogramComputer`` (``src/feat/feature-spectrogram.{h,cc}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from kaldibridge.functional.spectral import FLT_EPSILON
from kaldibridge.kaldi.features._common import Consts, FeatureComputer, floored_log_energy, log_floor, rfft, run_batch
from kaldibridge.kaldi.features.fbank import _cached_computer, _FeatureModule
from kaldibridge.kaldi.features.frame_options import FrameExtractionOptions
from kaldibridge.kaldi.options import OptionGroup, group, option

__all__ = ["SpectrogramOptions", "SpectrogramComputer", "spectrogram", "Spectrogram"]


@dataclass(frozen=True)
class SpectrogramOptions(OptionGroup):
    """Options of spectrogram extraction (frame group nested, flags flat)."""

    frame_opts: FrameExtractionOptions = group(FrameExtractionOptions)
    energy_floor: float = option(
        0.0, "Absolute floor on the frame energy that replaces the DC bin (the bins themselves are floored at float epsilon)"
    )
    raw_energy: bool = option(True, "Take the energy before pre-emphasis and windowing")
    return_raw_fft: bool = option(
        False, "Output the raw FFT (packed real/imaginary parts, padded-window-size values) instead of log power"
    )


class SpectrogramComputer(FeatureComputer):
    """Spectrogram features of windowed frames; see :func:`spectrogram`."""

    options_class = SpectrogramOptions
    opts: SpectrogramOptions

    @property
    def dim(self) -> int:
        n = self.frame_opts.padded_window_size
        return n if self.opts.return_raw_fft else n // 2 + 1

    def need_raw_log_energy(self) -> bool:
        return self.opts.raw_energy

    @property
    def column_stage(self) -> Any:  # type: ignore[override]
        return None if self.opts.return_raw_fft else "power"

    def energy_kind(self) -> Any:
        return "raw" if self.opts.raw_energy else "windowed"

    def compute_frames(self, frames: torch.Tensor, raw_log_energy: torch.Tensor | None, consts: Consts) -> torch.Tensor:
        o = self.opts
        n = self.frame_opts.padded_window_size
        energy = self.frame_log_energy(frames, raw_log_energy)
        re, im = rfft(frames, n, consts, self.fft_mode)
        if o.return_raw_fft:
            head = torch.stack([re[..., 0], re[..., -1]], dim=-1)
            body = torch.stack([re[..., 1:-1], im[..., 1:-1]], dim=-1).flatten(-2)
            return torch.cat([head, body], dim=-1)
        return self.finish(re * re + im * im, energy)

    def finish(self, stage: torch.Tensor, log_energy: torch.Tensor | None) -> torch.Tensor:
        energy = floored_log_energy(log_energy, self.opts.energy_floor, "the spectrogram")
        logp = log_floor(stage, FLT_EPSILON)
        return torch.cat([energy.unsqueeze(-1), logp[..., 1:]], dim=-1)


def spectrogram(
    waveform: torch.Tensor,
    opts: SpectrogramOptions | None = None,
    *,
    lengths: torch.Tensor | Sequence[int] | None = None,
    sample_rate: float | None = None,
    generator: torch.Generator | None = None,
    fft: str = "kaldi",
    **overrides: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi log power spectrogram; column 0 holds the frame log energy.

    Kaldi: ``compute-spectrogram-feats`` / ``Spectrogram::ComputeFeatures``.

    Arguments, return values and differences as for :func:`kaldibridge.kaldi.fbank`
    (options: :class:`SpectrogramOptions`; no VTLN; ``dim = padded_window_size / 2 + 1``,
    or ``padded_window_size`` with ``return_raw_fft``).
    """
    computer = _cached_computer(SpectrogramComputer, opts, overrides, fft)
    return run_batch(computer, waveform, lengths=lengths, sample_rate=sample_rate, generator=generator)


class Spectrogram(_FeatureModule):
    """:func:`spectrogram` as an ``nn.Module``; see :class:`kaldibridge.kaldi.Fbank`."""

    computer_class = SpectrogramComputer
