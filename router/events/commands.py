"""Chat commands: a ``chat.message`` starting with a registered ``!name`` runs its action."""

from __future__ import annotations

from typing import Any, Protocol

from flask_core import errors
from flask_core.logging import get_logger
from flask_core.timestamps import now_rfc3339

from .models import Envelope
from .store import UNREACHABLE, EventStore

_log = get_logger("router.events.commands")


class CommandTarget(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def action_id(self) -> str: ...

    @property
    def module_id(self) -> str: ...


class CommandTable(Protocol):
    def command(self, name: str, community: str) -> CommandTarget | None:
        """The action a command name runs in ``community``, or None when no module serving
        that community claims it."""
        ...


class ActionDispatcher(Protocol):
    """How a command runs its action: the router's dispatcher, handed over at assembly."""

    async def dispatch(
        self,
        action_id: str,
        community_id: str,
        user_id: str,
        context: dict[str, Any],
        params: dict[str, Any],
        correlation_id: str,
    ) -> dict[str, Any]:
        """The SPEC §5 200 body, or a raised ``errors.HTTPError``."""
        ...


class CommandRouter:
    """Route command messages to actions and publish what they answer."""

    def __init__(
        self, table: CommandTable, dispatcher: ActionDispatcher, store: EventStore
    ) -> None:
        self._table = table
        self._dispatcher = dispatcher
        self._store = store

    async def route(self, envelope: Envelope, correlation_id: str | None) -> dict[str, Any] | None:
        """Run the command in ``envelope`` if it names one; its outcome, or None."""
        parsed = envelope.command_text
        target = self._table.command(parsed[0], envelope.community_id) if parsed else None
        if parsed is None or target is None:
            return None
        outcome = await self._run(target, envelope, parsed[1], correlation_id)
        await self._publish(envelope, outcome)
        return outcome

    async def _run(
        self, target: CommandTarget, envelope: Envelope, rest: str, correlation_id: str | None
    ) -> dict[str, Any]:
        outcome: dict[str, Any] = {
            "name": target.name,
            "action_id": target.action_id,
            "module_id": target.module_id,
        }
        context = {
            "platform": envelope.platform,
            "channel_id": envelope.channel_id,
            "event_id": envelope.event_id,
            "command": target.name,
            "text": envelope.payload.get("text"),
        }
        params = {"text": rest, "args": rest.split()}
        try:
            answer = await self._dispatcher.dispatch(
                target.action_id,
                envelope.community_id,
                # An action always runs for someone; a message without a user is the platform's.
                envelope.user_id or f"{envelope.platform or 'system'}:anonymous",
                context,
                params,
                correlation_id or "",
            )
        except errors.HTTPError as error:
            # The event itself was accepted; the command's failure is reported, not raised.
            return {**outcome, "status": error.code, "result": None, "error": error.detail}
        return {**outcome, "status": "ok", "result": answer.get("result")}

    async def _publish(self, envelope: Envelope, outcome: dict[str, Any]) -> None:
        message = {
            "community_id": envelope.community_id,
            "platform": envelope.platform,
            "channel_id": envelope.channel_id,
            "in_reply_to": envelope.event_id,
            "command": outcome,
            "sent_at": now_rfc3339(),
            "source": "router",
        }
        try:
            await self._store.publish_response(envelope.community_id, envelope.platform, message)
        except UNREACHABLE as exc:
            _log.warning("command response not published: Redis unreachable (%s)", exc)
