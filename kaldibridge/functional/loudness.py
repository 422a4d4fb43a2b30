"""Integrated loudness after ITU-R BS.1770-4 (K-weighting, 400 ms blocks, two-stage gating)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional.mixing import _iir_filter

__all__ = ["loudness", "k_weighting_coeffs"]

# Analog parameters of the two K-weighting stages. At 48 kHz they reproduce the
# coefficients printed in BS.1770-4 (Tables 1 and 2) to about 1e-10; at other rates
# the same analog filters are mapped through the bilinear transform.
_SHELF_FC = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_BAND_EXP = 0.4996667741545416
_HIGHPASS_FC = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773

_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs
_BLOCK_SECONDS = 0.4
_OVERLAP = 0.75
_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
_OFFSET = -0.691


def k_weighting_coeffs(sample_rate: float) -> tuple[tuple[list[float], list[float]], tuple[list[float], list[float]]]:
    """Coefficients ``((b1, a1), (b2, a2))`` of the two K-weighting biquads.

    Stage 1 is the high-frequency shelf (head effects), stage 2 the RLB high-pass.

    Args:
        sample_rate: Sampling rate in Hz.

    Returns:
        Two ``(b, a)`` pairs of three coefficients each, ``a[0] == 1``.
    """
    if sample_rate <= 2 * _SHELF_FC:
        raise OptionError(f"sample_rate {sample_rate} Hz is too low for K-weighting (needs > {2 * _SHELF_FC:.0f} Hz)")
    k = math.tan(math.pi * _SHELF_FC / sample_rate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_BAND_EXP
    norm = 1.0 + k / _SHELF_Q + k * k
    b1 = [(vh + vb * k / _SHELF_Q + k * k) / norm, 2.0 * (k * k - vh) / norm, (vh - vb * k / _SHELF_Q + k * k) / norm]
    a1 = [1.0, 2.0 * (k * k - 1.0) / norm, (1.0 - k / _SHELF_Q + k * k) / norm]
    k = math.tan(math.pi * _HIGHPASS_FC / sample_rate)
    norm = 1.0 + k / _HIGHPASS_Q + k * k
    b2 = [1.0, -2.0, 1.0]
    a2 = [1.0, 2.0 * (k * k - 1.0) / norm, (1.0 - k / _HIGHPASS_Q + k * k) / norm]
    return (b1, a1), (b2, a2)


def _poly_mul(p: list[float], q: list[float]) -> list[float]:
    out = [0.0] * (len(p) + len(q) - 1)
    for i, pi in enumerate(p):
        for j, qj in enumerate(q):
            out[i + j] += pi * qj
    return out


def _k_weight(x: Tensor, sample_rate: float) -> Tensor:
    (b1, a1), (b2, a2) = k_weighting_coeffs(sample_rate)
    # Both stages run as one fourth-order filter through the exact FFT-based helper, which
    # traces under torch.compile/torch.export (the coefficients are Python constants).
    return _iir_filter(x, _poly_mul(b1, b2), _poly_mul(a1, a2))


def loudness(waveform: Tensor, sample_rate: int) -> Tensor:
    """Integrated loudness in LKFS (LUFS) after ITU-R BS.1770-4.

    Each channel is K-weighted; mean squares are taken over 400 ms blocks with 75 % overlap;
    blocks below -70 LKFS and then blocks more than 10 LU below the loudness of the
    remaining ones are dropped; the channel-weighted (1, 1, 1, 1.41, 1.41) mean square of the
    kept blocks gives the loudness. Filtering is done in float64.

    Args:
        waveform: Audio, shape ``(..., channels, time)`` with at most 5 channels in the order
            L, R, C, Ls, Rs. A 1-D input is one mono signal. A ``(batch, time)`` tensor is read
            as ``batch`` channels of one programme (torchaudio's convention): write mono
            batches as ``(batch, 1, time)``.
        sample_rate: Sampling rate in Hz.

    Returns:
        Loudness, shape ``(...)``; NaN when the signal is shorter than one block or every block
        is gated out.

    Differences:
        torchaudio approximates the K-weighting with its generic treble and high-pass
        biquads; the filters here are those of the standard (exact at 48 kHz).
    """
    if waveform.dim() == 1:
        waveform = waveform.unsqueeze(0)
    channels = waveform.shape[-2]
    if channels > len(_CHANNEL_WEIGHTS):
        raise OptionError(f"loudness supports up to 5 channels; got {channels} (shape {tuple(waveform.shape)})")
    block = int(round(_BLOCK_SECONDS * sample_rate))
    step = int(round(block * (1 - _OVERLAP)))
    if waveform.shape[-1] < block:
        real = waveform.dtype if waveform.is_floating_point() else torch.float32
        return torch.full(waveform.shape[:-2], float("nan"), dtype=real, device=waveform.device)
    weighted = _k_weight(waveform, sample_rate)
    energy = weighted.pow(2).unfold(-1, block, step).mean(dim=-1)  # (..., channels, blocks)
    g = torch.tensor(_CHANNEL_WEIGHTS[:channels], dtype=energy.dtype, device=energy.device).unsqueeze(-1)
    block_loudness = _OFFSET + 10 * torch.log10((g * energy).sum(dim=-2))  # (..., blocks)

    def gated_mean(keep: Tensor) -> Tensor:
        keep_f = keep.unsqueeze(-2).to(energy.dtype)
        per_channel = (keep_f * energy).sum(dim=-1) / keep_f.sum(dim=-1)
        return (g.squeeze(-1) * per_channel).sum(dim=-1)

    keep = block_loudness > _ABSOLUTE_GATE
    relative = _OFFSET + 10 * torch.log10(gated_mean(keep)) + _RELATIVE_GATE
    keep = keep & (block_loudness > relative.unsqueeze(-1))
    return _OFFSET + 10 * torch.log10(gated_mean(keep))
