"""What the router audits on its own: denials, and every state-changing admin/registry request."""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, g, request

from flask_core.api import route_label
from flask_core.auth import COMMUNITY_HEADER, Principal
from flask_core.logging import aaa_result
from flask_core.slots import ServiceSlot
from flask_core.validation import COMMUNITY_ID

from .folding import AuthFailureFolding
from .trail import AuditTrail

AUDIT = ServiceSlot[AuditTrail]("router.audit")
AUTH_FOLDING = ServiceSlot[AuthFailureFolding]("router.audit.folding")

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDITED_PREFIXES = ("/api/v1/admin/", "/api/v1/register", "/api/v1/modules/")
NOT_AUDITED_SUFFIXES = ("/heartbeat",)  # liveness chatter, not a change of state


def _claimed_community() -> str | None:
    value = request.headers.get(COMMUNITY_HEADER)
    return value if value and COMMUNITY_ID.match(value) else None


def _action() -> str:
    return f"{request.method} {route_label()}"


async def audit_denial(
    category: str, reason: str, principal: Principal | None, *, key_prefix: str | None = None
) -> None:
    """Record an AUTH or AUTHZ denial of the current request (never the key itself).

    The ``on_denied`` hook of ``flask_core.auth.install_auth``: it sees every refusal once,
    whether the guard or a view raised it. An AUTH failure is recorded only when it is the
    first of its client address and key prefix (``-``: no key) in the folding window; the
    others are counted into a summary (``folding.py``).
    """
    details: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "remote": request.remote_addr,
        "status": 401 if category == "AUTH" else 403,
    }
    if category == "AUTH":
        prefix = key_prefix or "-"
        if await AUTH_FOLDING.get().count(request.remote_addr or "-", prefix) > 1:
            return
        details.update(key_prefix=prefix, count=1)
    AUDIT.get().record(
        category,
        _action(),
        "denied",
        community=_claimed_community(),
        user=f"key:{principal.key_id}" if principal else None,
        reason=reason,
        details=details,
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
                aaa_result(response.status_code),
                community=g.get("audit_community") or g.get("community"),
                user=f"key:{principal.key_id}" if principal else None,
                details={
                    "path": request.path,
                    "status": response.status_code,
                    **g.get("audit_details", {}),
                },
            )
        return response
