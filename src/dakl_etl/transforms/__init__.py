"""Pure functions of frames: persons, episodes, reporting years, dedup, ledger."""
