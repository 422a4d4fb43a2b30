"""Perceptual linear prediction (PLP) cepstra, Kaldi's ``compute-plp-feats``.

Kaldi: ``PlpOptions`` / ``PlpComputer`` (``src/feat/feature-plp.{h,cc}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.dct import lifter_coeffs
from kaldibridge.functional.lpc import autocorr_bases, durbin, equal_loudness, lpc_to_cepstrum
from kaldibridge.functional.mel import mel_filterbank
from kaldibridge.functional.spectral import FLT_MIN
from kaldibridge.kaldi.features._common import Consts, FeatureComputer, floored_log_energy, power_spectrum, run_batch
from kaldibridge.kaldi.features.fbank import _cached_computer, _FeatureModule
from kaldibridge.kaldi.features.frame_options import FrameExtractionOptions, MelBanksOptions, f32
from kaldibridge.kaldi.options import OptionGroup, group, option

__all__ = ["PlpOptions", "PlpComputer", "plp", "Plp"]

# The LPC recursion amplifies the last bit of its autocorrelations a thousandfold on
# sharply resonant frames, so PLP only matches Kaldi when the two BLAS reductions that feed
# it (mel energies: ``cblas_sdot`` per bin; autocorrelations: ``cblas_sgemv``) round like
# the reference build's OpenBLAS 0.3.21 kernels for AVX-512 ("SkylakeX") CPUs. The helpers
# below reproduce their summation order (lanes, fused multiply-adds, double-precision tail),
# vectorized over frames; FMAs are emulated exactly through float64 products.


def _fma(prod64: torch.Tensor, acc: torch.Tensor) -> torch.Tensor:
    """float32 ``fma(a, b, acc)`` given the exact float64 product ``a * b``."""
    return (prod64 + acc.to(torch.float64)).to(torch.float32)


def _hsum4(v: torch.Tensor) -> torch.Tensor:
    """Two ``haddps``: ``(v0 + v1) + (v2 + v3)`` over the last dimension (4 lanes)."""
    return (v[..., 0] + v[..., 1]) + (v[..., 2] + v[..., 3])


def _blas_sdot_bins(spec: torch.Tensor, index: torch.Tensor, weight: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Mel energies ``sum_k w[b, k] spec[idx[b, k]]`` in OpenBLAS ``sdot``'s order.

    The first ``n & -32`` products go through the SIMD kernel (16-lane FMA accumulators
    for whole 64-blocks, folded to 8 lanes, 8-lane FMA accumulators for a remaining
    32-block, then ``((a0 + a1) + a2) + a3``, halves and horizontal adds); the rest are
    float32 products summed one by one in float64, the kernel's sum added last.

    Args:
        spec: float32 ``(..., num_fft_bins)`` power spectrum in natural order.
        index: ``(num_bins, L)`` spectrum index of each weight (``L`` a multiple of 64).
        weight: float32 ``(num_bins, L)``, zero past each bin's length.
        length: ``(num_bins,)`` non-zero span of each bin.

    Returns:
        float32 ``(..., num_bins)``.
    """
    x = spec[..., index]  # (..., B, L)
    p32 = x * weight
    n1 = length & -32
    pos = torch.arange(index.shape[-1], device=index.device)
    # tail: float32 products added one by one in float64 (zeros elsewhere add nothing)
    in_tail = (pos[None, :] >= n1[:, None]) & (pos[None, :] < length[:, None])
    pt = torch.where(in_tail, p32, p32.new_zeros(()))[..., : int(length.max())].movedim(-1, 0).contiguous()
    tail = pt[0].to(torch.float64)
    for t in range(1, pt.shape[0]):
        tail += pt[t]
    kernel = p32.new_zeros(p32.shape[:-1])
    sel = torch.nonzero(n1 > 0).squeeze(1)
    if sel.numel():
        width = int(n1.max())
        n1s, n64s = n1[sel], length[sel] & -64
        p64 = x[..., sel, :width].to(torch.float64) * weight[sel, :width].to(torch.float64)
        lead = p64.shape[:-1]
        acc16 = p32.new_zeros(*lead, 4, 16)
        for c in range(0, int(n64s.max()), 64):
            live = (c < n64s).view(-1, 1, 1)
            acc16 = torch.where(live, _fma(p64[..., c:c + 64].reshape(*lead, 4, 16), acc16), acc16)
        acc8 = acc16[..., :8] + acc16[..., 8:]
        for c in range(0, width, 32):
            live = ((c >= n64s) & (c < n1s)).view(-1, 1, 1)
            acc8 = torch.where(live, _fma(p64[..., c:c + 32].reshape(*lead, 4, 8), acc8), acc8)
        a = ((acc8[..., 0, :] + acc8[..., 1, :]) + acc8[..., 2, :]) + acc8[..., 3, :]
        kernel[..., sel] = _hsum4(a[..., :4] + a[..., 4:])
    return (tail + kernel.to(torch.float64)).to(torch.float32)


