"""kaldibridge.kaldi: Kaldi's formats and semantics (options, tables, features, data dirs).

The feature functions and option groups (``fbank``, ``mfcc``, ``compute_kaldi_pitch``,
``apply_cmvn``, ...) are importable from here; they load on first use, so importing the
package does not import torch.
"""

from kaldibridge.kaldi.features import _LAZY_EXPORTS as _FEATURE_EXPORTS
from kaldibridge.kaldi.features import lazy_getattr

_LAZY_EXPORTS: dict[str, str] = {
    **_FEATURE_EXPORTS,
    # wave tools (extract-segments, wav-reverberate)
    "ReverberateOptions": "kaldibridge.kaldi.wavetools",
    "reverberate": "kaldibridge.kaldi.wavetools",
    "cut_segment": "kaldibridge.kaldi.wavetools",
    "parse_segment_line": "kaldibridge.kaldi.wavetools",
}

__getattr__ = lazy_getattr(_LAZY_EXPORTS, __name__)
