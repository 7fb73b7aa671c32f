"""A router served on loopback and ``python -m router admin`` run against it."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart

from router.cli import main
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app, without_lifespan


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def _run_main(argv: list[str]) -> Run:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # with .buffer, as the export uses
    err = io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    out.flush()
    return Run(code, out.buffer.getvalue().decode(), err.getvalue())


async def run_cli(argv: list[str]) -> Run:
    """``main(argv)`` in a thread: it blocks on HTTP while this loop serves the router."""
    return await asyncio.to_thread(_run_main, argv)


class Cli:
    """``await cli("keys", "list", key=...)``: the real command line against the served router."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key

    async def __call__(self, *argv: str, key: str | None = None) -> Run:
        return await run_cli(["admin", "--url", self.url, "--key", key or self.key, *argv])

    async def ok(self, *argv: str, key: str | None = None) -> Run:
        run = await self(*argv, key=key)
        assert run.code == 0, run.err
        return run


@pytest.fixture
async def served(app: Quart) -> AsyncIterator[str]:
    async with serve_app(without_lifespan(app)) as url:
        yield url


@pytest.fixture
async def cli(served: str, api_key: KeyFactory) -> Cli:
    return Cli(served, await api_key("admin"))
