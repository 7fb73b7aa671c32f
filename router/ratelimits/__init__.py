"""Rate limits per key, community and (community, user) (SPEC §6)."""
