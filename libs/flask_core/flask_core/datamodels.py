"""The wire shapes shared by the router and the modules (SPEC §4, §5, §7), as TypedDicts."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

PLATFORMS = ("twitch", "discord", "slack", "youtube", "kick", "system")
CHAT_MESSAGE = "chat.message"
MODULE_TYPES = ("trigger", "action", "core")


class DeclaredAction(TypedDict):
    id: str
    path: str
    timeout_ms: int


class DeclaredCommand(TypedDict):
    name: str
    action: str


class Registration(TypedDict):
    """``POST /api/v1/register``."""

    module_id: str
    module_version: str
    module_type: str
    port: int
    health_check: str
    instance_id: str
    endpoints: list[str]
    actions: list[DeclaredAction]
    commands: list[DeclaredCommand]
    subscriptions: list[str]
    base_url: NotRequired[str]


class RegistrationAccepted(TypedDict):
    module_id: str
    instance_id: str
    lease_ttl_seconds: int
    heartbeat_interval_seconds: int
    registered_at: str


class Lease(TypedDict):
    lease_expires_at: str


class ActionResult(TypedDict):
    """The 200 answer of ``POST /api/v1/action/{action_id}``."""

    success: bool
    action_id: str
    result: Any
    execution_time_ms: float


class CommandOutcome(TypedDict):
    name: str
    action_id: str
    module_id: str
    status: str
    result: Any


class EventAccepted(TypedDict):
    """The answer of ``POST /api/v1/events`` (202, or 200 for a duplicate)."""

    event_id: str
    duplicate: bool
    command: NotRequired[CommandOutcome | None]


class BatchAccepted(TypedDict):
    results: list[EventAccepted]
