"""The quotes action module: quotes kept per community, reached through the router."""

__version__ = "0.2.0"
