"""Community admin routes and channel resolution (SPEC §8)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from flask_core import errors
from flask_core.api import create_response, read_json
from flask_core.auth import current_principal, require_api_key
from flask_core.querystring import QueryString
from flask_core.validation import COMMUNITY_ID, STORABLE_TEXT, validate_input

from ..audit.hooks import note_audit
from ..scope import AdminScope, forbid
from ..state import router_state
from .store import CommunityStore, channel_json, community_json

blueprint = Blueprint("communities", __name__, url_prefix="/api/v1")

PLATFORM = r"^[a-z][a-z0-9_-]{0,31}$"
CREATE_COMMUNITY = {
    "id": {"type": "string", "nullable": True, "regex": COMMUNITY_ID.pattern},
    "name": {
        "type": "string",
        "required": True,
        "minlength": 1,
        "maxlength": 200,
        "regex": STORABLE_TEXT,
    },
}
ADD_CHANNEL = {
    "platform": {"type": "string", "required": True, "regex": PLATFORM},
    "channel_id": {
        "type": "string",
        "required": True,
        "minlength": 1,
        "maxlength": 128,
        "regex": STORABLE_TEXT,
    },
}
MAX_QUERY_TEXT = 128


def _store() -> CommunityStore:
    return CommunityStore(router_state().dal)


@blueprint.post("/admin/communities")
@require_api_key("admin", optional_scope=True)
async def create_community() -> Response:
    """Create a community (a scoped admin only one of its own ids)."""
    body = validate_input(await read_json(), CREATE_COMMUNITY)
    scope = AdminScope.current()
    wanted = body.get("id")
    if not scope.is_unrestricted and (wanted is None or not scope.sees(wanted)):
        forbid("community outside the admin's scope")
    row = await _store().create(wanted, body["name"])
    note_audit(row["id"], community_id=row["id"])
    return create_response(community_json(row), status=201)


@blueprint.get("/admin/communities")
@require_api_key("admin", optional_scope=True)
async def list_communities() -> Response:
    """The communities this admin manages."""
    rows = await _store().list(AdminScope.current().communities)
    return create_response({"items": [community_json(row) for row in rows]})


@blueprint.post("/admin/communities/<community_id>/channels")
@require_api_key("admin", optional_scope=True)
async def add_channel(community_id: str) -> Response:
    """Map a platform channel to this community (one community per channel)."""
    body = validate_input(await read_json(), ADD_CHANNEL)
    store = _store()
    if not AdminScope.current().sees(community_id) or not await store.exists(community_id):
        raise errors.NotFound("No such community.")
    row, created = await store.add_channel(community_id, body["platform"], body["channel_id"])
    note_audit(community_id, platform=body["platform"], channel_id=body["channel_id"])
    return create_response(channel_json(row), status=201 if created else 200)


create_community.__body_schema__ = CREATE_COMMUNITY  # type: ignore[attr-defined]
add_channel.__body_schema__ = ADD_CHANNEL  # type: ignore[attr-defined]


@blueprint.get("/communities/resolve")
@require_api_key("trigger", "core", "admin")
async def resolve_channel() -> Response:
    """The community of a platform channel, if the key may see it."""
    params = QueryString(request.args)
    platform = params.required_text("platform", max_length=MAX_QUERY_TEXT)
    channel_id = params.required_text("channel_id", max_length=MAX_QUERY_TEXT)
    row = await _store().resolve_row(platform, channel_id)
    if row is None or not current_principal().may_access(row["community_id"]):
        raise errors.NotFound("No community for this channel.")
    return create_response({"community_id": row["community_id"]})
