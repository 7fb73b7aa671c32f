"""What each ``python -m router admin`` sub-command does, one small function each.

A handler gets the client and the parsed arguments, calls the admin API and prints the answer
(``--json``: the router's JSON as it came; otherwise a table). It returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from .client import AdminClient, quoted
from .output import as_json, record, table

Handler = Callable[[AdminClient, argparse.Namespace], int]

KEY_COLUMNS = ("id", "prefix", "name", "role", "communities", "module_id", "state", "expires_at")
COMMUNITY_COLUMNS = ("id", "name", "created_at")
CHANNEL_COLUMNS = ("platform", "channel_id", "linked_at")
MODULE_COLUMNS = ("module_id", "module_type", "module_version", "status", "instances")
INSTANCE_COLUMNS = ("instance_id", "status", "breaker", "lease_expires_at", "base_url")
DEADLETTER_COLUMNS = ("id", "module_id", "type", "attempts", "failed_at", "last_error")
AUDIT_COLUMNS = ("id", "timestamp", "category", "community", "user", "action", "result", "reason")
CATEGORIES = ("AUTH", "AUTHZ", "AUDIT", "ERROR", "SYSTEM")


def _key_state(key: dict[str, Any]) -> str:
    if key.get("revoked_at"):
        return "revoked"
    expires = key.get("expires_at")
    if expires and datetime.fromisoformat(expires.replace("Z", "+00:00")) <= datetime.now(UTC):
        return "expired"
    return "active"


def _key_row(key: dict[str, Any]) -> dict[str, Any]:
    return {**key, "state": _key_state(key)}


def _show(args: argparse.Namespace, body: Any) -> int:
    if args.json:
        as_json(body)
    else:
        record(body)
    return 0


def _list(
    args: argparse.Namespace,
    client: AdminClient,
    path: str,
    params: dict[str, Any],
    columns: Iterable[str],
    shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda item: item,
) -> int:
    """A cursor-paged list: one page (and where the next one starts) or, with --all, every page."""
    if getattr(args, "all", False):
        items, cursor = list(client.pages(path, params, follow=True)), None
    else:
        items, cursor = client.page(path, params)
    if args.json:
        as_json(items if getattr(args, "all", False) else {"items": items, "next_cursor": cursor})
        return 0
    table([shape(item) for item in items], tuple(columns))
    if cursor:
        print(f"more: add --cursor {cursor} (or --all)", file=sys.stderr)
    return 0


# keys


def keys_create(client: AdminClient, args: argparse.Namespace) -> int:
    body = {
        "name": args.name,
        "role": args.role,
        "communities": args.communities or ["*"],
        "module_id": args.module_id,
        "expires_at": args.expires_at,
        "rate_limit": args.rate_limit,
    }
    created = client.post("/admin/keys", {k: v for k, v in body.items() if v is not None})
    return _print_new_key(args, created)


def _print_new_key(args: argparse.Namespace, created: dict[str, Any]) -> int:
    if args.json:
        as_json(created)
        return 0
    secret = created.pop("key")
    record(created)
    print(f"\nkey (shown only now): {secret}")
    return 0


def keys_list(client: AdminClient, args: argparse.Namespace) -> int:
    params = {
        "state": args.state,
        "role": args.role,
        "community": args.community,
        "module_id": args.module_id,
        "q": args.q,
        "limit": args.limit,
        "cursor": args.cursor,
    }
    return _list(args, client, "/admin/keys", params, KEY_COLUMNS, _key_row)


def keys_show(client: AdminClient, args: argparse.Namespace) -> int:
    return _show(args, client.get(f"/admin/keys/{quoted(args.key_id)}"))


def keys_rotate(client: AdminClient, args: argparse.Namespace) -> int:
    body = {"grace_seconds": args.grace_seconds}
    return _print_new_key(args, client.post(f"/admin/keys/{quoted(args.key_id)}/rotate", body))


def keys_revoke(client: AdminClient, args: argparse.Namespace) -> int:
    client.delete(f"/admin/keys/{quoted(args.key_id)}")
    print(f"revoked {args.key_id}", file=sys.stderr)
    return 0


# communities and channels


def _record_and_table(
    args: argparse.Namespace, item: dict[str, Any], nested: str, columns: tuple[str, ...]
) -> int:
    """One item as a record, then its ``nested`` list as a table (or all of it as JSON)."""
    if args.json:
        as_json(item)
        return 0
    rows = item.pop(nested, [])
    record(item)
    print()
    table(rows, columns)
    return 0


def communities_create(client: AdminClient, args: argparse.Namespace) -> int:
    body = {"name": args.name, **({"id": args.id} if args.id else {})}
    return _show(args, client.post("/admin/communities", body))


def communities_list(client: AdminClient, args: argparse.Namespace) -> int:
    return _list(args, client, "/admin/communities", {}, COMMUNITY_COLUMNS)


def communities_show(client: AdminClient, args: argparse.Namespace) -> int:
    community = client.get(f"/admin/communities/{quoted(args.community_id)}")
    return _record_and_table(args, community, "channels", CHANNEL_COLUMNS)


def communities_delete(client: AdminClient, args: argparse.Namespace) -> int:
    client.delete(f"/admin/communities/{quoted(args.community_id)}")
    print(f"deleted community {args.community_id}", file=sys.stderr)
    return 0


def channels_link(client: AdminClient, args: argparse.Namespace) -> int:
    body = {"platform": args.platform, "channel_id": args.channel_id}
    return _show(
        args, client.post(f"/admin/communities/{quoted(args.community_id)}/channels", body)
    )


def channels_unlink(client: AdminClient, args: argparse.Namespace) -> int:
    community, platform, channel = map(quoted, (args.community_id, args.platform, args.channel_id))
    client.delete(f"/admin/communities/{community}/channels/{platform}/{channel}")
    print(f"unlinked {args.platform}/{args.channel_id} from {args.community_id}", file=sys.stderr)
    return 0


# modules and breakers


def _module_row(module: dict[str, Any]) -> dict[str, Any]:
    instances = module.get("instances", [])
    healthy = sum(1 for i in instances if i.get("status") == "healthy")
    return {**module, "instances": f"{healthy}/{len(instances)} healthy"}


def modules_list(client: AdminClient, args: argparse.Namespace) -> int:
    items = client.get("/modules")["items"]
    if args.json:
        as_json(items)
    else:
        table([_module_row(m) for m in items], MODULE_COLUMNS)
    return 0


def modules_show(client: AdminClient, args: argparse.Namespace) -> int:
    module = client.get(f"/modules/{quoted(args.module_id)}")
    return _record_and_table(args, module, "instances", INSTANCE_COLUMNS)


def breakers_reset(client: AdminClient, args: argparse.Namespace) -> int:
    path = f"/admin/modules/{quoted(args.module_id)}/instances/{quoted(args.instance_id)}"
    return _show(args, client.post(f"{path}/breaker/reset"))


# dead letters


def _deadletter_row(item: dict[str, Any]) -> dict[str, Any]:
    failed = datetime.fromtimestamp(item.get("failed_at_ms", 0) / 1000, UTC)
    return {**item, "failed_at": failed.isoformat(timespec="seconds").replace("+00:00", "Z")}


def deadletters_list(client: AdminClient, args: argparse.Namespace) -> int:
    params = {"community": args.community, "module": args.module, "limit": args.limit}
    items = client.get("/admin/deadletters", **params)["items"]
    if args.json:
        as_json(items)
    else:
        table([_deadletter_row(item) for item in items], DEADLETTER_COLUMNS)
    return 0


def deadletters_replay(client: AdminClient, args: argparse.Namespace) -> int:
    return _show(args, client.post(f"/admin/deadletters/{quoted(args.deadletter_id)}/replay"))


# audit


def _audit_filters(args: argparse.Namespace) -> dict[str, Any]:
    names = ("category", "community", "user", "action", "result", "since", "until", "limit")
    return {name: getattr(args, name) for name in names}


def audit_query(client: AdminClient, args: argparse.Namespace) -> int:
    params = {**_audit_filters(args), "cursor": args.cursor}
    return _list(args, client, "/admin/audit", params, AUDIT_COLUMNS)


def audit_export(client: AdminClient, args: argparse.Namespace) -> int:
    params = {**_audit_filters(args), "format": args.format}
    with ExitStack() as stack:
        sink = stack.enter_context(open(args.output, "wb")) if args.output else sys.stdout.buffer
        written = client.stream_to("/admin/audit/export", params, sink)
        sink.flush()
    if args.output:
        print(f"wrote {written} bytes to {args.output}", file=sys.stderr)
    return 0


def audit_verify(client: AdminClient, args: argparse.Namespace) -> int:
    result = client.get("/admin/audit/verify")
    if args.json:
        as_json(result)
    elif result["ok"]:
        print(f"chain intact: {result['checked']} records checked")
    else:
        print(f"chain BROKEN at record {result['first_bad_id']} ({result['checked']} checked)")
    return 0 if result["ok"] else 1


def audit_stats(client: AdminClient, args: argparse.Namespace) -> int:
    params = {
        "bucket": args.bucket,
        "since": args.since,
        "until": args.until,
        "community": args.community,
    }
    buckets = client.get("/admin/audit/stats", **params)["buckets"]
    if args.json:
        as_json({"buckets": buckets})
        return 0
    rows = [{"start": b["start"], **b["counts"]} for b in buckets]
    table(rows, ("start", *CATEGORIES))
    return 0
