"""A module as a process: settings from the environment, then Hypercorn on uvloop until
SIGTERM/SIGINT, the module drained before its socket closes."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Mapping
from typing import TypeVar

from ..logging import configure_logging
from ..serving import hypercorn_config, serving_runner, settle_heap_once_serving
from ..settings import SettingsError, exit_on_settings_error
from .base import ModuleBase

SettingsT = TypeVar("SettingsT")


def run_module(module: ModuleBase) -> None:
    """Serve ``module`` under Hypercorn until SIGTERM/SIGINT, draining before the socket closes."""
    settings = module.settings
    configure_logging(settings.name, settings.version, settings.log_level, settings.log_format)
    with serving_runner() as runner:
        runner.run(_serve(module))


def serve_from_env(
    read_settings: Callable[[Mapping[str, str]], SettingsT],
    build: Callable[[SettingsT], ModuleBase],
    program: str,
) -> None:
    """A module's ``main``: settings from the environment (a bad one stops start-up), then serve."""
    try:
        settings = read_settings(os.environ)
    except SettingsError as error:
        exit_on_settings_error(error, program)
    run_module(build(settings))


async def _serve(module: ModuleBase) -> None:
    from hypercorn.asyncio import serve

    config = hypercorn_config(f"{module.settings.host}:{module.settings.port}")
    config.graceful_timeout = module.settings.drain_seconds
    settle_heap_once_serving(module.app)
    stop = asyncio.Event()

    async def drain_then_stop() -> None:
        await module.drain()
        stop.set()

    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: pending.add(loop.create_task(drain_then_stop())))
    await serve(module.app, config, shutdown_trigger=stop.wait)
