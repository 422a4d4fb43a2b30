"""Every command-line tool kaldibridge provides, by Kaldi name.

``TOOLS`` maps the tool name to ``"module:attribute"`` of its :class:`~kaldibridge.cli.framework.Tool`.
The ``[project.scripts]`` table of ``pyproject.toml`` must list the same tools (a test checks it),
so each is installed as a console script with Kaldi's exact name. Modules are imported only
when their tool runs, which keeps start-up fast.
"""

from __future__ import annotations

import importlib

from kaldibridge.cli.framework import Tool

__all__ = ["TOOLS", "load_tool"]

TOOLS: dict[str, str] = {
    # kaldibridge:tools-begin  (one line per tool, sorted; keep pyproject.toml in sync)
    "compute-and-process-kaldi-pitch-feats": "kaldibridge.cli.pitch:COMPUTE_AND_PROCESS_KALDI_PITCH_FEATS",
    "compute-kaldi-pitch-feats": "kaldibridge.cli.pitch:COMPUTE_KALDI_PITCH_FEATS",
    "process-kaldi-pitch-feats": "kaldibridge.cli.pitch:PROCESS_KALDI_PITCH_FEATS",
    # kaldibridge:tools-end
}


def load_tool(name: str) -> Tool:
    """Import and return the :class:`Tool` registered as ``name``.

    Raises:
        KeyError: no such tool.
    """
    target = TOOLS[name]
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    tool = getattr(module, attr)
    if not isinstance(tool, Tool):
        raise TypeError(f"{target} is not a kaldibridge Tool")
    return tool
