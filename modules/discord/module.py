"""The Discord module: verifies interactions and webhook events and forwards them."""

from __future__ import annotations

import asyncio
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
from flask_core.platforms.webhooks import DiscordVerifier, discord_timestamp_fresh, webhook_json
from flask_core.redis_client import create_redis, prepare
from flask_core.replies import (
    LoggedReplies,
    ReplyDesk,
    ReplyLedger,
    ReplySender,
    response_type,
)
from flask_core.router_client import RouterError
from flask_core.settings import EnvReader, SettingsError

from . import __version__
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    DEFERRED_CHANNEL_MESSAGE,
    PING,
    PONG,
    command_event,
    guild_of,
    message,
    reply_content,
    webhook_event,
)
from .rest import DiscordChannels
from .shapes import checked_interaction, checked_webhook_event

DEFAULT_PORT = 8011
DISCORD_API = "https://discord.com/api/v10"
# Discord wants the first answer within 3 s; past this much of it, defer and edit later.
ANSWER_WITHIN_SECONDS = 2.5
# Event ids of replies already posted (pushes are at-least-once), and of interactions
# answered inline or by an edit (their durable reply is not posted again).
_log = get_logger("modules.discord")


@dataclass(frozen=True)
class DiscordSettings:
    module: ModuleSettings
    public_key: str
    application_id: str
    api_base: str = DISCORD_API
    bot_token: str | None = field(default=None, repr=False)  # None: replies are logged
    redis_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DiscordSettings:
        module = ModuleSettings.from_env(
            environ, default_name="discord", default_port=DEFAULT_PORT, version=__version__
        )
        env = EnvReader(environ)
        public_key = env.required("DISCORD_PUBLIC_KEY")
        try:
            DiscordVerifier(public_key)
        except ValueError:
            raise SettingsError("DISCORD_PUBLIC_KEY must be a 32-byte hex Ed25519 key") from None
        return cls(
            module=module,
            public_key=public_key,
            application_id=env.required("DISCORD_APPLICATION_ID"),
            api_base=env.url("DISCORD_API_BASE", ("http", "https")) or DISCORD_API,
            bot_token=env.optional("DISCORD_BOT_TOKEN"),
            redis_url=module.redis_url,
        )


