"""kaldibridge.io."""
