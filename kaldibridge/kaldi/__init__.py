"""kaldibridge.kaldi."""
