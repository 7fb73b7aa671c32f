"""The Discord trigger module: interactions and webhook events in, router events out."""

__version__ = "0.1.0"
