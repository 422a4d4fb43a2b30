"""Amplitude-scale modules: AmplitudeToDB, MuLawEncoding, MuLawDecoding, Vol."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional.scale import amplitude_to_DB, mu_law_decoding, mu_law_encoding

__all__ = ["AmplitudeToDB", "MuLawEncoding", "MuLawDecoding", "Vol"]


class AmplitudeToDB(torch.nn.Module):
    """Power or amplitude values to decibels (reference 1.0, floor 1e-10).

    Args:
        stype: ``"power"`` (10 log10) or ``"magnitude"`` (20 log10).
        top_db: Dynamic range kept below each ``(freq, time)`` matrix's maximum, or ``None``.
    """

    def __init__(self, stype: Literal["power", "magnitude"] = "power", top_db: float | None = None) -> None:
        super().__init__()
        if stype not in ("power", "magnitude"):
            raise OptionError(f"stype must be 'power' or 'magnitude'; got {stype!r}")
        if top_db is not None and top_db < 0:
            raise OptionError(f"top_db must be non-negative; got {top_db}")
        self.stype = stype
        self.top_db = top_db
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.amin = 1e-10
        self.ref_value = 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x: Tensor) -> Tensor:
        """Args: x ``(..., freq, time)`` (any shape without ``top_db``). Returns: same shape, dB."""
        return amplitude_to_DB(x, self.multiplier, self.amin, self.db_multiplier, self.top_db)


class MuLawEncoding(torch.nn.Module):
    """Signals in ``[-1, 1]`` to mu-law codes in ``[0, quantization_channels - 1]`` (int64)."""

    def __init__(self, quantization_channels: int = 256) -> None:
        super().__init__()
        self.quantization_channels = quantization_channels

    def forward(self, x: Tensor) -> Tensor:
        """Args: x, any shape. Returns: int64 codes, same shape."""
        return mu_law_encoding(x, self.quantization_channels)


class MuLawDecoding(torch.nn.Module):
    """Mu-law codes to signals in ``[-1, 1]``."""

    def __init__(self, quantization_channels: int = 256) -> None:
        super().__init__()
        self.quantization_channels = quantization_channels

    def forward(self, x_mu: Tensor) -> Tensor:
        """Args: x_mu, any shape. Returns: float signals, same shape."""
        return mu_law_decoding(x_mu, self.quantization_channels)


class Vol(torch.nn.Module):
    """Scale the volume and clamp to ``[-1, 1]``.

    Args:
        gain: Amplitude ratio (``"amplitude"``), power ratio (``"power"``) or decibels
            (``"db"``).
        gain_type: ``"amplitude"``, ``"power"`` or ``"db"``.
    """

    def __init__(self, gain: float, gain_type: Literal["amplitude", "power", "db"] = "amplitude") -> None:
        super().__init__()
        if gain_type not in ("amplitude", "power", "db"):
            raise OptionError(f"gain_type must be 'amplitude', 'power' or 'db'; got {gain_type!r}")
        if gain_type in ("amplitude", "power") and gain < 0:
            raise OptionError(f"gain must be non-negative for gain_type {gain_type!r}; got {gain}")
        self.gain = gain
        self.gain_type = gain_type
        if gain_type == "amplitude":
            self.factor = float(gain)
        elif gain_type == "db":
            self.factor = 10.0 ** (gain / 20.0)
        else:
            self.factor = math.sqrt(gain)

    def forward(self, waveform: Tensor) -> Tensor:
        """Args: waveform ``(..., time)``. Returns: same shape, clamped to ``[-1, 1]``."""
        return torch.clamp(waveform * self.factor, -1.0, 1.0)
