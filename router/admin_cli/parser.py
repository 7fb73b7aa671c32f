"""The ``admin`` argument tree: resources, their verbs and flags."""

from __future__ import annotations

import argparse
from typing import Any

from . import commands

ROLES = ("trigger", "action", "core", "admin", "user")
KEY_STATES = ("active", "revoked", "expired")
BUCKETS = ("minute", "hour", "day")


def _connection_flags() -> argparse.ArgumentParser:
    """--url/--key/--json, accepted before or after the sub-command (SUPPRESS keeps either)."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--url", default=argparse.SUPPRESS, help="router URL (env ROUTER_URL)")
    flags.add_argument("--key", default=argparse.SUPPRESS, help="admin key (env ROUTER_API_KEY)")
    flags.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON, not tables"
    )
    return flags


class _Verbs:
    """Adds ``resource verb`` parsers that share the connection flags and name their handler."""

    def __init__(self, resources: Any, flags: argparse.ArgumentParser) -> None:
        self._resources = resources
        self._flags = flags

    def resource(self, name: str, help_text: str) -> Any:
        parser = self._resources.add_parser(name, help=help_text, parents=[self._flags])
        return parser.add_subparsers(dest="verb", required=True)

    def verb(
        self, verbs: Any, name: str, handler: commands.Handler, help_text: str
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = verbs.add_parser(
            name, help=help_text, parents=[self._flags]
        )
        parser.set_defaults(handler=handler)
        return parser


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int)
    parser.add_argument("--cursor")
    parser.add_argument("--all", action="store_true", help="follow next_cursor to the end")


def _keys(v: _Verbs) -> None:
    verbs = v.resource("keys", "API keys over HTTP")
    create = v.verb(verbs, "create", commands.keys_create, "mint a key (secret shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--community", action="append", dest="communities", help="repeatable")
    create.add_argument("--module-id")
    create.add_argument("--expires-at", help="RFC 3339 time")
    create.add_argument("--rate-limit", help="e.g. 100/60")
    listing = v.verb(verbs, "list", commands.keys_list, "keys, filtered")
    listing.add_argument("--state", choices=KEY_STATES)
    listing.add_argument("--role", choices=ROLES)
    listing.add_argument("--community")
    listing.add_argument("--module-id")
    listing.add_argument("--q", help="text in the name or prefix")
    _paging(listing)
    v.verb(verbs, "show", commands.keys_show, "one key").add_argument("key_id")
    rotate = v.verb(verbs, "rotate", commands.keys_rotate, "replace a key")
    rotate.add_argument("key_id")
    rotate.add_argument("--grace-seconds", type=int, default=0)
    v.verb(verbs, "revoke", commands.keys_revoke, "revoke a key").add_argument("key_id")


def _communities(v: _Verbs) -> None:
    verbs = v.resource("communities", "communities")
    create = v.verb(verbs, "create", commands.communities_create, "create a community")
    create.add_argument("name")
    create.add_argument("--id")
    v.verb(verbs, "list", commands.communities_list, "the communities you manage")
    v.verb(verbs, "show", commands.communities_show, "one community and its channels").add_argument(
        "community_id"
    )
    v.verb(verbs, "delete", commands.communities_delete, "delete a community").add_argument(
        "community_id"
    )
    channels = v.resource("channels", "platform channels of a community")
    for name, handler in (("link", commands.channels_link), ("unlink", commands.channels_unlink)):
        parser = v.verb(channels, name, handler, f"{name} a channel")
        parser.add_argument("community_id")
        parser.add_argument("platform")
        parser.add_argument("channel_id")


def _modules(v: _Verbs) -> None:
    verbs = v.resource("modules", "registered modules")
    v.verb(verbs, "list", commands.modules_list, "modules and instance health")
    v.verb(verbs, "show", commands.modules_show, "one module, instances and breakers").add_argument(
        "module_id"
    )
    breakers = v.resource("breakers", "circuit breakers")
    reset = v.verb(breakers, "reset", commands.breakers_reset, "close an instance's breaker")
    reset.add_argument("module_id")
    reset.add_argument("instance_id")


def _deadletters(v: _Verbs) -> None:
    verbs = v.resource("deadletters", "events that could not be delivered")
    listing = v.verb(verbs, "list", commands.deadletters_list, "dead letters, newest first")
    listing.add_argument("--community")
    listing.add_argument("--module")
    listing.add_argument("--limit", type=int)
    replay = v.verb(verbs, "replay", commands.deadletters_replay, "send one to its module again")
    replay.add_argument("deadletter_id", help="community:entry_id")


def _audit_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--category", choices=commands.CATEGORIES)
    parser.add_argument("--community")
    parser.add_argument("--user")
    parser.add_argument("--action")
    parser.add_argument("--result", choices=("success", "denied", "failure"))
    parser.add_argument("--since", help="RFC 3339 time")
    parser.add_argument("--until", help="RFC 3339 time")


def _audit(v: _Verbs) -> None:
    verbs = v.resource("audit", "the audit trail")
    query = v.verb(verbs, "query", commands.audit_query, "records, newest first")
    _audit_filters(query)
    _paging(query)
    export = v.verb(verbs, "export", commands.audit_export, "stream records as NDJSON or CSV")
    _audit_filters(export)
    export.add_argument("--limit", type=int)
    export.add_argument("--format", choices=("ndjson", "csv"), default="ndjson")
    export.add_argument("--output", "-o", help="file to write (default: stdout)")
    v.verb(verbs, "verify", commands.audit_verify, "check the hash chain (exit 1 if broken)")
    stats = v.verb(verbs, "stats", commands.audit_stats, "records per bucket and category")
    stats.add_argument("--bucket", choices=BUCKETS, default="hour")
    stats.add_argument("--since")
    stats.add_argument("--until")
    stats.add_argument("--community")


def add_admin_commands(commands_parsers: Any) -> None:
    """Register ``admin <resource> <verb>`` on the router's sub-command parser."""
    flags = _connection_flags()
    admin = commands_parsers.add_parser(
        "admin", help="manage a running router over its admin API", parents=[flags]
    )
    v = _Verbs(admin.add_subparsers(dest="resource", required=True), flags)
    for add in (_keys, _communities, _modules, _deadletters, _audit):
        add(v)
