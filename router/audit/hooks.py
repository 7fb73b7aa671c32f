"""What the router audits on its own: denials, and every state-changing admin/registry request."""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, g, request

from flask_core.api import route_label
from flask_core.auth import COMMUNITY_HEADER, Principal
from flask_core.slots import ServiceSlot
from flask_core.validation import COMMUNITY_ID

from .trail import AuditTrail

AUDIT = ServiceSlot[AuditTrail]("router.audit")

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDITED_PREFIXES = ("/api/v1/admin/", "/api/v1/register", "/api/v1/modules/")
NOT_AUDITED_SUFFIXES = ("/heartbeat",)  # liveness chatter, not a change of state


def _claimed_community() -> str | None:
    value = request.headers.get(COMMUNITY_HEADER)
    return value if value and COMMUNITY_ID.match(value) else None


def _action() -> str:
    return f"{request.method} {route_label()}"


async def audit_denial(category: str, reason: str, principal: Principal | None) -> None:
    """Record an AUTH or AUTHZ denial of the current request (never the key itself).

    The ``on_denied`` hook of ``flask_core.auth.install_auth``: it sees every refusal once,
    whether the guard or a view raised it.
    """
    AUDIT.get().record(
        category,
        _action(),
        "401" if category == "AUTH" else "403",
        community=_claimed_community(),
        user=f"key:{principal.key_id}" if principal else None,
        reason=reason,
        details={"method": request.method, "path": request.path, "remote": request.remote_addr},
    )


def note_audit(community: str | None = None, **details: Any) -> None:
    """Let a view add the community and details of the change it made to its audit record."""
    if community is not None:
        g.audit_community = community
    g.audit_details = {**g.get("audit_details", {}), **details}


def _is_audited_change() -> bool:
    rule = route_label()
    return (
        request.method in MUTATING_METHODS
        and rule.startswith(AUDITED_PREFIXES)
        and not rule.endswith(NOT_AUDITED_SUFFIXES)
        and not g.get("deny_reason")  # already recorded as a denial
    )


def install_audit_hooks(app: Quart) -> None:
    """Record every state-changing request under the audited prefixes once it is answered."""

    @app.after_request
    async def _audit_change(response: Response) -> Response:
        if _is_audited_change():
            principal: Principal | None = g.get("principal")
            AUDIT.get().record(
                "AUDIT",
                _action(),
                str(response.status_code),
                community=g.get("audit_community") or g.get("community"),
                user=f"key:{principal.key_id}" if principal else None,
                details={"path": request.path, **g.get("audit_details", {})},
            )
        return response
