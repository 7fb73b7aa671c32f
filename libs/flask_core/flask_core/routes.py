"""What each route declares about itself, in one place: its guard, its body schema and how it
is rate limited.

Views declare with one decorator, ``@route(guard=..., body=..., limits=...)`` (``@public`` and
``@require_api_key`` are its guard-only forms). The declarations are kept in a registry keyed by
the view function, which ``check_guards``, the auth hook, ``validated_body``, the rate-limit hook
and the OpenAPI generator all read, so nothing is stored on the functions themselves.
"""

from __future__ import annotations

import dataclasses
import enum
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from quart import Blueprint, Quart, current_app, request

from .api import read_json
from .validation import validate_input

if TYPE_CHECKING:
    from .auth import Guard
    from .querystring import QueryParam

F = TypeVar("F", bound=Callable[..., Any])


class LimitMode(enum.Enum):
    """Who applies the caller's quotas to a route."""

    HOOK = "hook"  # the rate-limit hook, before the view (key + community)
    # The view itself, once it knows the user its body names: one decision for key, community
    # and user instead of two round trips.
    VIEW = "view"


@dataclass(frozen=True, slots=True)
class Answer:
    """A success response a route gives: its status and the JSON Schema of its body (None: no
    body), for the OpenAPI description the fuzzer checks responses against."""

    status: int
    schema: Mapping[str, Any] | None = None
    media_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class RouteMeta:
    guard: Guard | None = None
    body: Mapping[str, Any] | None = None
    limits: LimitMode = LimitMode.HOOK
    # Called on a timer (heartbeats): its successful requests are logged at DEBUG, so they do
    # not drown the lines a person wants to read.
    routine: bool = False
    # Declared query parameters (name -> QueryParam): documented, and the only ones accepted
    # by ``querystring.declared_query()``.
    query: Mapping[str, QueryParam] | None = None
    answers: tuple[Answer, ...] = ()


NOTHING_DECLARED = RouteMeta()

# Weak keys: apps (and their views and blueprints) built per test come and go.
_views: weakref.WeakKeyDictionary[Callable[..., Any], RouteMeta] = weakref.WeakKeyDictionary()
_blueprints: weakref.WeakKeyDictionary[Blueprint, Guard] = weakref.WeakKeyDictionary()


def route(
    *,
    guard: Guard | None = None,
    body: Mapping[str, Any] | None = None,
    limits: LimitMode | None = None,
    routine: bool | None = None,
    query: Mapping[str, QueryParam] | None = None,
    answers: tuple[Answer, ...] | None = None,
) -> Callable[[F], F]:
    """Declare a view's guard, body schema, limit mode, whether it is routine traffic, its
    query parameters and its success answers (what is not given stays as it was).

    Apply it below the ``@blueprint.get/post(...)`` decorator, so it sees the registered view.
    """
    changes: dict[str, Any] = {
        "guard": guard,
        "body": body,
        "limits": limits,
        "routine": routine,
        "answers": answers,
        "query": query,
    }
    changes = {name: value for name, value in changes.items() if value is not None}

    def declare(view: F) -> F:
        _views[view] = dataclasses.replace(_views.get(view, NOTHING_DECLARED), **changes)
        return view

    return declare


def declare_blueprint_guard(blueprint: Blueprint, guard: Guard) -> None:
    """The guard of every route of ``blueprint`` that declares none itself."""
    _blueprints[blueprint] = guard


def meta_of(app: Quart, endpoint: str) -> RouteMeta:
    """What the view behind ``endpoint`` declared, its blueprint's guard filling a missing one."""
    view = app.view_functions.get(endpoint)
    # A method registered as a view is declared on its class: look at the function.
    view = getattr(view, "__func__", view)
    meta = _views.get(view, NOTHING_DECLARED) if view is not None else NOTHING_DECLARED
    if meta.guard is not None:
        return meta
    blueprint_name = endpoint.rpartition(".")[0]
    blueprint = app.blueprints.get(blueprint_name) if blueprint_name else None
    default = _blueprints.get(blueprint) if isinstance(blueprint, Blueprint) else None
    return dataclasses.replace(meta, guard=default) if default is not None else meta


_SERVED_META = "flask_core.served_route_meta"


def served_meta(app: Quart, endpoint: str) -> RouteMeta:
    """``meta_of`` for the request hooks, worked out once per endpoint and app.

    Several hooks ask on every request; the answer cannot change once the app serves, since
    Quart refuses new routes after the first request and declarations are made at import.
    """
    cache: dict[str, RouteMeta] = app.extensions.setdefault(_SERVED_META, {})
    meta = cache.get(endpoint)
    if meta is None:
        meta = cache[endpoint] = meta_of(app, endpoint)
    return meta


def current_meta() -> RouteMeta:
    rule = request.url_rule
    return served_meta(current_app, rule.endpoint) if rule is not None else NOTHING_DECLARED


async def validated_body(*, required: bool = True) -> dict[str, Any]:
    """The JSON body validated (and normalised) against the schema the route declared.

    With ``required=False`` an empty body is validated as ``{}`` (the schema's defaults).
    """
    schema = current_meta().body
    if schema is None:
        raise RuntimeError(f"{request.url_rule} declares no body schema")
    return validate_input((await read_json(required=required)) or {}, schema)
