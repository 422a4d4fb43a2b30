"""Mel-frequency cepstral coefficients, Kaldi's ``compute-mfcc-feats``.

Kaldi: ``MfccOptions`` / ``MfccComputer`` (``src/feat/feature-mfcc.{h,cc}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.dct import dct_matrix, lifter_coeffs
from kaldibridge.functional.mel import mel_filterbank
from kaldibridge.functional.spectral import FLT_EPSILON
from kaldibridge.kaldi.features._common import (
    Consts,
    FeatureComputer,
    floored_log_energy,
    log_floor,
    power_spectrum,
    run_batch,
)
from kaldibridge.kaldi.features.fbank import _cached_computer, _FeatureModule
from kaldibridge.kaldi.features.frame_options import FrameExtractionOptions, MelBanksOptions, f32
from kaldibridge.kaldi.options import OptionGroup, group, option

__all__ = ["MfccOptions", "MfccComputer", "mfcc", "Mfcc"]

@dataclass(frozen=True)
class MfccOptions(OptionGroup):
    """Options of MFCC extraction (frame and mel-bank groups nested, flags flat)."""

    frame_opts: FrameExtractionOptions = group(FrameExtractionOptions)
    mel_opts: MelBanksOptions = group(MelBanksOptions)
    num_ceps: int = option(13, "Number of cepstral coefficients kept, C0 included")
    use_energy: bool = option(True, "Replace C0 by the frame log energy")
    energy_floor: float = option(
        0.0, "Absolute floor on the energy before its log (only with --use-energy; useful with --dither=0, e.g. 1.0)"
    )
    raw_energy: bool = option(True, "Take the energy before pre-emphasis and windowing")
    cepstral_lifter: float = option(22.0, "Sine-lifter constant Q applied to the cepstra (0 disables liftering)")
    htk_compat: bool = option(
        False, "Put the energy/C0 last and scale C0 by sqrt(2) as HTK does (not enough by itself for HTK features)"
    )


class MfccComputer(FeatureComputer):
    """MFCC features of windowed frames; see :func:`mfcc`."""

    options_class = MfccOptions
    opts: MfccOptions

    @property
    def dim(self) -> int:
        return self.opts.num_ceps

    def need_raw_log_energy(self) -> bool:
        return self.opts.use_energy and self.opts.raw_energy

    def _check(self) -> None:
        o = self.opts
        if o.num_ceps > o.mel_opts.num_mel_bins:
            raise OptionError(
                "num-ceps cannot be larger than num-mel-bins. It should be smaller or equal. "
                f"You provided num-ceps: {o.num_ceps}  and num-mel-bins: {o.mel_opts.num_mel_bins}"
            )
        if o.num_ceps < 1:
            raise OptionError(f"--num-ceps must be at least 1, got {o.num_ceps}")

    def _build_consts(self, warp: float) -> dict[str, Any]:
        o, mo, fo = self.opts, self.opts.mel_opts, self.frame_opts
        bank = mel_filterbank(
            mo.num_mel_bins, fo.sample_frequency, fo.padded_window_size, mo.low_freq, mo.high_freq,
            mo.vtln_low, mo.vtln_high, warp,
        )
        out: dict[str, Any] = {
            "mel_t": torch.from_numpy(bank.weights.T.copy()),
            "dct_t": torch.from_numpy(dct_matrix(o.num_ceps, mo.num_mel_bins).T.copy()),
        }
        if f32(o.cepstral_lifter) != 0.0:
            out["lifter"] = torch.from_numpy(lifter_coeffs(o.cepstral_lifter, o.num_ceps))
        return out

    column_stage = "mel"

    def energy_kind(self) -> Any:
        if not self.opts.use_energy:
            return None
        return "raw" if self.opts.raw_energy else "windowed"

    def compute_frames(self, frames: torch.Tensor, raw_log_energy: torch.Tensor | None, consts: Consts) -> torch.Tensor:
        energy = self.frame_log_energy(frames, raw_log_energy)
        spec = power_spectrum(frames, self.frame_opts.padded_window_size, consts, mode=self.fft_mode, ordered=False)
        return self._cepstra(torch.matmul(spec, consts["mel_t_unordered"]), energy, consts)

    def finish(self, stage: torch.Tensor, log_energy: torch.Tensor | None) -> torch.Tensor:
        return self._cepstra(stage, log_energy, self.consts(stage.dtype, stage.device, 1.0))

    def _cepstra(self, mel: torch.Tensor, energy: torch.Tensor | None, consts: Consts) -> torch.Tensor:
        o = self.opts
        feats = torch.matmul(log_floor(mel, FLT_EPSILON), consts["dct_t"])
        if "lifter" in consts:
            feats = feats * consts["lifter"]
        if o.use_energy:
            energy = floored_log_energy(energy, o.energy_floor, "MFCC with use_energy")
            feats = torch.cat([energy.unsqueeze(-1), feats[..., 1:]], dim=-1)
        if o.htk_compat:
            c0 = feats[..., :1]
            if not o.use_energy:  # Kaldi: float * M_SQRT2 in double, rounded back
                c0 = (c0.to(torch.float64) * math.sqrt(2.0)).to(feats.dtype)
            feats = torch.cat([feats[..., 1:], c0], dim=-1)
        return feats


def mfcc(
    waveform: torch.Tensor,
    opts: MfccOptions | None = None,
    *,
    lengths: torch.Tensor | Sequence[int] | None = None,
    sample_rate: float | None = None,
    vtln_warp: float | Sequence[float] = 1.0,
    generator: torch.Generator | None = None,
    fft: str = "kaldi",
    **overrides: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi MFCC features.

    Kaldi: ``compute-mfcc-feats`` / ``Mfcc::ComputeFeatures``.

    Arguments, return values and differences as for :func:`kaldibridge.kaldi.fbank`
    (options: :class:`MfccOptions`; ``dim = num_ceps``).
    """
    computer = _cached_computer(MfccComputer, opts, overrides, fft)
    return run_batch(computer, waveform, lengths=lengths, sample_rate=sample_rate, vtln_warp=vtln_warp,
                     generator=generator)


class Mfcc(_FeatureModule):
    """:func:`mfcc` as an ``nn.Module``; see :class:`kaldibridge.kaldi.Fbank`."""

    computer_class = MfccComputer
