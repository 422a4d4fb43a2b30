"""Optional compiled kernels for truly sequential recursions.

A few algorithms are recursions over time that array code cannot express without a
Python-level loop per step: Kaldi pitch's Viterbi search, SoX's compander envelope,
the feedback delay lines of SoX's phaser and flanger. For those, kaldibridge ships a
plain numpy implementation and, when the optional ``numba`` package is installed
(``pip install kaldibridge[fast]``), a compiled version of the same loop. Both paths
are tested against the same references; the benchmarks name which one ran.

``numba`` is imported lazily, on the first call of a kernel, so it never adds to the
start-up time of tools that do not need it. Set ``KALDIBRIDGE_NO_NUMBA=1`` to force
the numpy path (tests do this to cover both).

Usage::

    from kaldibridge._jit import jit_kernel

    @jit_kernel
    def _viterbi_step(prev, local, out):   # plain Python/numpy-compatible body
        ...

    kernel = _viterbi_step.compiled()      # numba-compiled function, or None
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["jit_kernel", "numba_available", "JitKernel"]


@functools.cache
def numba_available() -> bool:
    """Whether numba can be used (installed and not disabled by the environment)."""
    if os.environ.get("KALDIBRIDGE_NO_NUMBA", "") not in ("", "0"):
        return False
    try:
        import numba  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


class JitKernel:
    """A Python function with a lazily compiled numba twin.

    Args:
        func: The kernel, written in the numba-compatible subset of Python/numpy.
        options: Keyword arguments for ``numba.njit`` (``cache`` and ``nogil`` default on).
    """

    def __init__(self, func: Callable[..., Any], **options: Any) -> None:
        self.func = func
        self.options = {"cache": True, "nogil": True, **options}
        self._compiled: Callable[..., Any] | None = None
        functools.update_wrapper(self, func)

    def compiled(self) -> Callable[..., Any] | None:
        """The numba-compiled function, or ``None`` when numba is unavailable."""
        if not numba_available():
            return None
        if self._compiled is None:
            import numba

            try:
                self._compiled = numba.njit(**self.options)(self.func)
            except RuntimeError:  # no cache locator (e.g. a function defined in exec'd code)
                self._compiled = numba.njit(**{**self.options, "cache": False})(self.func)
        return self._compiled

    def compiled_if_worth_it(self, work_done: float, threshold: float) -> Callable[..., Any] | None:
        """The compiled function when loading numba pays off, else ``None``.

        Importing numba and loading a cached kernel costs about 0.7-0.9 s of CPU, so a
        process uses a kernel only if numba is already loaded (the cost is paid) or once
        ``work_done`` (counted by the caller, in its own unit) has reached ``threshold``,
        the measured amount of work after which the kernel has saved that cost.
        """
        if "numba" in sys.modules or work_done >= threshold:
            return self.compiled()
        return None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the compiled kernel when available, else the Python function."""
        fn = self.compiled()
        return (fn or self.func)(*args, **kwargs)


def jit_kernel(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Decorator: wrap ``func`` in a :class:`JitKernel` (usable with or without options)."""
    if func is None:
        return lambda f: JitKernel(f, **options)
    return JitKernel(func, **options)
