"""The effects chain: stream state, SoX's 32-bit sample model and the effect registry.

SoX passes 32-bit integer samples between effects. Here a stream is a float64 tensor
``(batch, channels, time)`` holding ``int32 / 2**31`` values; after every effect the
values are rounded to that grid and saturated, and samples that had to be saturated are
reported as ``<effect> clipped N samples; decrease volume?`` warnings (``logging``,
logger ``kaldibridge.sox``), as ``sox`` prints them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import torch

from kaldibridge.sox._args import EffectUsageError

__all__ = ["Stream", "Context", "Effect", "REGISTRY", "register", "quantize", "LOGGER"]

LOGGER = logging.getLogger("kaldibridge.sox")

_SCALE = 2.0**31
_MAX = _SCALE - 1
_MIN = -_SCALE


@dataclass
class Stream:
    """Audio between two effects.

    Attributes:
        x: ``(batch, channels, time)`` float64, values ``int32 / 2**31``.
        rate: sample rate in Hz (may be fractional after ``speed``).
        precision: significant bits of the samples as SoX tracks them (16 for 16-bit PCM
            input, 24 for float32; 32 after an effect that computes new values).
        length: the total sample count (``channels * time``) SoX believes the stream has;
            usually ``x.shape[1] * x.shape[2]``, but kept stale where SoX keeps it stale
            (``reverb`` on mono input). ``None`` when unknown.
    """

    x: torch.Tensor
    rate: float
    length: int | None
    precision: int = 32

    @property
    def channels(self) -> int:
        return int(self.x.shape[1])

    @property
    def frames(self) -> int:
        return int(self.x.shape[2])

    def known_frames(self) -> int | None:
        """SoX's idea of the length in frames (``length // channels``)."""
        return None if self.length is None else self.length // self.channels

    def replace(self, x: torch.Tensor, rate: float | None = None, length: int | None | str = "auto") -> "Stream":
        """A new stream with data ``x``; ``length='auto'`` means the true sample count."""
        new_len = int(x.shape[1] * x.shape[2]) if length == "auto" else length
        return Stream(x, self.rate if rate is None else rate, new_len, self.precision)  # type: ignore[arg-type]


@dataclass
class Context:
    """What the chain knows about the output file (``-r``/``-c``) and collected warnings."""

    out_rate: float
    out_channels: int
    warnings: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)

    def report(self, effect: str, text: str) -> None:
        """Text an effect prints (``stat``): logged at INFO and collected."""
        self.reports.append(text)
        LOGGER.info("%s report:\n%s", effect, text)

    def warn(self, effect: str, message: str) -> None:
        text = f"{effect}: {message}"
        self.warnings.append(text)
        LOGGER.warning(text)


class Effect:
    """One parsed effect. Subclasses parse ``args`` in ``__init__`` (raising
    :class:`EffectUsageError`) and transform a :class:`Stream` in :meth:`apply`."""

    name: str = ""
    usage_text: str = ""
    #: round and saturate to int32 after this effect (SoX does it in every effect)
    quantize_output: bool = True
    #: SoX's SOX_EFF_MODIFY: the effect only moves, drops or inserts samples, so the
    #: precision of its input is kept
    modify_only: bool = False
    #: output rate / channels the effect fixes at parse time (SoX's getopts-time
    #: ``out_signal``); the last such value sets the output file's default
    declared_rate: float | None = None
    declared_channels: int | None = None

    def __init__(self, name: str, args: list[str]) -> None:
        self.name = name
        self.args = list(args)

    def usage(self, arg: str | None = None) -> EffectUsageError:
        text = self.usage_text or "(this effect takes no parameters)"
        if arg is not None:
            return EffectUsageError(self.name, f"invalid argument {arg!r}; usage: {self.name} {text}")
        return EffectUsageError(self.name, f"usage: {self.name} {text}")

    def apply(self, st: Stream, ctx: Context) -> Stream:  # pragma: no cover - abstract
        raise NotImplementedError


REGISTRY: dict[str, Callable[[str, list[str]], Effect]] = {}


def register(*names: str) -> Callable[[type[Effect]], type[Effect]]:
    """Class decorator adding an effect class under one or more SoX names."""

    def deco(cls: type[Effect]) -> type[Effect]:
        for n in names:
            REGISTRY[n] = cls
        return cls

    return deco


def quantize(x: torch.Tensor, effect: str, ctx: Context) -> torch.Tensor:
    """Round to the int32 grid and saturate, warning about saturated samples."""
    y = x * _SCALE
    y.round_()
    if y.numel():
        lo, hi = torch.aminmax(y)
        if float(hi) > _MAX or float(lo) < _MIN:  # count only when something saturates
            n = int(((y > _MAX) | (y < _MIN)).sum())
            ctx.warn(effect, f"{effect} clipped {n} samples; decrease volume?")
            y.clamp_(_MIN, _MAX)
    return y.mul_(1 / _SCALE)  # exact: a power of two
