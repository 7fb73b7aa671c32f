"""Communities and the platform channels that map to them (SPEC §8)."""
