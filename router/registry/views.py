"""Registry routes (SPEC §4): register, heartbeat, deregister, list, and breaker reset."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, request

from flask_core import errors
from flask_core.api import create_response, read_json
from flask_core.auth import current_principal, require_api_key
from flask_core.timestamps import rfc3339

from ..audit.hooks import note_audit, record_denial
from ..state import router_state
from .models import InstanceView, ModuleView
from .schema import REGISTER_SCHEMA, parse_registration

blueprint = Blueprint("registry", __name__, url_prefix="/api/v1")
MODULE_ROLES = ("trigger", "action", "core", "admin")


def _check_binding(module_id: str) -> None:
    """A key bound to a module may manage only that module."""
    principal = current_principal()
    if principal.module_id is not None and principal.module_id != module_id:
        record_denial("AUTHZ", "key bound to another module", principal)
        raise errors.Forbidden(f"This key may only manage module {principal.module_id}.")


@blueprint.post("/register")
@require_api_key(*MODULE_ROLES)
async def register() -> Response:
    """Register (or re-register) a module instance."""
    registration = parse_registration(await read_json(), request.remote_addr)
    _check_binding(registration.module_id)
    registry = router_state().registry
    registered = await registry.store.register(registration)
    await registry.instance_registered(registration.module_id, registration.instance_id)
    await registry.changed()
    note_audit(
        module_id=registration.module_id,
        instance_id=registration.instance_id,
        module_version=registration.module_version,
        base_url=registration.base_url,
    )
    settings = router_state().settings
    body = {
        "module_id": registration.module_id,
        "instance_id": registration.instance_id,
        "lease_ttl_seconds": settings.lease_ttl_seconds,
        "heartbeat_interval_seconds": max(1, settings.lease_ttl_seconds // 3),
        "registered_at": rfc3339(registered.registered_at),
    }
    return create_response(body, status=201 if registered.created else 200)


register.__body_schema__ = REGISTER_SCHEMA  # type: ignore[attr-defined]


@blueprint.post("/modules/<module_id>/instances/<instance_id>/heartbeat")
@require_api_key(*MODULE_ROLES)
async def heartbeat(module_id: str, instance_id: str) -> Response:
    """Renew an instance's lease; 404 when it is gone (the module registers again)."""
    _check_binding(module_id)
    registry = router_state().registry
    expires = await registry.store.renew(module_id, instance_id)
    if expires is None:
        raise errors.NotFound("No live lease for this instance; register again.")
    await registry.lease_renewed(module_id, instance_id, expires)
    return create_response({"lease_expires_at": rfc3339(expires)})


@blueprint.delete("/modules/<module_id>/instances/<instance_id>")
@require_api_key(*MODULE_ROLES)
async def deregister(module_id: str, instance_id: str) -> Response:
    """Remove an instance; it takes no new calls."""
    _check_binding(module_id)
    registry = router_state().registry
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
        "breaker": await router_state().routing.breakers.state(instance.breaker_name),
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
@require_api_key("core", "admin")
async def list_modules() -> Response:
    """Every registered module with its instances, health and breakers."""
    modules = router_state().registry.modules()
    items = await asyncio.gather(*(_module_body(m) for m in modules))
    return create_response({"items": list(items)})


@blueprint.get("/modules/<module_id>")
@require_api_key("core", "admin")
async def get_module(module_id: str) -> Response:
    """One registered module."""
    module = router_state().registry.module(module_id)
    if module is None:
        raise errors.NotFound("No such module.")
    return create_response(await _module_body(module))


@blueprint.post("/admin/modules/<module_id>/instances/<instance_id>/breaker/reset")
@require_api_key("admin")
async def reset_breaker(module_id: str, instance_id: str) -> Response:
    """Close an instance's circuit breaker (global admins only: breakers serve everyone)."""
    principal = current_principal()
    if not principal.is_global:
        record_denial("AUTHZ", "breaker reset needs a global admin", principal)
        raise errors.Forbidden("Only a global admin may reset a breaker.")
    module = router_state().registry.module(module_id)
    if module is None or all(i.instance_id != instance_id for i in module.instances):
        raise errors.NotFound("No such instance.")
    transition = await router_state().routing.breakers.reset(f"{module_id}/{instance_id}")
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
