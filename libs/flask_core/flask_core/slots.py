"""Typed places on an app for the services its views use, filled by the app's lifespan.

A domain declares what its views need (``KEYS = ServiceSlot[KeyService]("router.keys")``) and
reads it in a request with ``KEYS.get()``; the service set up at start-up is put in with
``KEYS.fill(app, service)``. Views so depend on one narrow, typed thing rather than on the
whole set of a service's resources.
"""

from __future__ import annotations

from typing import Generic, TypeVar, cast

from quart import Quart, current_app

T = TypeVar("T")


class ServiceSlot(Generic[T]):
    """One service of type ``T``, per app."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fill(self, app: Quart, service: T) -> None:
        app.extensions[self.name] = service

    def get(self) -> T:
        """The service of the current app; an error outside its lifespan."""
        try:
            return cast(T, current_app.extensions[self.name])
        except KeyError:
            raise RuntimeError(f"{self.name} is provided by the app's lifespan") from None
