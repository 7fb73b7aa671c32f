"""Community admin routes and channel resolution (SPEC §8)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from flask_core import errors
from flask_core.api import create_response
from flask_core.auth import api_key, current_principal, require_api_key
from flask_core.querystring import QueryString, declared_query
from flask_core.routes import route, validated_body
from flask_core.slots import ServiceSlot
from flask_core.validation import COMMUNITY_ID, STORABLE_TEXT

from .. import answers
from ..audit.hooks import note_audit
from ..scope import AdminScope
from .store import CommunityStore, channel_json, community_json, linked_channel_json

blueprint = Blueprint("communities", __name__, url_prefix="/api/v1")
COMMUNITIES = ServiceSlot[CommunityStore]("router.communities")
ADMIN = api_key("admin", optional_scope=True)

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


@blueprint.post("/admin/communities")
@route(guard=ADMIN, body=CREATE_COMMUNITY, answers=answers.ok(answers.COMMUNITY, 201))
async def create_community() -> Response:
    """Create a community (a scoped admin only one of its own ids)."""
    body = await validated_body()
    scope = AdminScope.current()
    wanted = body.get("id")
    if not scope.is_unrestricted and (wanted is None or not scope.sees(wanted)):
        raise errors.Forbidden(reason="community outside the admin's scope")
    row = await COMMUNITIES.get().create(wanted, body["name"])
    note_audit(row["id"], community_id=row["id"])
    return create_response(community_json(row), status=201)


@blueprint.get("/admin/communities")
@route(guard=ADMIN, query={}, answers=answers.ok(answers.COMMUNITY_LIST))
async def list_communities() -> Response:
    """The communities this admin manages."""
    declared_query()  # takes no parameters: refuse any, rather than ignore a filter
    rows = await COMMUNITIES.get().list(AdminScope.current().communities)
    return create_response({"items": [community_json(row) for row in rows]})


@blueprint.post("/admin/communities/<community_id>/channels")
@route(
    guard=ADMIN,
    body=ADD_CHANNEL,
    answers=answers.CHANNEL_ANSWERS,
)
async def add_channel(community_id: str) -> Response:
    """Map a platform channel to this community (one community per channel)."""
    body = await validated_body()
    store = COMMUNITIES.get()
    if not AdminScope.current().sees(community_id) or not await store.exists(community_id):
        raise errors.NotFound("No such community.")
    row, created = await store.add_channel(community_id, body["platform"], body["channel_id"])
    note_audit(community_id, platform=body["platform"], channel_id=body["channel_id"])
    return create_response(channel_json(row), status=201 if created else 200)


async def _visible_community(community_id: str) -> CommunityStore:
    """The store, once the community exists and lies in the admin's scope (else 404)."""
    store = COMMUNITIES.get()
    if not AdminScope.current().sees(community_id) or not await store.exists(community_id):
        raise errors.NotFound("No such community.")
    return store


@blueprint.get("/admin/communities/<community_id>")
@route(guard=ADMIN, answers=answers.ok(answers.COMMUNITY_DETAIL))
async def show_community(community_id: str) -> Response:
    """One community with its linked channels."""
    store = await _visible_community(community_id)
    row = await store.get(community_id)
    if row is None:  # deleted since the check
        raise errors.NotFound("No such community.")
    channels = [linked_channel_json(channel) for channel in await store.channels(community_id)]
    return create_response({**community_json(row), "channels": channels})


@blueprint.delete("/admin/communities/<community_id>/channels/<platform>/<channel_id>")
@route(guard=ADMIN, answers=answers.NO_CONTENT)
async def remove_channel(community_id: str, platform: str, channel_id: str) -> Response:
    """Unlink a platform channel from this community."""
    store = await _visible_community(community_id)
    if not await store.remove_channel(community_id, platform, channel_id):
        raise errors.NotFound("This channel is not linked to this community.")
    note_audit(community_id, platform=platform, channel_id=channel_id)
    return create_response(None, status=204)


@blueprint.delete("/admin/communities/<community_id>")
@route(guard=ADMIN, answers=answers.NO_CONTENT)
async def delete_community(community_id: str) -> Response:
    """Delete a community and its channel links (409 while active keys are scoped to it)."""
    store = await _visible_community(community_id)
    if not await store.delete(community_id):
        raise errors.NotFound("No such community.")
    note_audit(community_id, community_id=community_id)
    return create_response(None, status=204)


@blueprint.get("/communities/resolve")
@require_api_key("trigger", "core", "admin")
@route(answers=answers.ok(answers.RESOLVED), query=answers.RESOLVE_QUERY)
async def resolve_channel() -> Response:
    """The community of a platform channel, if the key may see it."""
    params = QueryString(request.args)
    platform = params.required_text("platform", max_length=MAX_QUERY_TEXT)
    channel_id = params.required_text("channel_id", max_length=MAX_QUERY_TEXT)
    row = await COMMUNITIES.get().resolve_row(platform, channel_id)
    if row is None or not current_principal().may_access(row["community_id"]):
        raise errors.NotFound("No community for this channel.")
    return create_response({"community_id": row["community_id"]})
