"""Log mel filter-bank (FBANK) features, Kaldi's ``compute-fbank-feats``.

Kaldi: ``FbankOptions`` / ``FbankComputer`` (``src/feat/feature-fbank.{h,cc}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

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
from kaldibridge.kaldi.features.frame_options import FrameExtractionOptions, MelBanksOptions, f32
from kaldibridge.kaldi.options import OptionGroup, group, option

__all__ = ["FbankOptions", "FbankComputer", "fbank", "Fbank"]


@dataclass(frozen=True)
class FbankOptions(OptionGroup):
    """Options of FBANK extraction (frame and mel-bank groups nested, flags flat)."""

    frame_opts: FrameExtractionOptions = group(FrameExtractionOptions)
    mel_opts: MelBanksOptions = group(MelBanksOptions)
    use_energy: bool = option(False, "Prepend (or, with --htk-compat, append) the frame log energy")
    energy_floor: float = option(
        0.0, "Absolute floor on the energy before its log (only with --use-energy; useful with --dither=0, e.g. 1.0)"
    )
    raw_energy: bool = option(True, "Take the energy before pre-emphasis and windowing")
    htk_compat: bool = option(False, "Put the energy last instead of first (not enough by itself for HTK features)")
    use_log_fbank: bool = option(True, "Output log filter-bank energies; if false, linear ones")
    use_power: bool = option(True, "Use the power spectrum; if false, the magnitude spectrum")


class FbankComputer(FeatureComputer):
    """FBANK features of windowed frames; see :func:`fbank`."""

    options_class = FbankOptions
    opts: FbankOptions

    @property
    def dim(self) -> int:
        return self.opts.mel_opts.num_mel_bins + (1 if self.opts.use_energy else 0)

    def need_raw_log_energy(self) -> bool:
        return self.opts.use_energy and self.opts.raw_energy

    def _build_consts(self, warp: float) -> dict[str, Any]:
        mo, fo = self.opts.mel_opts, self.frame_opts
        bank = mel_filterbank(
            mo.num_mel_bins, fo.sample_frequency, fo.padded_window_size, mo.low_freq, mo.high_freq,
            mo.vtln_low, mo.vtln_high, warp,
        )
        return {"mel_t": torch.from_numpy(bank.weights.T.copy())}

    column_stage = "mel"

    def energy_kind(self) -> Any:
        if not self.opts.use_energy:
            return None
        return "raw" if self.opts.raw_energy else "windowed"

    def use_power(self) -> bool:
        return self.opts.use_power

    def compute_frames(self, frames: torch.Tensor, raw_log_energy: torch.Tensor | None, consts: Consts) -> torch.Tensor:
        o = self.opts
        energy = self.frame_log_energy(frames, raw_log_energy)
        spec = power_spectrum(frames, self.frame_opts.padded_window_size, consts, power=o.use_power, mode=self.fft_mode, ordered=False)
        return self.finish(torch.matmul(spec, consts["mel_t_unordered"]), energy)

    def finish(self, stage: torch.Tensor, log_energy: torch.Tensor | None) -> torch.Tensor:
        o = self.opts
        mel = log_floor(stage, FLT_EPSILON) if o.use_log_fbank else stage
        if not o.use_energy:
            return mel
        e = floored_log_energy(log_energy, o.energy_floor, "FBANK with use_energy").unsqueeze(-1)
        return torch.cat([mel, e] if o.htk_compat else [e, mel], dim=-1)


def fbank(
    waveform: torch.Tensor,
    opts: FbankOptions | None = None,
    *,
    lengths: torch.Tensor | Sequence[int] | None = None,
    sample_rate: float | None = None,
    vtln_warp: float | Sequence[float] = 1.0,
    generator: torch.Generator | None = None,
    fft: str = "kaldi",
    **overrides: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi FBANK features.

    Kaldi: ``compute-fbank-feats`` / ``Fbank::ComputeFeatures``.

    Args:
        waveform: ``(time,)`` or ``(batch, time)`` in int16 scale (a [-1, 1] signal times
            32768), float32 or float64 (integer tensors are converted to float32).
        opts: :class:`FbankOptions` (Kaldi's defaults if ``None``, including ``dither=1``).
        lengths: valid samples per row ``(batch,)`` for a padded batch (default: all).
        sample_rate: the waveform's rate in Hz if it may differ from
            ``opts.sample_frequency``; resampled when ``allow_downsample`` /
            ``allow_upsample`` permit it, else :class:`~kaldibridge.errors.OptionError`.
        vtln_warp: VTLN warp factor, or one per batch row.
        generator: source of the dither noise (``torch.Generator`` on the waveform's device).
        fft: ``"kaldi"`` (default) reproduces the rounding of Kaldi's float32 FFT code, so
            results equal Kaldi's to about 1e-6; ``"torch"`` uses ``torch.fft`` (on CPU
            ``torch.fft.rfft``, about 2.5x faster), but log energies of spectral regions
            far below the frame's total energy (typically the lowest or, after upsampling,
            the highest mel bins) then differ by up to about 3e-3 (2e-2 for single
            spectrogram bins), more than the golden tolerance on some frames.
        **overrides: flat option overrides, e.g. ``num_mel_bins=80, dither=0.0``.

    Returns:
        ``(features, num_frames)``: for ``(batch, time)`` input, features ``(batch,
        max_frames, dim)`` zero-padded past each row's count and ``num_frames`` int64
        ``(batch,)``; for ``(time,)`` input, features ``(frames, dim)`` and a 0-d count.
        A signal shorter than one frame gives 0 frames (Kaldi writes an empty matrix).

    Differences: dither noise comes from torch's generator, not Kaldi's ``rand()``; sums
    (frame means, energies, mel products) run in another order than Kaldi's BLAS calls
    (float32 rounding, about 1e-7 relative). On CPU the batch is processed one utterance
    at a time (faster there); other devices process the padded batch at once. Batched and
    per-utterance results are equal.
    """
    computer = _cached_computer(FbankComputer, opts, overrides, fft)
    return run_batch(computer, waveform, lengths=lengths, sample_rate=sample_rate, vtln_warp=vtln_warp,
                     generator=generator)


