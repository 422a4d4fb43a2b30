"""kaldibridge.cli."""
