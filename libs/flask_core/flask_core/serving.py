"""Hypercorn settings every service shares: how long a slow client may hold a connection.

A client that sends its headers or body a byte at a time would otherwise keep a connection
(and its buffers) forever (SPEC §2). Three clocks bound it:

- ``header_seconds`` (Hypercorn's ``keep_alive_timeout``): Hypercorn runs its idle timer from
  the moment a connection opens (or its last response ends) until a request's headers are
  complete, so it bounds both idle keep-alive connections and headers sent slowly.
- ``body_seconds`` (Quart's ``BODY_TIMEOUT``): the whole body must arrive within it once the
  headers are in; otherwise the request gets 408 and the connection closes.
- ``read_timeout_seconds`` (Hypercorn's ``read_timeout``): a connection silent for this long is
  closed whatever it is doing, even while its response is being computed, so it must exceed the
  longest request (tokens live at most 60 s) and the keep-alive: it is the backstop for a dead
  peer, not the slow-client clock.

``max_header_bytes`` (``h11_max_incomplete_size``) caps what HTTP/1.1 buffers before the headers
are complete (larger → 431/400 and closed); ``h2_max_header_list_size`` does the same for HTTP/2.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import uvloop
from hypercorn.config import Config
from quart import Quart

from .logging import HYPERCORN_LOGGER


@dataclass(frozen=True, slots=True)
class SlowClientLimits:
    header_seconds: float = 15.0
    body_seconds: int = 10
    read_timeout_seconds: int = 90
    max_header_bytes: int = 16 * 1024


MODULE_LIMITS = SlowClientLimits()


def hypercorn_config(bind: str, limits: SlowClientLimits = MODULE_LIMITS) -> Config:
    """A Hypercorn config bound to ``bind`` with the slow-client limits applied."""
    config = Config()
    config.bind = [bind]
    config.accesslog = None  # every request already leaves an AAA line
    config.errorlog = logging.getLogger(HYPERCORN_LOGGER)  # our format, one "listening" line
    apply_limits(config, limits)
    return config


def apply_limits(config: Config, limits: SlowClientLimits) -> None:
    config.keep_alive_timeout = limits.header_seconds
    config.read_timeout = limits.read_timeout_seconds
    config.h11_max_incomplete_size = limits.max_header_bytes
    config.h2_max_header_list_size = limits.max_header_bytes


def apply_body_timeout(app: Quart, limits: SlowClientLimits = MODULE_LIMITS) -> None:
    """Give a request's whole body ``body_seconds`` to arrive (Quart answers 408 after)."""
    app.config["BODY_TIMEOUT"] = limits.body_seconds


def settle_heap_once_serving(app: Quart) -> None:
    """Once ``app`` has started (its lifespan has opened every service), collect the start-up
    garbage and freeze what is left out of the cyclic collector's reach (``gc.freeze``).

    What start-up builds (routes, schemas, clients, imported modules: most of a service's
    objects) lives as long as the process, yet every full collection walked all of it again;
    on the router that was the largest per-request cost a bare app does not have. For server
    processes only: a test building app after app would keep each one's objects for good.
    Register it after the app's own lifespan, so it runs when that lifespan has yielded.
    """

    @app.while_serving
    async def _settle_heap() -> AsyncGenerator[None, None]:
        gc.collect()
        gc.freeze()
        yield


def serving_runner() -> asyncio.Runner:
    """The event loop a service serves on: libuv's (uvloop), as the router's Hypercorn workers
    use, whose socket writes and wake-ups cost a fraction of the asyncio loop's."""
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)
