"""Admin routes for dead letters: list them and send one back to its module."""

from __future__ import annotations

from quart import Blueprint, Response

from flask_core import errors
from flask_core.api import create_response
from flask_core.auth import guard_blueprint
from flask_core.querystring import QueryParam, declared_query
from flask_core.routes import route
from flask_core.slots import ServiceSlot

from .. import answers
from ..audit.hooks import note_audit
from ..scope import AdminScope
from .deadletters import DeadLetterId, DeadLetters

blueprint = Blueprint("events_admin", __name__, url_prefix="/api/v1/admin/deadletters")
guard_blueprint(blueprint, "admin", optional_scope=True)
DEADLETTERS = ServiceSlot[DeadLetters]("router.deadletters")
LIST_DEADLETTERS = {
    "community": QueryParam("dead letters of this community (within the admin's scope)"),
    "module": QueryParam("dead letters of this module"),
    "limit": QueryParam("at most this many (default 100)", kind="integer", minimum=1, maximum=1000),
}


async def _visible_communities(wanted: str | None) -> list[str]:
    scope = AdminScope.current()
    if wanted is not None:
        if not scope.sees(wanted):
            raise errors.Forbidden(reason="community outside the admin's scope")
        return [wanted]
    if scope.communities is None:
        return await DEADLETTERS.get().communities()
    return sorted(scope.communities)


@blueprint.get("")
@route(query=LIST_DEADLETTERS, answers=answers.ok(answers.DEAD_LETTERS))
async def list_deadletters() -> Response:
    """List dead letters, newest first (?community=&module=&limit=), within the admin's scope."""
    params = declared_query()
    limit = params.integer("limit", default=100, low=1, high=1000)
    assert limit is not None  # it has a default
    communities = await _visible_communities(params.text("community"))
    module_id = params.text("module")
    items = await DEADLETTERS.get().list(communities, module_id, limit)
    return create_response({"items": items})


@blueprint.post("/<dead_id>/replay")
@route(answers=answers.ok(answers.REPLAYED, 202))
async def replay_deadletter(dead_id: str) -> Response:
    """Queue a dead letter for its module again (it returns to the end of its community)."""
    dead_letter = DeadLetterId.parse(dead_id)
    if not AdminScope.current().sees(dead_letter.community):
        raise errors.NotFound("No such dead letter.")
    new_id = await DEADLETTERS.get().replay(dead_letter)
    note_audit(dead_letter.community, dead_letter=str(dead_letter), replayed_as=new_id)
    return create_response({"id": str(dead_letter), "replayed_as": new_id}, status=202)
