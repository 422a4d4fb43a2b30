"""SoX effects on tensors, checked sample by sample against the real ``sox`` program.

``apply_effects_tensor(waveform, sample_rate, [["gain", "-n"], ["speed", "1.1"]])`` runs
a chain with the command line's semantics (see :func:`apply_effects_tensor`);
``apply_effects_file`` loads first; ``effect_names()`` lists what is implemented.
Implemented effects (``effect_names()``): allpass band bandpass bandreject bass bend biquad
channels chorus compand contrast dcshift deemph delay dither downsample earwax echo echos
equalizer fade fir flanger gain highpass hilbert loudness lowpass mcompand norm oops
overdrive pad phaser pitch rate remix repeat reverb reverse riaa silence sinc speed stat
stats stretch swap tempo treble tremolo trim upsample vad vol. Text reports (``stat``,
``stats``) are returned through the ``reports=`` list.

Errors: :class:`EffectUsageError` (invalid arguments, ``sox`` exit 1) and
:class:`EffectRefusedError` (the effect refuses the signal, exit 2), both
:class:`kaldibridge.errors.OptionError`.
"""

from kaldibridge.sox import _basic, _bend, _compand, _dither, _filters, _misc, _mod, _reverb, _silence, _stat, _stretch, _tempo, _vad  # noqa: F401  (register effects)
from kaldibridge.sox import rate as _rate  # noqa: F401
from kaldibridge.sox._api import apply_effects_file, apply_effects_tensor, build_chain, effect_names
from kaldibridge.sox._args import EffectRefusedError, EffectUsageError

__all__ = [
    "apply_effects_tensor",
    "apply_effects_file",
    "effect_names",
    "build_chain",
    "EffectUsageError",
    "EffectRefusedError",
]
