"""Router apps with their lifespan running, inside the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from quart import Quart

from router.app import create_app
from router.settings import RouterSettings


@asynccontextmanager
async def running_router(settings: RouterSettings) -> AsyncIterator[Quart]:
    """A router app on ``settings``, its stores, listeners and writers open until the block ends.

    Two of them on the same settings behave as two workers or replicas of one deployment.
    """
    app = create_app(settings)
    async with app.test_app():
        yield app
