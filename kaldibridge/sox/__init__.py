"""kaldibridge.sox."""
