"""Router Hub's router: registry, routing, keys, audit and event fan-out."""

from pathlib import Path

__version__ = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"  # the router's SQL, applied in name order
