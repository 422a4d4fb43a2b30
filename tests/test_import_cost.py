"""Importing kaldibridge must not pull in torch._dynamo or numba.

Either costs seconds of start-up, paid by every command-line tool in a Kaldi pipeline;
both are loaded only when compilation or a compiled kernel is actually used.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "kaldibridge",
    "kaldibridge.__main__",
    "kaldibridge.functional",
    "kaldibridge.transforms",
    "kaldibridge.sox",
    "kaldibridge.kaldi",
    "kaldibridge.kaldi.features",
    "kaldibridge.kaldi.features.pitch",
    "kaldibridge.kaldi.table",
    "kaldibridge.cli.feats",
    "kaldibridge.cli.pitch",
    "kaldibridge.cli.cmvn",
    "kaldibridge.cli.feat_ops",
]


@pytest.mark.parametrize("heavy", ["torch._dynamo", "numba"])
def test_imports_stay_light(heavy):
    code = (
        "import importlib, sys\n"
        f"for m in {MODULES!r}:\n"
        "    importlib.import_module(m)\n"
        "import kaldibridge.functional as F, kaldibridge.transforms as T\n"
        "for name in dir(F): getattr(F, name)\n"
        "for name in dir(T): getattr(T, name)\n"
        f"print({heavy!r} in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False", f"importing kaldibridge loaded {heavy}"