def _blas_sgemv_rows(mat: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """``mat @ vec`` (row-major, no transpose) in OpenBLAS ``sgemv_t``'s order.

    The first ``m - m % 4`` columns run through the kernels (rows by four: 8-lane FMA
    accumulators; a pair of rows, then a single row: 4-lane SSE sums of rounded products),
    each reduced by halves and horizontal adds; the last ``m % 4`` columns are then added
    to every row with fused multiply-adds.

    Args:
        mat: float32 ``(rows, m)``.
        vec: float32 ``(..., m)``.

    Returns:
        float32 ``(..., rows)``.
    """
    rows, m = mat.shape
    nb = m - (m & 3)
    p32 = vec.unsqueeze(-2) * mat  # (..., rows, m)
    p64 = vec.to(torch.float64).unsqueeze(-2) * mat.to(torch.float64)
    r4 = rows & -4
    parts: list[torch.Tensor] = []
    if r4:
        q = p64[..., :r4, :]
        acc = p32.new_zeros(*q.shape[:-1], 8)
        pos = 0
        if nb & 4:
            acc = torch.cat([q[..., 0:4].to(torch.float32), acc[..., 4:]], dim=-1)
            pos = 4
        if nb & 8:
            acc = _fma(q[..., pos:pos + 8], acc)
            pos += 8
        while pos < nb:
            acc = _fma(q[..., pos:pos + 8], acc)
            acc = _fma(q[..., pos + 8:pos + 16], acc)
            pos += 16
        parts.append(_hsum4(acc[..., :4] + acc[..., 4:]))
    if rows & 2:
        q = p32[..., r4:r4 + 2, :]
        acc = q.new_zeros(*q.shape[:-1], 4)
        for c in range(0, nb, 4):
            acc = acc + q[..., c:c + 4]
        parts.append(_hsum4(acc))
    if rows & 1:
        q = p32[..., rows - 1:, :]
        lo = q.new_zeros(*q.shape[:-1], 4)
        hi = q.new_zeros(*q.shape[:-1], 4)
        pos = 0
        if nb & 4:
            lo = lo + q[..., 0:4]
            pos = 4
        while pos < nb:
            lo = lo + q[..., pos:pos + 4]
            hi = hi + q[..., pos + 4:pos + 8]
            pos += 8
        parts.append(_hsum4(lo + hi))
    y = torch.cat(parts, dim=-1) if nb else p32.new_zeros(p32.shape[:-1])
    rest = m - nb
    if rest == 1:
        y = _fma(p64[..., nb], y)
    elif rest >= 2:
        t = p32[..., nb]
        for c in range(nb + 1, m):
            t = _fma(p64[..., c], t)
        y = y + t
    return y


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
        bases = autocorr_bases(o.lpc_order + 1, mo.num_mel_bins + 2)
        # each bin's weights gathered from its first non-zero spectrum index (BLAS order)
        length = bank.last - bank.first + 1
        width = max(64, -(-int(length.max()) // 64) * 64)
        index = np.minimum(bank.first[:, None] + np.arange(width)[None, :], bank.weights.shape[1] - 1)
        weight = np.where(np.arange(width)[None, :] < length[:, None],
                          np.take_along_axis(bank.weights, index, axis=1), np.float32(0.0))
        out: dict[str, Any] = {
            "mel_t": torch.from_numpy(bank.weights.T.copy()),
            "loudness": torch.from_numpy(equal_loudness(bank.center_freqs)),
            "idft_t": torch.from_numpy(bases.T.copy()),
            "idft": torch.from_numpy(bases),
            # integer tables ride along as float32 (exact) like every other constant
            "sdot_index": torch.from_numpy(index.astype(np.float32)),
            "sdot_weight": torch.from_numpy(weight.astype(np.float32)),
            "sdot_length": torch.from_numpy(length.astype(np.float32)),
        }
        if o.cepstral_lifter != 0:
            out["lifter"] = torch.from_numpy(lifter_coeffs(float(o.cepstral_lifter), o.num_ceps))
        return out

    def compute_frames(self, frames: torch.Tensor, raw_log_energy: torch.Tensor | None, consts: Consts) -> torch.Tensor:
        o = self.opts
        energy = raw_log_energy
        if o.use_energy and not o.raw_energy:
            energy = torch.log(torch.clamp_min((frames * frames).sum(-1), FLT_MIN))
        exact = frames.dtype == torch.float32 and consts["idft"].shape[1] < 4096
        spec = power_spectrum(frames, self.frame_opts.padded_window_size, consts, mode=self.fft_mode,
                              ordered=exact)
        if exact:
            mel = _blas_sdot_bins(spec, consts["sdot_index"].long(), consts["sdot_weight"],
                                  consts["sdot_length"].long())
        else:
            mel = torch.matmul(spec, consts["mel_t_unordered"])
        mel = mel * consts["loudness"]
        # powf is (nearly always) correctly rounded: evaluate in float64 and round once
        mel = torch.pow(mel.to(torch.float64), f32(o.compress_factor)).to(frames.dtype)
        dup = torch.cat([mel[..., :1], mel, mel[..., -1:]], dim=-1)
        if exact:
            autocorr = _blas_sgemv_rows(consts["idft"], dup)
        else:
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
            energy = floored_log_energy(energy, o.energy_floor, "PLP with use_energy")
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

