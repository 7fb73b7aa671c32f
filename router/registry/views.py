"""Registry routes (SPEC §4): register, heartbeat, deregister, list, and breaker reset."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Protocol

from quart import Blueprint, Response, request

from flask_core import errors
from flask_core.api import create_response, read_json
from flask_core.auth import Principal, api_key, current_principal, global_scope_only
from flask_core.breaker import BreakerState, Transition
from flask_core.database import DatabaseUnavailable
from flask_core.routes import route
from flask_core.slots import ServiceSlot
from flask_core.timestamps import rfc3339

from .. import answers
from ..audit.hooks import note_audit
from .live import Registry
from .models import InstanceView, ModuleView
from .schema import REGISTER_SCHEMA, parse_registration


class BreakerControl(Protocol):
    """What the registry's routes may do with the breakers of module instances."""

    async def state(self, name: str) -> BreakerState: ...

    async def reset(self, name: str) -> Transition | None: ...


blueprint = Blueprint("registry", __name__, url_prefix="/api/v1")
REGISTRY = ServiceSlot[Registry]("router.registry")
BREAKERS = ServiceSlot[BreakerControl]("router.breakers")


def _registry_writer(principal: Principal) -> None:
    """The registry serves every community, so only a global admin or a key bound to a
    module may change it (SPEC §3)."""
    if principal.role == "admin":
        if not principal.is_global:
            raise errors.Forbidden(
                "Only a global admin or a key bound to the module may change the registry.",
                reason="registry write by a community-scoped admin",
            )
    elif principal.module_id is None:
        raise errors.Forbidden(
            "Only a key bound to the module may change the registry.",
            reason="registry write by a key not bound to a module",
        )


def _check_binding(principal: Principal, module_id: str) -> None:
    """A key bound to a module may manage only that module."""
    if principal.module_id is not None and principal.module_id != module_id:
        raise errors.Forbidden(
            f"This key may only manage module {principal.module_id}.",
            reason="key bound to another module",
        )


def _bound_to_path_module(principal: Principal) -> None:
    """The guard's check for routes naming the module in their path."""
    _check_binding(principal, (request.view_args or {}).get("module_id", ""))


REGISTRY_WRITER = api_key("trigger", "action", "core", "admin").also(_registry_writer)
OWN_MODULE = REGISTRY_WRITER.also(_bound_to_path_module)
GLOBAL_ADMIN = api_key("admin").also(
    # Breakers serve every community.
    global_scope_only(
        "Only a global admin may reset a breaker.", reason="breaker reset needs a global admin"
    )
)


