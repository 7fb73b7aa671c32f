"""Who subscribes to what, and where a module can be reached: the view events need of the
registry."""

from __future__ import annotations

from typing import Protocol


class SubscriberDirectory(Protocol):
    async def subscribers(self, event_type: str, community: str) -> list[str]:
        """Ids of the registered modules serving ``community`` subscribed to ``event_type``."""
        ...

    async def endpoint(self, module_id: str, community: str) -> str | None:
        """Base URL of a healthy instance of ``module_id`` serving ``community``; None while
        it has none."""
        ...
