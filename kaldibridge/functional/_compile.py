"""torch.compile helpers that cost nothing at import time.

``torch.compiler.assume_constant_result`` imports ``torch._dynamo`` (seconds of start-up for
every command-line tool that imports :mod:`kaldibridge.functional`); the attribute it sets is
all dynamo looks at, so :func:`constant_result` sets it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

__all__ = ["constant_result", "is_compiling"]

_F = TypeVar("_F", bound=Callable[..., object])


def constant_result(fn: _F) -> _F:
    """Mark ``fn`` as returning a trace-time constant for dynamo (no ``torch._dynamo`` import)."""
    fn._dynamo_marked_constant = True  # type: ignore[attr-defined]
    return fn


def is_compiling() -> bool:
    """Whether dynamo or ``torch.export`` is tracing the caller."""
    return bool(torch.compiler.is_compiling())
