"""Real PostgreSQL and Redis for the test session: embedded, or the servers named by
TEST_DATABASE_URL / TEST_REDIS_URL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import asyncpg
import pytest

from flask_core.router_only.embedded import EmbeddedPostgres, EmbeddedRedis


@dataclass
class Stores:
    """Where the session's servers are, and the embedded handles when we started them."""

    admin_database_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None


def unreachable(reason: str) -> None:
    """Fail under CI (real-server tests must run there), skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"real-server tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"real-server tests cannot run: {reason}")


@contextmanager
def session_stores(directory: Path) -> Iterator[Stores]:
    database_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    postgres = redis = None
    try:
        if not database_url:
            postgres = EmbeddedPostgres(directory, database="postgres")
            database_url = postgres.start()
        if not redis_url:
            redis = EmbeddedRedis(directory, persist=False)
            redis_url = redis.start()
        yield Stores(database_url, redis_url, postgres, redis)
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


class Topology(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


T = TypeVar("T", bound=Topology)

REDIS_MODES = ("standalone", "cluster", "sentinel")
ALL_REDIS_MODES = pytest.mark.redis_modes
"""Run a test (or, as ``pytestmark``, a module's tests that use Redis) against standalone,
cluster and Sentinel (``pytest_generate_tests`` in ``tests/conftest.py``)."""


@contextmanager
def started(servers: T) -> Iterator[T]:
    """Start a topology for the session (unreachable when it cannot start); stop it after."""
    try:
        servers.start()
    except (OSError, TimeoutError) as exc:
        servers.stop()
        unreachable(f"{type(servers).__name__}: {type(exc).__name__}: {exc}")
    try:
        yield servers
    finally:
        servers.stop()


def with_database(url: str, database: str) -> str:
    """``url`` pointed at another database (works for socket and TCP URLs)."""
    head, sep, tail = url.partition("?")
    base, _, _ = head.rpartition("/")
    return f"{base}/{database}{sep}{tail}"


async def create_database(admin_url: str) -> tuple[str, str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name, with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