_COMPUTERS: dict[tuple, FeatureComputer] = {}


def _cached_computer(cls: type[FeatureComputer], opts: OptionGroup | None, overrides: dict[str, Any], fft: str = "kaldi") -> Any:
    """Computers (with their constant caches) for repeated calls with the same options.

    Looked up by the call's own arguments first, so that a repeated call does not rebuild
    its option groups (``replace`` with overrides costs about 0.2 ms).
    """
    try:
        call_key: tuple | None = (cls, opts, tuple(sorted(overrides.items())), fft)
        hit = _COMPUTERS.get(call_key)
    except TypeError:  # an unhashable override value: let the option checks report it
        call_key, hit = None, None
    if hit is not None:
        return hit
    if opts is None:
        opts = cls.options_class()
    if overrides:
        opts = opts.replace(**overrides)
    key = (cls, opts, fft)
    hit = _COMPUTERS.get(key)
    if hit is None:
        if len(_COMPUTERS) > 64:
            _COMPUTERS.clear()
        hit = cls(opts, fft=fft)
        _COMPUTERS[key] = hit
    if call_key is not None:
        _COMPUTERS[call_key] = hit
    return hit


class _FeatureModule(torch.nn.Module):
    computer_class: type[FeatureComputer]

    def __init__(
        self, opts: OptionGroup | None = None, *, vtln_warp: float = 1.0, fft: str = "kaldi", **overrides: Any
    ) -> None:
        super().__init__()
        self.computer = self.computer_class(opts, fft=fft, **overrides)
        self.opts = self.computer.opts
        self.vtln_warp = float(vtln_warp)
        for k, v in self.computer.consts(torch.float32, "cpu", self.vtln_warp).items():
            if not k.startswith("_"):
                self.register_buffer(k, v.clone(), persistent=False)
        self._names = [k for k in self.computer.consts(torch.float32, "cpu", self.vtln_warp) if not k.startswith("_")]
        # FFT tables are not buffers (nested structures); prebuild the usual ones so that
        # torch.compile finds them instead of tracing their construction.
        self._fft_cache: dict[tuple, Any] = {}
        for dt in (torch.float32, torch.float64):
            self._fft_tables(dt, torch.device("cpu"))

    def _fft_tables(self, dtype: torch.dtype, device: torch.device) -> Any:
        key = (dtype, device)
        hit = self._fft_cache.get(key)
        if hit is None:
            hit = self.computer.consts(dtype, device, self.vtln_warp)["_fft"]
            self._fft_cache[key] = hit
        return hit

    def forward(
        self,
        waveform: torch.Tensor,
        lengths: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        consts = {k: getattr(self, k).to(waveform.dtype) for k in self._names}
        consts["_fft"] = self._fft_tables(waveform.dtype, waveform.device)
        return run_batch(self.computer, waveform, lengths=lengths, vtln_warp=self.vtln_warp,
                         generator=generator, consts=consts)


class Fbank(_FeatureModule):
    """:func:`fbank` as an ``nn.Module`` (constants as buffers; move it with ``.to(device)``).

    Args:
        opts: :class:`FbankOptions`; ``**overrides`` flat overrides.
        vtln_warp: fixed VTLN warp factor.
        fft: ``"kaldi"`` or ``"torch"``, as for :func:`fbank`.

    ``forward(waveform, lengths=None, generator=None) -> (features, num_frames)`` with the
    shapes of :func:`fbank`.
    """

    computer_class = FbankComputer


def _unused(x: float) -> float:  # keep f32 imported for subclasses' use
    return f32(x)
