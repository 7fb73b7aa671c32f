"""Live event subscription for modules: Redis pub/sub into a bounded queue.

The router publishes envelopes on ``events.{community}.{type}`` and replies on
``responses.{community}.{platform}``. ``EventSubscriber`` follows channel patterns, survives
Redis restarts (it subscribes again), and never lets a slow consumer grow memory: the queue is
bounded and, when full, the policy drops the oldest message (default) or the newest, counting
every drop in ``dropped``. Pub/sub is live only; durable delivery is the router's push to
``POST {base_url}/events``; ``mount_event_receiver`` adds that route to a module's app, checking
the router's token (audience = the module, ``action_id`` claim ``"events"``) before the handler
sees the envelope. The handler's success acknowledges the event; raising makes the router retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import redis.asyncio as aioredis
from quart import Quart, Response, request
from redis.exceptions import RedisError

from . import errors, jsonio
from .api import create_response, raw_body
from .auth import COMMUNITY_HEADER, public
from .keyspace import DEFAULT_KEYSPACE, Keyspace
from .logging import get_logger
from .redis_client import reply_text
from .tokens import PresentedCall, RouterTokenVerifier

_log = get_logger("flask_core.events")


class SlowConsumerPolicy(enum.Enum):
    DROP_OLDEST = "drop_oldest"  # keep the freshest messages; right for live chat
    DROP_NEWEST = "drop_newest"  # keep what is queued; new messages are refused


@dataclass(frozen=True, slots=True)
class Message:
    channel: str
    data: Any  # the decoded JSON body (a dict for envelopes and responses)


def event_pattern(
    community: str, event_type: str = "*", keyspace: Keyspace = DEFAULT_KEYSPACE
) -> str:
    return keyspace.event_channel(community, event_type)


def response_pattern(
    community: str, platform: str = "*", keyspace: Keyspace = DEFAULT_KEYSPACE
) -> str:
    return keyspace.response_channel(community, platform)


class EventSubscriber:
    """Follow pub/sub patterns and hand decoded messages over through a bounded queue."""

    def __init__(
        self,
        redis: aioredis.Redis,
        patterns: Sequence[str],
        *,
        maxsize: int = 1000,
        policy: SlowConsumerPolicy = SlowConsumerPolicy.DROP_OLDEST,
        reconnect_seconds: float = 1.0,
    ) -> None:
        if maxsize < 1 or not patterns:
            raise ValueError("an EventSubscriber needs patterns and a queue of at least 1")
        self._redis = redis
        self.patterns = tuple(patterns)
        self.policy = policy
        self._queue: asyncio.Queue[Message] = asyncio.Queue(maxsize)
        self._reconnect_seconds = reconnect_seconds
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.dropped = 0
        self.undecodable = 0
        self.reconnects = 0

    async def start(self) -> None:
        """Start reading; returns once the first subscription is in place."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="flask_core.events")
        waiter = asyncio.ensure_future(self._subscribed.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> EventSubscriber:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def get(self) -> Message:
        return await self._queue.get()

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            yield await self._queue.get()

    def offer(self, message: Message) -> None:
        """Queue ``message`` under the slow-consumer policy."""
        if self._queue.full():
            self.dropped += 1
            if self.policy is SlowConsumerPolicy.DROP_NEWEST:
                return
            self._queue.get_nowait()
        self._queue.put_nowait(message)

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                self.reconnects += 1
                _log.warning("pub/sub lost (%s); subscribing again", type(exc).__name__)
                await asyncio.sleep(self._reconnect_seconds)

    async def _follow(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe(*self.patterns)
            self._subscribed.set()
            while True:
                raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if raw is not None and raw.get("type") == "pmessage":
                    self._take(raw)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _take(self, raw: dict[str, Any]) -> None:
        channel = raw["channel"]
        try:
            data = jsonio.loads(raw["data"])
        except (jsonio.InvalidJSON, TypeError):
            self.undecodable += 1
            return
        text = reply_text(channel)
        self.offer(Message(text, data))


EVENTS_PATH = "/events"
EVENTS_CLAIM = "events"  # the action_id claim the router puts in tokens of event pushes
EventHandler = Callable[[dict[str, Any]], Awaitable[None]]


async def verified_push(verifier: RouterTokenVerifier) -> dict[str, Any]:
    """The envelope of the router's push in the current request, once its token checks out:
    bound to this body and community, for event pushes, and never seen before."""
    body = await raw_body()
    claims = await verifier.verify(
        PresentedCall(
            authorization=request.headers.get("Authorization", ""),
            community_header=request.headers.get(COMMUNITY_HEADER),
            body=body,
        ),
        action_id=EVENTS_CLAIM,
    )
    envelope = jsonio.loads(body)
    if not isinstance(envelope, dict) or envelope.get("community_id") != claims["community_id"]:
        raise errors.BadRequest("The body must be an event envelope of the token's community.")
    return envelope


def mount_event_receiver(app: Quart, verifier: RouterTokenVerifier, handler: EventHandler) -> None:
    """Serve ``POST /events`` for durable delivery: verify, handle, then 204 (acknowledged).

    ``verifier`` is the module's (``ModuleBase.verifier``): its audience is the module id and
    its token-id memory is the one its action calls use.
    """

    # Public to the API-key guard: the router's token is checked instead.
    @app.post(EVENTS_PATH)
    @public
    async def receive_event() -> Response:
        """Take one event pushed by the router."""
        await handler(await verified_push(verifier))
        return create_response(None, status=204)