class DiscordModule(TriggerModule):
    """``/webhooks/discord/interactions`` and ``/webhooks/discord/events``."""

    platform = "discord"

    def __init__(self, settings: DiscordSettings) -> None:
        super().__init__(settings.module, subscriptions=(response_type("discord"),))
        self.discord = settings
        names = settings.module.keyspace  # HUB_NAMESPACE applies
        self._replied = names.key("discord", "replied")  # replies already posted
        self._answered = names.key("discord", "answered")
        self.signatures = DiscordVerifier(settings.public_key)
        self._redis: aioredis.Redis | None = None
        self._rest_http: httpx.AsyncClient | None = None
        self.replies = ReplyDesk(
            "discord",
            self._sender(settings),
            ReplyLedger(None, self._replied),
            answered=SeenMessages(None, self._answered),
        )
        mount_event_receiver(self.app, self.verifier, self.replies.handle)
        self.app.add_url_rule(
            "/webhooks/discord/interactions",
            "discord_interactions",
            self.interactions,
            methods=["POST"],
        )
        self.app.add_url_rule(
            "/webhooks/discord/events", "discord_events", self.events, methods=["POST"]
        )
        check_guards(self.app)

    def _sender(self, settings: DiscordSettings) -> ReplySender:
        if settings.bot_token is None:
            return LoggedReplies("discord")
        # Well inside the router's push timeout, so a slow Discord reads as a retry, not a hang.
        self._rest_http = httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=1.0))
        return DiscordChannels(self._rest_http, settings.bot_token, settings.api_base)

    async def initialize(self) -> None:
        if self.discord.redis_url:
            self._redis = create_redis(
                self.discord.redis_url, topology=self.discord.module.redis_topology
            )
            await prepare(self._redis)
            self.replies.ledger = ReplyLedger(self._redis, self._replied)
            self.replies.answered = SeenMessages(self._redis, self._answered)
        await super().initialize()

    async def release(self) -> None:
        await super().release()
        if self._rest_http is not None:
            await self._rest_http.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def _verified_body(self) -> tuple[Any, bytes]:
        """The parsed body once its signature verifies and its timestamp is fresh (else 401)."""
        raw = await raw_body()
        signature = request.headers.get("X-Signature-Ed25519", "")
        timestamp = request.headers.get("X-Signature-Timestamp", "")
        if not self.signatures.valid(signature, timestamp, raw):
            log_audit_event("AUTH", None, None, "discord.webhook", "denied", reason="bad signature")
            raise errors.Unauthorized("The request signature does not verify.")
        if not discord_timestamp_fresh(timestamp):
            log_audit_event("AUTH", None, None, "discord.webhook", "denied", reason="stale")
            raise errors.Unauthorized("The request is too old or from the future.")
        return webhook_json(raw), raw

    @public
    async def interactions(self) -> Response:
        """Answer one interaction: PING, or an application command routed to the router."""
        body, _ = await self._verified_body()
        interaction = checked_interaction(body)
        kind = interaction.get("type")
        if kind == PING:
            return create_response({"type": PONG})
        if kind == AUTOCOMPLETE:
            return create_response({"type": AUTOCOMPLETE_RESULT, "data": {"choices": []}})
        if kind != APPLICATION_COMMAND:
            return create_response(message("This interaction is not supported.", ephemeral=True))
        return create_response(await self._answer_command(interaction))

    async def _answer_command(self, interaction: dict[str, Any]) -> dict[str, Any]:
        community = await self._community_of(interaction)
        if community is None:
            return message("This server is not linked to a community.", ephemeral=True)
        routed = asyncio.ensure_future(self._route(community, interaction))
        done, _ = await asyncio.wait({routed}, timeout=ANSWER_WITHIN_SECONDS)
        if done:
            return routed.result()
        token = str(interaction.get("token", ""))
        self.tasks.spawn("discord.followup", self._edit_original(token, routed))
        return {"type": DEFERRED_CHANNEL_MESSAGE}

    async def _community_of(self, interaction: dict[str, Any]) -> str | None:
        for channel in (interaction.get("guild_id"), interaction.get("channel_id")):
            if isinstance(channel, str) and channel:
                try:
                    community = await self.forwarder.communities.resolve(channel)
                except (RouterError, httpx.HTTPError):
                    return None
                if community is not None:
                    return community
        return None

    async def _route(self, community: str, interaction: dict[str, Any]) -> dict[str, Any]:
        event = command_event(interaction)
        # Marked before the router sees it: its durable reply may arrive before this answer.
        if self.replies.answered is not None:
            await self.replies.answered.first_time(event["event_id"])
        try:
            answer = await self.router.events(community, event)
        except RouterError as error:
            _log.warning("router refused an interaction: %s", error)
            return message("The command could not be run.", ephemeral=True)
        except httpx.HTTPError as error:
            _log.warning("router unreachable: %r", error)
            return message("The bot is unavailable; try again shortly.", ephemeral=True)
        if not answer.get("command"):
            return message("Unknown command.", ephemeral=True)
        return message(reply_content(answer["command"]))

    async def _edit_original(self, token: str, routed: asyncio.Future[dict[str, Any]]) -> None:
        """Replace the deferred answer with the command's result (Discord REST API)."""
        reply = await routed
        url = (
            f"{self.discord.api_base}/webhooks/{self.discord.application_id}"
            f"/{token}/messages/@original"
        )
        try:
            response = await self.router.http.patch(url, json=reply["data"])
        except httpx.HTTPError as error:
            _log.error("could not edit the deferred Discord reply: %r", error)
            return
        if response.is_error:
            _log.error("Discord refused the reply edit: %s", response.status_code)

    @public
    async def events(self) -> Response:
        """Webhook events: PING answers 204; events answer 204 and go to the router."""
        parsed, raw = await self._verified_body()
        body = checked_webhook_event(parsed)
        if body.get("type") == 0:
            return create_response(None, 204)
        guild = guild_of(body)
        if guild is None:
            _log.info("webhook event without a guild; nothing to route")
            return create_response(None, 204)
        if not self.forwarder.offer(
            PendingEvent(guild, webhook_event(body, raw), correlation_id())
        ):
            raise errors.ModuleUnavailable("The module is overloaded.", retry_after=5)
        return create_response(None, 204)
