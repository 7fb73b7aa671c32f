"""The key admin API (SPEC §9)."""

from __future__ import annotations

from quart import Blueprint, Response

from flask_core import errors
from flask_core.api import create_response
from flask_core.auth import guard_blueprint
from flask_core.querystring import declared_query
from flask_core.routes import route, validated_body

from .. import answers
from ..audit.hooks import note_audit
from ..scope import AdminScope
from .access import KEYS
from .listing import LIST_KEYS, key_query
from .models import ApiKey
from .schemas import CREATE_KEY, ROTATE_KEY, new_key_from

blueprint = Blueprint("admin_keys", __name__, url_prefix="/api/v1/admin/keys")
guard_blueprint(blueprint, "admin", optional_scope=True)


def _note(key: ApiKey, **details: object) -> None:
    community = None if key.is_global else key.communities[0]
    note_audit(community, key_id=key.id, key_prefix=key.prefix, role=key.role, **details)


async def _visible_key(key_id: str) -> ApiKey:
    key = await KEYS.get().store.get(key_id)
    if key is None or not AdminScope.current().covers(key.communities):
        raise errors.NotFound("No such key.")
    return key


@blueprint.post("")
@route(body=CREATE_KEY, answers=answers.ok(answers.NEW_KEY, 201))
async def create_key() -> Response:
    """Mint a key; the secret is in this response only."""
    new = new_key_from(await validated_body())
    scope = AdminScope.current()
    if new.role == "admin" and not scope.principal.is_global:
        raise errors.Forbidden(reason="a community-scoped admin cannot mint admin keys")
    if not scope.covers(new.communities):
        raise errors.Forbidden(reason="key scope outside the admin's communities")
    key, plaintext = await KEYS.get().create(new)
    _note(key, name=key.name)
    return create_response({**key.public(), "key": plaintext}, status=201)


@blueprint.get("")
@route(query=LIST_KEYS, answers=answers.ok(answers.KEY_LIST))
async def list_keys() -> Response:
    """The keys this admin manages, filtered, oldest first, paged by cursor."""
    query = key_query(declared_query(), AdminScope.current())
    keys, cursor = await KEYS.get().store.search(query)
    return create_response({"items": [key.public() for key in keys], "next_cursor": cursor})


@blueprint.get("/<key_id>")
@route(answers=answers.ok(answers.KEY_OBJECT))
async def show_key(key_id: str) -> Response:
    """One key (never its secret or hash)."""
    return create_response((await _visible_key(key_id)).public())


@blueprint.post("/<key_id>/rotate")
@route(body=ROTATE_KEY, answers=answers.ok(answers.NEW_KEY, 201))
async def rotate_key(key_id: str) -> Response:
    """Replace a key; the old one keeps working for ``grace_seconds``."""
    body = await validated_body(required=False)
    await _visible_key(key_id)
    retired, new, plaintext = await KEYS.get().rotate(key_id, body["grace_seconds"])
    _note(new, replaces=retired.id, grace_seconds=body["grace_seconds"])
    return create_response({**new.public(), "key": plaintext, "replaces": retired.id}, status=201)


@blueprint.delete("/<key_id>")
@route(answers=answers.NO_CONTENT)
async def revoke_key(key_id: str) -> Response:
    """Revoke a key; every worker and replica rejects it within a second."""
    key = await _visible_key(key_id)
    await KEYS.get().revoke(key_id)
    _note(key)
    return create_response(None, status=204)
