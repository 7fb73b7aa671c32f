"""Router Hub's router: registry, routing, keys, audit and event fan-out."""

__version__ = "0.1.0"
