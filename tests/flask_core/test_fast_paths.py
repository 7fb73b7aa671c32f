"""The fast paths services rely on are really in use: uvloop, hiredis and the settled heap."""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator

import uvloop
from quart import Quart
from redis.asyncio.connection import AbstractConnection
from redis.utils import HIREDIS_AVAILABLE

from flask_core.redis_client import create_redis
from flask_core.serving import serving_runner, settle_heap_once_serving
from router.server import hypercorn_config
from router.settings import RouterSettings


def test_modules_serve_on_uvloop() -> None:
    with serving_runner() as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)


def test_router_workers_serve_on_uvloop() -> None:
    assert hypercorn_config(RouterSettings()).worker_class == "uvloop"


async def test_redis_replies_are_parsed_by_hiredis(redis_url: str) -> None:
    assert HIREDIS_AVAILABLE
    client = create_redis(redis_url)
    try:
        assert await client.ping()
        connection = await client.connection_pool.get_connection()
        try:
            assert isinstance(connection, AbstractConnection)
            assert type(connection._parser).__name__ == "_AsyncHiredisParser"
        finally:
            await client.connection_pool.release(connection)
    finally:
        await client.aclose()


async def test_the_heap_is_settled_once_the_lifespan_has_started() -> None:
    app = Quart("settled")
    frozen_during_start_up: list[int] = []

    @app.while_serving
    async def lifespan() -> AsyncGenerator[None, None]:
        frozen_during_start_up.append(gc.get_freeze_count())
        yield

    settle_heap_once_serving(app)
    gc.unfreeze()
    try:
        async with app.test_app():
            assert frozen_during_start_up == [0]  # the app's own lifespan ran first
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
