"""kaldibridge.transforms."""
