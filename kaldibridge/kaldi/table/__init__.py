"""kaldibridge.kaldi.table."""
