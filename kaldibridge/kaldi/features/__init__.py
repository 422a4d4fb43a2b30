"""kaldibridge.kaldi.features."""

# Pitch exports, loaded on first use so that `import kaldibridge.kaldi` stays free of torch.
# Other families may add entries to _LAZY_EXPORTS.
_LAZY_EXPORTS: dict[str, str] = {
    "PitchExtractionOptions": "kaldibridge.kaldi.features.pitch",
    "ProcessPitchOptions": "kaldibridge.kaldi.features.pitch",
    "compute_kaldi_pitch": "kaldibridge.kaldi.features.pitch",
    "process_kaldi_pitch": "kaldibridge.kaldi.features.pitch",
    "compute_and_process_kaldi_pitch": "kaldibridge.kaldi.features.pitch",
    "KaldiPitch": "kaldibridge.kaldi.features.pitch",
    "ProcessKaldiPitch": "kaldibridge.kaldi.features.pitch",
}


def __getattr__(name: str):  # PEP 562 lazy attributes
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
