"""Perceptual linear prediction (PLP) cepstra, Kaldi's ``compute-plp-feats``.

Kaldi: ``PlpOptions`` / ``PlpComputer`` (``src/feat/feature-plp.{h,cc}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.dct import idft_bases, lifter_coeffs
from kaldibridge.functional.lpc import durbin, equal_loudness, lpc_to_cepstrum
from kaldibridge.functional.mel import mel_filterbank
from kaldibridge.functional.spectral import FLT_MIN
from kaldibridge.kaldi.features._common import Consts, FeatureComputer, energy_floor_log, power_spectrum, run_batch
from kaldibridge.kaldi.features.fbank import _cached_computer, _FeatureModule
from kaldibridge.kaldi.features.frame_options import FrameExtractionOptions, MelBanksOptions, f32
from kaldibridge.kaldi.options import OptionGroup, group, option

__all__ = ["PlpOptions", "PlpComputer", "plp", "Plp"]


@dataclass(frozen=True)
class PlpOptions(OptionGroup):
    """Options of PLP extraction (frame and mel-bank groups nested, flags flat)."""

    frame_opts: FrameExtractionOptions = group(FrameExtractionOptions)
    mel_opts: MelBanksOptions = group(MelBanksOptions)
    lpc_order: int = option(12, "Order of the linear-prediction model")
    num_ceps: int = option(13, "Number of cepstral coefficients kept, C0 included")
    use_energy: bool = option(True, "Replace C0 by the frame log energy")
    energy_floor: float = option(
        0.0, "Absolute floor on the energy before its log (only with --use-energy; useful with --dither=0, e.g. 1.0)"
    )
    raw_energy: bool = option(True, "Take the energy before pre-emphasis and windowing")
    compress_factor: float = option(0.33333, "Exponent of the intensity-to-loudness compression")
    cepstral_lifter: int = option(22, "Sine-lifter constant Q applied to the cepstra (0 disables liftering)")
    cepstral_scale: float = option(1.0, "Factor applied to all cepstra")
    htk_compat: bool = option(False, "Put the energy/C0 last (not enough by itself for HTK features)")


class PlpComputer(FeatureComputer):
    """PLP features of windowed frames; see :func:`plp`."""

    options_class = PlpOptions
    opts: PlpOptions

    @property
    def dim(self) -> int:
        return self.opts.num_ceps

    def need_raw_log_energy(self) -> bool:
        return self.opts.use_energy and self.opts.raw_energy

    def _check(self) -> None:
        o = self.opts
        if o.lpc_order < 1:
            raise OptionError(f"--lpc-order must be at least 1, got {o.lpc_order}")
        if not 1 <= o.num_ceps <= o.lpc_order + 1:
            raise OptionError(
                f"--num-ceps ({o.num_ceps}) must lie between 1 and --lpc-order + 1 ({o.lpc_order + 1})"
            )

    def _build_consts(self, warp: float) -> dict[str, Any]:
        o, mo, fo = self.opts, self.opts.mel_opts, self.frame_opts
        bank = mel_filterbank(
            mo.num_mel_bins, fo.sample_frequency, fo.padded_window_size, mo.low_freq, mo.high_freq,
            mo.vtln_low, mo.vtln_high, warp,
        )
        out: dict[str, Any] = {
            "mel_t": torch.from_numpy(bank.weights.T.copy()),
            "loudness": torch.from_numpy(equal_loudness(bank.center_freqs)),
            "idft_t": torch.from_numpy(idft_bases(o.lpc_order + 1, mo.num_mel_bins + 2).T.copy()),
        }
        if o.cepstral_lifter != 0:
            out["lifter"] = torch.from_numpy(lifter_coeffs(float(o.cepstral_lifter), o.num_ceps))
        return out

    def compute_frames(self, frames: torch.Tensor, raw_log_energy: torch.Tensor | None, consts: Consts) -> torch.Tensor:
        o = self.opts
        energy = raw_log_energy
        if o.use_energy and not o.raw_energy:
            energy = torch.log(torch.clamp_min((frames * frames).sum(-1), FLT_MIN))
        spec = power_spectrum(frames, self.frame_opts.padded_window_size, consts, mode=self.fft_mode, ordered=False)
        mel = torch.matmul(spec, consts["mel_t_unordered"]) * consts["loudness"]
        # powf is (nearly always) correctly rounded: evaluate in float64 and round once
        mel = torch.pow(mel.to(torch.float64), f32(o.compress_factor)).to(frames.dtype)
        dup = torch.cat([mel[..., :1], mel, mel[..., -1:]], dim=-1)
        autocorr = torch.matmul(dup, consts["idft_t"])
        lpc, resid = durbin(autocorr)
        # Kaldi: -log(1 / residual) in double precision, then floored at FLT_MIN
        c0 = (-torch.log(1.0 / resid.to(torch.float64))).to(frames.dtype)
        c0 = torch.clamp_min(c0, FLT_MIN)
        cep = lpc_to_cepstrum(lpc)
        feats = torch.cat([c0.unsqueeze(-1), cep[..., : o.num_ceps - 1]], dim=-1)
        if "lifter" in consts:
            feats = feats * consts["lifter"]
        if f32(o.cepstral_scale) != 1.0:
            feats = feats * f32(o.cepstral_scale)
        if o.use_energy:
            assert energy is not None
            floor = energy_floor_log(o.energy_floor)
            if floor is not None:
                energy = torch.clamp_min(energy, floor)
            feats = torch.cat([energy.unsqueeze(-1), feats[..., 1:]], dim=-1)
        if o.htk_compat:
            feats = torch.cat([feats[..., 1:], feats[..., :1]], dim=-1)
        return feats


def plp(
    waveform: torch.Tensor,
    opts: PlpOptions | None = None,
    *,
    lengths: torch.Tensor | Sequence[int] | None = None,
    sample_rate: float | None = None,
    vtln_warp: float | Sequence[float] = 1.0,
    generator: torch.Generator | None = None,
    fft: str = "kaldi",
    **overrides: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi PLP features.

    Kaldi: ``compute-plp-feats`` / ``Plp::ComputeFeatures``.

    Arguments, return values and differences as for :func:`kaldibridge.kaldi.fbank`
    (options: :class:`PlpOptions`; ``dim = num_ceps``). The Levinson-Durbin recursion and
    the LPC-to-cepstrum step run once per LPC order over all frames at once.
    """
    computer = _cached_computer(PlpComputer, opts, overrides, fft)
    return run_batch(computer, waveform, lengths=lengths, sample_rate=sample_rate, vtln_warp=vtln_warp,
                     generator=generator)


class Plp(_FeatureModule):
    """:func:`plp` as an ``nn.Module``; see :class:`kaldibridge.kaldi.Fbank`."""

    computer_class = PlpComputer

