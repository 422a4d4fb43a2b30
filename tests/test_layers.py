"""The package's layers import only downwards (STYLE.md): core never imports the Kaldi
layer or the tools, the Kaldi layer never imports the tools."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kaldibridge"
CORE = ("io", "functional", "transforms", "sox", "models", "datasets")
FORBIDDEN = {
    **{layer: ("kaldibridge.kaldi", "kaldibridge.cli") for layer in CORE},
    "kaldi": ("kaldibridge.cli",),
}


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    package = "kaldibridge." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def _files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(layer):
    bad = []
    for path in _files(layer):
        for line, name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_checker_catches_a_violation():
    probe = PACKAGE / "functional" / "probe.py"  # never written: the source is passed in
    src = "from kaldibridge.kaldi.table import read_mat\nfrom ..cli import framework\nimport torch\n"
    names = [n for _, n in imported_modules(probe, src)]
    assert names == ["kaldibridge.kaldi.table", "kaldibridge.cli", "torch"]
