"""Run the router under Hypercorn, on embedded PostgreSQL and Redis when none are configured."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace

from hypercorn.config import Config
from hypercorn.run import run

from flask_core.logging import HYPERCORN_LOGGER, configure_logging, get_logger
from flask_core.router_only.embedded import EmbeddedPostgres, EmbeddedRedis
from flask_core.serving import SlowClientLimits, apply_limits

from . import __version__
from .settings import RouterSettings
from .workers import serve_workers

_log = get_logger("router.server")
ROUTER_LIMITS = SlowClientLimits(header_seconds=75.0, read_timeout_seconds=150)


def resolve_stores(settings: RouterSettings, stack: ExitStack) -> RouterSettings:
    """Start embedded servers for what is not configured; stop them when ``stack`` closes."""
    database_url, redis_url = settings.database_url, settings.redis_url
    if database_url is None:
        postgres = EmbeddedPostgres(settings.data_dir)
        database_url = postgres.start()
        if postgres.started_here:
            stack.callback(_stopped, "embedded PostgreSQL", postgres.stop)
        _log.info("embedded PostgreSQL in %s", postgres.pgdata, extra={"event_type": "SYSTEM"})
    if redis_url is None:
        redis = EmbeddedRedis(settings.data_dir)
        redis_url = redis.start()
        stack.callback(_stopped, "embedded Redis", redis.stop)
        _log.info("embedded Redis at %s", redis_url, extra={"event_type": "SYSTEM"})
    return replace(settings, database_url=database_url, redis_url=redis_url)


def _stopped(name: str, stop: Callable[[], object]) -> None:
    stop()
    _log.info("stopped %s", name, extra={"event_type": "SYSTEM"})


def hypercorn_config(settings: RouterSettings) -> Config:
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.application_path = "router.asgi:app"
    # One worker serves in this process; more run under router/workers.py's supervision.
    config.workers = 0 if settings.workers == 1 else settings.workers
    # libuv's loop: socket writes and wake-ups cost a fraction of the asyncio loop's
    # (the largest own-time item in a profile of the event ingest).
    config.worker_class = "uvloop"
    config.graceful_timeout = 10
    # keep-alive (also the deadline for a request's headers) outlives a load balancer's usual
    # 60 s idle timeout; the body deadline and header-size cap are flask_core's (SPEC §2).
    apply_limits(config, ROUTER_LIMITS)
    config.accesslog = None  # every request already leaves an AAA line
    config.errorlog = logging.getLogger(HYPERCORN_LOGGER)  # our format, one "listening" line
    return config


def _prepare_multiprocess_metrics(settings: RouterSettings) -> None:
    if settings.workers > 1:
        directory = settings.data_dir.resolve() / "metrics"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def serve(settings: RouterSettings) -> int:
    configure_logging("router", __version__, settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        settings = resolve_stores(settings, stack)
        assert settings.database_url and settings.redis_url
        os.environ["DATABASE_URL"] = settings.database_url
        os.environ["REDIS_URL"] = settings.redis_url
        _prepare_multiprocess_metrics(settings)
        config = hypercorn_config(settings)
        if settings.workers == 1:
            return run(config)
        return serve_workers(config, settings.workers)
