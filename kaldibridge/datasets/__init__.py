"""kaldibridge.datasets."""
