"""The optional-numba shim: lazy compilation, the environment switch, same results."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from kaldibridge import _jit


@_jit.jit_kernel
def _running_max(x, out):
    best = -np.inf
    for i in range(x.shape[0]):
        if x[i] > best:
            best = x[i]
        out[i] = best


def _reference_running_max(x):
    return np.maximum.accumulate(x)


def test_python_path_matches_reference():
    x = np.random.default_rng(0).normal(size=50)
    out = np.empty_like(x)
    _running_max.func(x, out)
    np.testing.assert_array_equal(out, _reference_running_max(x))


def test_compiled_path_matches_reference():
    if not _jit.numba_available():
        pytest.skip("numba is not installed (extra 'fast') or KALDIBRIDGE_NO_NUMBA is set")
    x = np.random.default_rng(1).normal(size=50)
    out = np.empty_like(x)
    fn = _running_max.compiled()
    assert fn is not None and fn is not _running_max.func
    fn(x, out)
    np.testing.assert_array_equal(out, _reference_running_max(x))


def test_environment_switch_and_lazy_import():
    code = (
        "import sys\n"
        "from kaldibridge import _jit\n"
        "assert 'numba' not in sys.modules, 'imported eagerly'\n"
        "k = _jit.jit_kernel(lambda x: x + 1)\n"
        "assert k.compiled() is None\n"
        "assert k(1) == 2\n"
        "assert 'numba' not in sys.modules\n"
    )
    env = {"KALDIBRIDGE_NO_NUMBA": "1", "PATH": ""}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_cli_import_does_not_load_numba():
    code = "import sys, kaldibridge.__main__, kaldibridge.kaldi.table\nassert 'numba' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_compiled_if_worth_it_waits_for_the_threshold():
    if not _jit.numba_available():
        pytest.skip("numba is not installed (extra 'fast') or KALDIBRIDGE_NO_NUMBA is set")
    code = (
        "import sys\n"
        "from kaldibridge import _jit\n"
        "k = _jit.jit_kernel(lambda x: x + 1)\n"
        "assert k.compiled_if_worth_it(10, 100) is None\n"
        "assert 'numba' not in sys.modules, 'loaded numba below the threshold'\n"
        "fn = k.compiled_if_worth_it(100, 100)\n"
        "assert fn is not None and fn(1) == 2\n"
        "assert k.compiled_if_worth_it(0, float('inf')) is fn  # numba loaded now: always\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