@blueprint.post("/register")
@route(guard=REGISTRY_WRITER, body=REGISTER_SCHEMA, answers=answers.REGISTER_ANSWERS)
async def register() -> Response:
    """Register (or re-register) a module instance; it serves the communities of the key."""
    principal = current_principal()
    registration = parse_registration(await read_json(), request.remote_addr)
    _check_binding(principal, registration.module_id)
    registry = REGISTRY.get()
    if await registry.networks.check(registration.base_url) is None:
        raise errors.ValidationError({"base_url": ["outside the networks modules may live in"]})
    registration = dataclasses.replace(
        registration, owner_key_id=principal.key_id, communities=principal.communities
    )
    registered = await registry.store.register(registration)
    await registry.instance_registered(registration.module_id, registration.instance_id)
    await registry.changed()
    note_audit(
        module_id=registration.module_id,
        instance_id=registration.instance_id,
        module_version=registration.module_version,
        base_url=registration.base_url,
    )
    lease_ttl = registry.store.lease_ttl_seconds
    body = {
        "module_id": registration.module_id,
        "instance_id": registration.instance_id,
        "lease_ttl_seconds": lease_ttl,
        "heartbeat_interval_seconds": max(1, lease_ttl // 3),
        "registered_at": rfc3339(registered.registered_at),
    }
    return create_response(body, status=201 if registered.created else 200)


@blueprint.post("/modules/<module_id>/instances/<instance_id>/heartbeat")
@route(guard=OWN_MODULE, routine=True, answers=answers.ok(answers.LEASE))
async def heartbeat(module_id: str, instance_id: str) -> Response:
    """Renew an instance's lease; 404 when it is gone (the module registers again)."""
    registry = REGISTRY.get()
    try:
        expires = await registry.store.renew(module_id, instance_id)
    except DatabaseUnavailable:
        # Heartbeats keep working on Redis alone, so an outage does not expire live instances.
        expires = registry.renewal_without_database(module_id, instance_id)
    if expires is None:
        raise errors.NotFound("No live lease for this instance; register again.")
    await registry.lease_renewed(module_id, instance_id, expires)
    return create_response({"lease_expires_at": rfc3339(expires)})


@blueprint.delete("/modules/<module_id>/instances/<instance_id>")
@route(guard=OWN_MODULE, answers=answers.NO_CONTENT)
async def deregister(module_id: str, instance_id: str) -> Response:
    """Remove an instance; it takes no new calls."""
    registry = REGISTRY.get()
    if not await registry.store.remove_instance(module_id, instance_id):
        raise errors.NotFound("No such instance.")
    await registry.instance_removed(module_id, instance_id)
    await registry.changed()
    note_audit(module_id=module_id, instance_id=instance_id)
    return create_response(None, status=204)


async def _instance_body(instance: InstanceView) -> dict[str, Any]:
    return {
        "instance_id": instance.instance_id,
        "base_url": instance.base_url,
        "status": "healthy" if instance.available else "unavailable",
        "lease_expires_at": rfc3339(instance.lease_expires_at),
        "breaker": await BREAKERS.get().state(instance.breaker_name),
    }


async def _module_body(module: ModuleView) -> dict[str, Any]:
    instances = await asyncio.gather(*(_instance_body(i) for i in module.instances))
    return {
        "module_id": module.module_id,
        "module_version": module.module_version,
        "module_type": module.module_type,
        "status": module.status,
        "instances": list(instances),
        "actions": list(module.actions),
        "commands": list(module.commands),
        "subscriptions": list(module.subscriptions),
        "endpoints": list(module.endpoints),
    }


@blueprint.get("/modules")
@route(guard=api_key("core", "admin"), answers=answers.ok(answers.MODULE_LIST))
async def list_modules() -> Response:
    """Every registered module with its instances, health and breakers."""
    modules = REGISTRY.get().modules()
    items = await asyncio.gather(*(_module_body(m) for m in modules))
    return create_response({"items": list(items)})


@blueprint.get("/modules/<module_id>")
@route(guard=api_key("core", "admin"), answers=answers.ok(answers.MODULE))
async def get_module(module_id: str) -> Response:
    """One registered module."""
    module = REGISTRY.get().module(module_id)
    if module is None:
        raise errors.NotFound("No such module.")
    return create_response(await _module_body(module))


def _overall(statuses: list[str]) -> str:
    """Healthy when every service is, unavailable when none answers, degraded in between."""
    if all(status == "healthy" for status in statuses):
        return "healthy"
    return "unavailable" if all(s == "unavailable" for s in statuses) else "degraded"


@blueprint.get("/health/services")
@route(guard=api_key("core", "admin"), answers=answers.ok(answers.SERVICES_HEALTH))
async def services_health() -> Response:
    """The aggregated health of every registered module (the DWOS gateway's view)."""
    modules = REGISTRY.get().modules()
    services = {
        module.module_id: {
            "status": module.status,
            "healthy_instances": len(module.available_instances()),
            "instances": len(module.instances),
        }
        for module in modules
    }
    overall = _overall([module.status for module in modules])
    return create_response({"status": overall, "services": services})


@blueprint.post("/admin/modules/<module_id>/instances/<instance_id>/breaker/reset")
@route(guard=GLOBAL_ADMIN, answers=answers.ok(answers.BREAKER_RESET))
async def reset_breaker(module_id: str, instance_id: str) -> Response:
    """Close an instance's circuit breaker (global admins only: breakers serve everyone)."""
    module = REGISTRY.get().module(module_id)
    if module is None or all(i.instance_id != instance_id for i in module.instances):
        raise errors.NotFound("No such instance.")
    transition = await BREAKERS.get().reset(f"{module_id}/{instance_id}")
    previous = transition.from_state if transition else "closed"
    note_audit(module_id=module_id, instance_id=instance_id, previous=previous)
    return create_response(
        {
            "module_id": module_id,
            "instance_id": instance_id,
            "breaker": "closed",
            "previous": previous,
        }
    )
