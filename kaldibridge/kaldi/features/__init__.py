"""kaldibridge.kaldi.features."""
