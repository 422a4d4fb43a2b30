"""Linear prediction pieces of PLP analysis: equal-loudness weights, Levinson-Durbin,
LPC -> cepstrum. Vectorized over any leading dimensions (one Python iteration per LPC
order, never per frame); float32 inputs are processed in float32 step by step like the
classic C implementation.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["equal_loudness", "autocorr_bases", "durbin", "lpc_to_cepstrum"]


def equal_loudness(center_freqs: np.ndarray) -> np.ndarray:
    """Equal-loudness pre-emphasis weight of each band (Hermansky's PLP curve).

    ``w(f) = (f^2 / (f^2 + 1.6e5))^2 (f^2 + 1.44e6) / (f^2 + 9.61e6)``.

    Args:
        center_freqs: float32 ``(num_bins,)`` band centres in Hz.

    Returns:
        float32 numpy ``(num_bins,)``.
    """
    f0 = np.asarray(center_freqs, dtype=np.float32)
    fsq = f0 * f0
    fsub = (fsq.astype(np.float64) / (fsq.astype(np.float64) + 1.6e5)).astype(np.float32)
    ratio = (fsq.astype(np.float64) + 1.44e6) / (fsq.astype(np.float64) + 9.61e6)
    return ((fsub * fsub).astype(np.float64) * ratio).astype(np.float32)


def autocorr_bases(num_bases: int, dim: int) -> np.ndarray:
    """Inverse-DFT bases turning a compressed auditory spectrum into autocorrelations.

    ``dim`` spectrum points from 0 to Nyquist (ends included) give ``num_bases`` lags:
    ``r[i] = sum_j B[i, j] x[j]`` with ``B[i, 0] = s``, ``B[i, j] = 2 s cos(pi i j / (dim - 1))``
    and ``B[i, dim - 1] = s cos(pi i)``, ``s = 1 / (2 (dim - 1))``. The angle and scale are
    float32, the angle products float32, and each cosine is taken in double precision and
    only rounded to float32 after the scaling (one rounding per entry), as the reference
    PLP implementation does.

    Args:
        num_bases: number of lags (LPC order + 1).
        dim: number of spectrum points (mel bins + 2).

    Returns:
        float32 numpy ``(num_bases, dim)``.
    """
    f32 = np.float32
    d1 = f32(dim - 1)
    angle = f32(math.pi / float(d1))
    scale = f32(1.0 / (2.0 * float(d1)))
    i = np.arange(num_bases, dtype=np.float32)[:, None]
    j = np.arange(dim, dtype=np.float32)[None, :]
    cosv = np.cos(((angle * i) * j).astype(np.float64))
    out = (2.0 * float(scale) * cosv).astype(np.float32)
    out[:, 0] = scale
    out[:, dim - 1] = (float(scale) * cosv[:, dim - 1]).astype(np.float32)
    return out


def durbin(autocorr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Levinson-Durbin recursion.

    Solves for the predictor ``a`` of order ``n`` from autocorrelations ``r[0..n]``, with the
    sign convention ``a_i = -k_i`` for the reflection coefficients. The prediction error is
    floored per step (``1 - k^2 >= 1e-5``) so that constant signals give no NaNs.

    Args:
        autocorr: ``(..., n + 1)``.

    Returns:
        ``(lpc (..., n), residual energy (...))``.
    """
    n = autocorr.shape[-1] - 1
    energy = autocorr[..., 0]
    floor = torch.tensor(1.0e-5, dtype=autocorr.dtype, device=autocorr.device)
    coefs: list[torch.Tensor] = []
    for i in range(n):
        ki = autocorr[..., i + 1]
        for j in range(i):
            ki = ki + coefs[j] * autocorr[..., i - j]
        ki = ki / energy
        c = 1 - ki * ki
        c = torch.where(c < 1.0e-5, floor, c)
        energy = energy * c
        new = [coefs[j] - ki * coefs[i - j - 1] for j in range(i)]
        new.append(-ki)
        coefs = new
    if n == 0:
        return autocorr[..., :0], energy
    return torch.stack(coefs, dim=-1), energy


def lpc_to_cepstrum(lpc: torch.Tensor) -> torch.Tensor:
    """Cepstrum of the all-pole model ``1 / (1 + sum a_j z^-j)``, ``n`` coefficients.

    ``c_i = -a_i - (1 / (i + 1)) sum_{j < i} (i - j) a_j c_{i-j-1}``; the products are
    formed in the input dtype, the sum and the final step in float64 (as the reference
    implementation does), the result is rounded back to the input dtype.

    Args:
        lpc: ``(..., n)``.

    Returns:
        ``(..., n)``.
    """
    n = lpc.shape[-1]
    acc_dtype = torch.float64 if lpc.dtype in (torch.float32, torch.float64) else lpc.dtype
    cep: list[torch.Tensor] = []
    for i in range(n):
        total = torch.zeros(lpc.shape[:-1], dtype=acc_dtype, device=lpc.device)
        for j in range(i):
            total = total + (float(i - j) * lpc[..., j] * cep[i - j - 1]).to(acc_dtype)
        ci = -lpc[..., i].to(acc_dtype) - total / float(i + 1)
        cep.append(ci.to(lpc.dtype))
    if n == 0:
        return lpc
    return torch.stack(cep, dim=-1)
