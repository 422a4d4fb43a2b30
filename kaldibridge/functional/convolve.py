"""Convolution of signals: direct, FFT, and overlap-add block convolution.

:func:`convolve` and :func:`fftconvolve` have torchaudio's signatures and semantics
(``(..., N)`` with ``(..., M)``, leading dimensions broadcast; ``mode`` "full", "valid"
or "same"). :func:`block_fft_convolve` is overlap-add convolution with a fixed FFT size,
as used for room-impulse-response augmentation. (Noise at a given SNR:
:func:`kaldibridge.functional.add_noise`.)
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["convolve", "fftconvolve", "block_fft_convolve", "next_power_of_two"]

Mode = Literal["full", "valid", "same"]


def next_power_of_two(n: int) -> int:
    """Smallest power of two ``>= n`` (1 for ``n <= 1``)."""
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


def _check(x: Tensor, y: Tensor, mode: str) -> None:
    if x.dim() < 1 or y.dim() < 1:
        raise ValueError("convolve: inputs need at least one dimension")
    if x.shape[-1] == 0 or y.shape[-1] == 0:
        raise ValueError("convolve: inputs must not be empty along the last dimension")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"convolve: unknown mode {mode!r}; expected 'full', 'valid' or 'same'")


def _apply_mode(full: Tensor, n: int, m: int, mode: str) -> Tensor:
    if mode == "full":
        return full
    if mode == "valid":
        length = max(n, m) - min(n, m) + 1
    else:  # "same": centred, as long as x
        length = n
    start = (full.shape[-1] - length) // 2
    return full[..., start : start + length]


def fftconvolve(x: Tensor, y: Tensor, mode: Mode = "full") -> Tensor:
    """Convolve along the last dimension with FFTs.

    Args:
        x: ``(..., N)``.
        y: ``(..., M)``; leading dimensions broadcast with ``x``'s.
        mode: "full" (``N + M - 1`` samples), "valid" (``max - min + 1``) or "same"
            (``N``, centred).

    Returns:
        The convolution, float dtype of the inputs.
    """
    _check(x, y, mode)
    n, m = x.shape[-1], y.shape[-1]
    size = n + m - 1
    fft_size = next_power_of_two(size)
    prod = torch.fft.rfft(x, n=fft_size) * torch.fft.rfft(y, n=fft_size)
    full = torch.fft.irfft(prod, n=fft_size)[..., :size]
    return _apply_mode(full, n, m, mode)


def convolve(x: Tensor, y: Tensor, mode: Mode = "full") -> Tensor:
    """Direct (time-domain) convolution along the last dimension; see :func:`fftconvolve`."""
    _check(x, y, mode)
    n, m = x.shape[-1], y.shape[-1]
    shape = torch.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    xb = x.expand(shape + (n,)).reshape(1, -1, n)
    yb = y.expand(shape + (m,)).reshape(-1, 1, m).flip(-1)
    full = F.conv1d(F.pad(xb, (m - 1, m - 1)), yb, groups=xb.shape[1])
    return _apply_mode(full.reshape(shape + (n + m - 1,)), n, m, mode)


def block_fft_convolve(
    signal: Tensor,
    filt: Tensor,
    *,
    fft_length: int | None = None,
    dc_nyquist_as_complex: bool = False,
) -> Tensor:
    """Full convolution by overlap-add of FFT blocks.

    The signal (zero-extended to the output length ``N + M - 1``) is cut into blocks of
    ``fft_length - M + 1`` samples; all blocks are transformed at once, multiplied by
    the filter's spectrum, transformed back and overlap-added.

    Args:
        signal: ``(..., N)``.
        filt: ``(M,)`` filter (impulse response).
        fft_length: FFT size; default the power of two ``>= 4 * M``.
        dc_nyquist_as_complex: multiply the DC and Nyquist bins as if they were the
            real and imaginary parts of one complex number (``dc = a0 b0 - a1 b1``,
            ``nyquist = a0 b1 + a1 b0``), which is what FFT code that packs both real
            bins into one complex slot does when it multiplies spectra naively. Off,
            the result is the exact convolution.

    Returns:
        ``(..., N + M - 1)`` in the dtype of ``signal``.
    """
    if filt.dim() != 1 or filt.numel() == 0:
        raise ValueError("block_fft_convolve: filt must be a non-empty 1-D tensor")
    n, m = signal.shape[-1], filt.numel()
    out_len = n + m - 1
    size = fft_length or next_power_of_two(4 * m)
    if size < m:
        raise ValueError(f"block_fft_convolve: fft_length {size} is shorter than the filter ({m})")
    block = size - m + 1
    num_blocks = -(-out_len // block)
    padded = F.pad(signal, (0, num_blocks * block - n))
    blocks = padded.reshape(signal.shape[:-1] + (num_blocks, block))
    spec = torch.fft.rfft(blocks, n=size)
    fspec = torch.fft.rfft(filt.to(signal.dtype), n=size)
    prod = spec * fspec
    if dc_nyquist_as_complex:
        a0, a1 = spec[..., 0].real, spec[..., -1].real
        b0, b1 = fspec[0].real, fspec[-1].real
        prod = torch.cat(
            [
                torch.complex(a0 * b0 - a1 * b1, torch.zeros_like(a0)).unsqueeze(-1),
                prod[..., 1:-1],
                torch.complex(a0 * b1 + a1 * b0, torch.zeros_like(a0)).unsqueeze(-1),
            ],
            dim=-1,
        )
    pieces = torch.fft.irfft(prod, n=size)  # (..., num_blocks, size)
    # overlap-add: block j lands at j * block
    total = (num_blocks - 1) * block + size
    lead = pieces.shape[:-2]
    flat = pieces.reshape((-1, num_blocks, size)).transpose(1, 2)  # (B, size, num_blocks)
    out = F.fold(
        flat,
        output_size=(1, total),
        kernel_size=(1, size),
        stride=(1, block),
    )
    return out.reshape(lead + (total,))[..., :out_len]
