"""kaldibridge: Kaldi's feature tools, table formats and data directories in PyTorch.

Layers, lowest first: :mod:`kaldibridge.io` and :mod:`kaldibridge.functional` (plain
tensors, no Kaldi words), :mod:`kaldibridge.kaldi` (Kaldi's formats and semantics),
:mod:`kaldibridge.cli` (drop-in command-line tools with Kaldi's names).
"""

from kaldibridge.errors import KaldiBridgeError

__version__ = "0.1.0"

__all__ = ["KaldiBridgeError", "__version__"]
