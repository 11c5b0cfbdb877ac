"""Training loop (filled in with the engine)."""
