"""Amplitude scales: decibels and mu-law companding."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kaldibridge.errors import OptionError

__all__ = ["amplitude_to_DB", "DB_to_amplitude", "mu_law_encoding", "mu_law_decoding"]


def amplitude_to_DB(
    x: Tensor,
    multiplier: float,
    amin: float,
    db_multiplier: float,
    top_db: float | None = None,
) -> Tensor:
    """Decibels from power or amplitude values.

    ``multiplier * log10(max(x, amin)) - multiplier * db_multiplier``, optionally floored at
    ``top_db`` below the maximum.

    Args:
        x: Values, shape ``(..., freq, time)`` when ``top_db`` is used, else any shape.
        multiplier: 10 for power, 20 for amplitude.
        amin: Floor applied before the logarithm (avoids ``log(0)``).
        db_multiplier: ``log10(max(amin, ref))`` for a reference value ``ref``.
        top_db: Dynamic range in dB kept below the maximum, or ``None``.

    Returns:
        Decibels, same shape as ``x``.

    Differences:
        torchaudio takes the ``top_db`` maximum over all channels of a 3-D input, so a
        ``(batch, freq, time)`` batch shares one maximum. Here the maximum is taken over the
        last two dimensions only: each ``(freq, time)`` matrix is floored on its own, and a
        batch equals the loop over its items.
    """
    x_db = multiplier * torch.log10(torch.clamp(x, min=amin))
    x_db = x_db - multiplier * db_multiplier
    if top_db is not None:
        if top_db < 0:
            raise OptionError(f"top_db must be non-negative; got {top_db}")
        if x_db.dim() < 2:
            floor = x_db.amax() - top_db
        else:
            floor = x_db.amax(dim=(-2, -1), keepdim=True) - top_db
        x_db = torch.maximum(x_db, floor)
    return x_db


def DB_to_amplitude(x: Tensor, ref: float, power: float) -> Tensor:
    """Inverse of :func:`amplitude_to_DB` without ``top_db``: ``ref * (10 ** (x / 10)) ** power``.

    Args:
        x: Decibels, any shape.
        ref: Reference value the decibels are relative to.
        power: 1 to recover power values, 0.5 to recover amplitudes.

    Returns:
        Same shape as ``x``.
    """
    return ref * torch.pow(torch.pow(10.0, 0.1 * x), power)


def mu_law_encoding(x: Tensor, quantization_channels: int) -> Tensor:
    """Mu-law companding and quantisation (ITU-T G.711 style, continuous curve).

    Args:
        x: Signals in ``[-1, 1]``, any shape, floating point.
        quantization_channels: Number of levels (256 for 8-bit mu-law).

    Returns:
        Integer codes in ``[0, quantization_channels - 1]``, dtype ``int64``, same shape.
    """
    if quantization_channels < 2:
        raise OptionError(f"quantization_channels must be at least 2; got {quantization_channels}")
    if not x.is_floating_point():
        x = x.to(torch.float32)
    mu = float(quantization_channels - 1)
    companded = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / math.log1p(mu)
    return ((companded + 1) / 2 * mu + 0.5).to(torch.int64)


def mu_law_decoding(x_mu: Tensor, quantization_channels: int) -> Tensor:
    """Signals from mu-law codes (inverse of :func:`mu_law_encoding`).

    Args:
        x_mu: Codes in ``[0, quantization_channels - 1]``, any shape.
        quantization_channels: Number of levels.

    Returns:
        Signals in ``[-1, 1]``; float32 unless ``x_mu`` is floating point already.
    """
    if quantization_channels < 2:
        raise OptionError(f"quantization_channels must be at least 2; got {quantization_channels}")
    if not x_mu.is_floating_point():
        x_mu = x_mu.to(torch.float32)
    mu = float(quantization_channels - 1)
    x = x_mu / mu * 2 - 1.0
    return torch.sign(x) * torch.expm1(torch.abs(x) * math.log1p(mu)) / mu
