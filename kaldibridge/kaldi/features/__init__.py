"""kaldibridge.kaldi.features."""

# Public names of the feature families, loaded on first use so that importing the package
# stays free of torch. kaldibridge.kaldi re-exports this same table.
_LAZY_EXPORTS: dict[str, str] = {
    # fbank / MFCC / spectrogram / PLP (features owner)
    "FrameExtractionOptions": "kaldibridge.kaldi.features.frame_options",
    "MelBanksOptions": "kaldibridge.kaldi.features.frame_options",
    "FbankOptions": "kaldibridge.kaldi.features.fbank",
    "fbank": "kaldibridge.kaldi.features.fbank",
    "Fbank": "kaldibridge.kaldi.features.fbank",
    "MfccOptions": "kaldibridge.kaldi.features.mfcc",
    "mfcc": "kaldibridge.kaldi.features.mfcc",
    "Mfcc": "kaldibridge.kaldi.features.mfcc",
    "SpectrogramOptions": "kaldibridge.kaldi.features.spectrogram",
    "spectrogram": "kaldibridge.kaldi.features.spectrogram",
    "Spectrogram": "kaldibridge.kaldi.features.spectrogram",
    "PlpOptions": "kaldibridge.kaldi.features.plp",
    "plp": "kaldibridge.kaldi.features.plp",
    "Plp": "kaldibridge.kaldi.features.plp",
    "PitchExtractionOptions": "kaldibridge.kaldi.features.pitch",
    "ProcessPitchOptions": "kaldibridge.kaldi.features.pitch",
    "compute_kaldi_pitch": "kaldibridge.kaldi.features.pitch",
    "process_kaldi_pitch": "kaldibridge.kaldi.features.pitch",
    "compute_and_process_kaldi_pitch": "kaldibridge.kaldi.features.pitch",
    "KaldiPitch": "kaldibridge.kaldi.features.pitch",
    "ProcessKaldiPitch": "kaldibridge.kaldi.features.pitch",
    # CMVN / deltas / splicing / VAD / frame selection / wave tools (post-processing owner)
    "SlidingWindowCmnOptions": "kaldibridge.kaldi.features.cmvn",
    "compute_cmvn_stats": "kaldibridge.kaldi.features.cmvn",
    "apply_cmvn": "kaldibridge.kaldi.features.cmvn",
    "apply_cmvn_sliding": "kaldibridge.kaldi.features.cmvn",
    "fake_stats_for_some_dims": "kaldibridge.kaldi.features.cmvn",
    "cmvn_stats_to_mean_var": "kaldibridge.kaldi.features.cmvn",
    "DeltaFeaturesOptions": "kaldibridge.kaldi.features.deltas",
    "compute_deltas_kaldi": "kaldibridge.kaldi.features.deltas",
    "splice_feats": "kaldibridge.kaldi.features.splice",
    "VadEnergyOptions": "kaldibridge.kaldi.features.vad",
    "compute_vad_energy": "kaldibridge.kaldi.features.vad",
    "select_voiced_frames": "kaldibridge.kaldi.features.vad",
    "subsample_feats": "kaldibridge.kaldi.features.select",
    "shift_feats": "kaldibridge.kaldi.features.select",
    "append_vector_to_feats": "kaldibridge.kaldi.features.select",
    "append_post_to_feats": "kaldibridge.kaldi.features.select",
}


def lazy_getattr(table: dict[str, str], package: str):
    """A PEP 562 ``__getattr__`` resolving ``name`` from ``table[name]`` (a module path)."""

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(module), name)

    return __getattr__


__getattr__ = lazy_getattr(_LAZY_EXPORTS, __name__)
