"""Slow clients are disconnected (SPEC §2): raw sockets on loopback against Hypercorn.

The limits are made short here (1 s) so each attack is bounded to a few seconds; the client
would need far longer to finish, so a closed connection can only be the server's doing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypercorn.asyncio import serve
from quart import Quart

from flask_core.api import install_request_plumbing, read_json
from flask_core.serving import SlowClientLimits, apply_body_timeout, hypercorn_config
from tests.support.servers import free_port

LIMITS = SlowClientLimits(header_seconds=1.0, body_seconds=1, read_timeout_seconds=3)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = Quart("slow")
    install_request_plumbing(app)
    apply_body_timeout(app, LIMITS)

    @app.post("/echo")
    async def echo() -> Any:
        return {"got": await read_json()}

    port = free_port()
    stop = asyncio.Event()
    config = hypercorn_config(f"127.0.0.1:{port}", LIMITS)
    config.graceful_timeout = 1
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    for _ in range(200):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        await asyncio.sleep(0.02)
    yield port
    stop.set()
    await asyncio.wait_for(task, 10)


async def _trickle(port: int, head: bytes, tail: bytes, gap: float = 0.2) -> tuple[bytes, float]:
    """Send ``head`` at once, then ``tail`` a byte every ``gap`` s; return what the server
    answered and how many seconds the connection lasted (bounded at 8 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(head)

    async def send_slowly() -> None:
        for index in range(len(tail)):
            await asyncio.sleep(gap)
            writer.write(tail[index : index + 1])
            await writer.drain()

    sender = asyncio.create_task(send_slowly())
    received = b""
    try:
        async with asyncio.timeout(8):
            while chunk := await reader.read(4096):
                received += chunk
    except (ConnectionError, TimeoutError):
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await sender
        writer.close()
    return received, loop.time() - started


async def test_headers_sent_a_byte_at_a_time_are_cut_off(port: int) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n"
    slow_header = b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"  # 40 s at this pace
    received, lasted = await _trickle(port, head, slow_header)
    # Hypercorn's default (5 s) would also end it eventually: the configured 1 s must apply.
    assert lasted < 4, "the server kept a slow-header connection open"
    assert b"200" not in received.split(b"\r\n", 1)[0]


async def test_a_body_sent_a_byte_at_a_time_gets_408_and_is_closed(port: int) -> None:
    body = b'{"text": "' + b"a" * 200 + b'"}'
    head = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    received, lasted = await _trickle(port, head, body)
    assert lasted < 6, "the server kept a slow-body connection open"
    assert received.startswith(b"HTTP/1.1 408"), received[:80]
    assert b'"error":"request_timeout"' in received


async def test_headers_larger_than_the_limit_are_refused(port: int) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (LIMITS.max_header_bytes + 1)
    received, lasted = await _trickle(port, head + b"\r\n\r\n", b"")
    status = received.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 4"), status  # 400 or 431, never served
    assert lasted < 6


async def test_a_prompt_client_is_served(port: int) -> None:
    body = b'{"text": "hi"}'
    head = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    received, _ = await _trickle(port, head + body, b"")
    assert received.startswith(b"HTTP/1.1 200")
    assert b'{"got":{"text":"hi"}}' in received
