"""kaldibridge.functional."""
