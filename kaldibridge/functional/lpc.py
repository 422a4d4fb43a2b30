"""Linear prediction pieces of PLP analysis: equal-loudness weights, Levinson-Durbin,
LPC -> cepstrum. Vectorized over any leading dimensions (one Python iteration per LPC
order, never per frame); float32 inputs are processed in float32 step by step like the
classic C implementation.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["equal_loudness", "durbin", "lpc_to_cepstrum"]


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
