"""The Twitch trigger module: EventSub webhooks in, router events out."""

__version__ = "0.1.0"
