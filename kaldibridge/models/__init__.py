"""kaldibridge.models."""
