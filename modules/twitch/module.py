"""The Twitch module: verifies EventSub webhooks and forwards them to the router."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis
from quart import Response, request

from flask_core import errors
from flask_core.api import create_response, raw_body
from flask_core.auth import check_guards, public
from flask_core.events import mount_event_receiver
from flask_core.forwarding import PendingEvent, SeenMessages, TriggerModule
from flask_core.logging import correlation_id, get_logger, log_audit_event
from flask_core.module import ModuleSettings
from flask_core.platforms.webhooks import (
    twitch_signature_valid,
    twitch_timestamp_fresh,
    webhook_json,
)
from flask_core.redis_client import create_redis, prepare
from flask_core.replies import (
    LoggedReplies,
    ReplyDesk,
    ReplyLedger,
    ReplySender,
    response_type,
)
from flask_core.settings import EnvReader, SettingsError

from . import __version__
from .eventsub import broadcaster_of, notification_event, revocation_event
from .helix import HelixChat, HelixCredentials
from .shapes import checked_message

DEFAULT_PORT = 8010
_log = get_logger("modules.twitch")


@dataclass(frozen=True)
class TwitchSettings:
    module: ModuleSettings
    webhook_secret: bytes = field(repr=False)
    redis_url: str | None = None
    helix: HelixCredentials | None = None  # None: replies are logged, not sent

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TwitchSettings:
        module = ModuleSettings.from_env(
            environ, default_name="twitch", default_port=DEFAULT_PORT, version=__version__
        )
        env = EnvReader(environ)
        return cls(
            module=module,
            webhook_secret=env.required("TWITCH_WEBHOOK_SECRET").encode(),
            redis_url=module.redis_url,
            helix=_helix_credentials(env),
        )


_HELIX_VARIABLES = ("TWITCH_CLIENT_ID", "TWITCH_CLIENT_SECRET", "TWITCH_BOT_USER_ID")


def _helix_credentials(env: EnvReader) -> HelixCredentials | None:
    """Helix credentials when any is set (then all three are required), else None."""
    if not any(env.optional(name) for name in _HELIX_VARIABLES):
        return None
    for name in _HELIX_VARIABLES:
        if env.optional(name) is None:
            raise SettingsError(
                f"{name} is required when any of {', '.join(_HELIX_VARIABLES)} is set"
            )
    return HelixCredentials(
        client_id=env.required("TWITCH_CLIENT_ID"),
        client_secret=env.required("TWITCH_CLIENT_SECRET"),
        bot_user_id=env.required("TWITCH_BOT_USER_ID"),
        api_base=env.url("TWITCH_API_BASE", ("http", "https")) or "https://api.twitch.tv",
        auth_base=env.url("TWITCH_AUTH_BASE", ("http", "https")) or "https://id.twitch.tv",
    )


class TwitchModule(TriggerModule):
    """``POST /webhooks/twitch``: EventSub notifications, challenges and revocations."""

    platform = "twitch"
    resources = ("event forwarder", "message-id store")

    def __init__(self, settings: TwitchSettings) -> None:
        super().__init__(settings.module, subscriptions=(response_type("twitch"),))
        self._secret = settings.webhook_secret
        self._redis_url = settings.redis_url
        self._topology = settings.module.redis_topology
        self._seen_prefix = settings.module.keyspace.webhook_seen("twitch")
        # Event ids of replies already posted: the router's pushes are at-least-once.
        self._replied_prefix = settings.module.keyspace.key("twitch", "replied")
        self._redis: aioredis.Redis | None = None
        self._helix_http: httpx.AsyncClient | None = None
        self.seen = SeenMessages(None, self._seen_prefix)
        self.replies = ReplyDesk(
            "twitch", self._sender(settings), ReplyLedger(None, self._replied_prefix)
        )
        self.app.add_url_rule("/webhooks/twitch", "twitch_webhook", self.webhook, methods=["POST"])
        mount_event_receiver(self.app, self.verifier, self.replies.handle)
        check_guards(self.app)

    def _sender(self, settings: TwitchSettings) -> ReplySender:
        if settings.helix is None:
            return LoggedReplies("twitch")
        # Well inside the router's push timeout, so a slow Helix reads as a retry, not a hang.
        self._helix_http = httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=1.0))
        return HelixChat(self._helix_http, settings.helix)

    async def initialize(self) -> None:
        if self._redis_url:
            self._redis = create_redis(self._redis_url, topology=self._topology)
            await prepare(self._redis)
            self.seen = SeenMessages(self._redis, self._seen_prefix)
            self.replies.ledger = ReplyLedger(self._redis, self._replied_prefix)
        await super().initialize()

    async def release(self) -> None:
        await super().release()
        if self._helix_http is not None:
            await self._helix_http.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    @public
    async def webhook(self) -> Response:
        """Receive one EventSub message (signature and freshness checked first)."""
        body = await raw_body()
        message_id = request.headers.get("Twitch-Eventsub-Message-Id", "")
        timestamp = request.headers.get("Twitch-Eventsub-Message-Timestamp", "")
        signature = request.headers.get("Twitch-Eventsub-Message-Signature", "")
        if not (message_id and signature) or not twitch_signature_valid(
            self._secret, message_id, timestamp, body, signature
        ):
            log_audit_event("AUTH", None, None, "twitch.webhook", "denied", reason="bad signature")
            raise errors.Forbidden("The EventSub signature does not match.")
        if not twitch_timestamp_fresh(timestamp):
            log_audit_event("AUTH", None, None, "twitch.webhook", "denied", reason="stale")
            raise errors.Forbidden("The EventSub message is too old or from the future.")
        kind = request.headers.get("Twitch-Eventsub-Message-Type", "")
        message = checked_message(kind, webhook_json(body))
        if kind == "webhook_callback_verification":
            return Response(message["challenge"], status=200, content_type="text/plain")
        if not await self.seen.first_time(message_id):
            return create_response(None, 204)
        if kind == "revocation":
            event = revocation_event(message, message_id, timestamp)
            log_audit_event(
                "AUDIT",
                None,
                None,
                "twitch.subscription.revoked",
                "accepted",
                subscription=event["payload"],
            )
        else:
            event = notification_event(message, message_id, timestamp)
        await self._queue(message_id, broadcaster_of(message), event)
        return create_response(None, 204)

    async def _queue(self, message_id: str, channel_id: str | None, event: dict[str, Any]) -> None:
        if channel_id is None:
            _log.warning("EventSub message without a broadcaster; nothing to route")
            return
        if not self.forwarder.offer(PendingEvent(channel_id, event, correlation_id())):
            await self.seen.forget(message_id)  # let Twitch's retry through later
            raise errors.ModuleUnavailable("The module is overloaded.", retry_after=5)
