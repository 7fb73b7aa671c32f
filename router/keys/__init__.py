"""API keys: generation, keyed-hash storage, cached authentication and the admin API."""
