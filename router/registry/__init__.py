"""The module registry: PostgreSQL record, in-memory snapshot shared through Redis (SPEC §4)."""
