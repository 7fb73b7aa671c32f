"""Build the router's event service from the rest of the router's components."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import current_app

from flask_core.events import EVENTS_CLAIM

from ..routing import dispatch_action
from .registry_view import RegistryView
from .service import EventService, EventWiring

if TYPE_CHECKING:
    from ..state import RouterState


async def open_events(state: RouterState) -> EventService:
    """Create and start events on the state's Redis, HTTP client, registry and routing.

    Runs inside the app's lifespan, so the app's metrics registry is at hand.
    """
    view = RegistryView(state.registry)
    signing_key = state.routing.signing_key

    def sign(module_id: str, community: str) -> str:
        return signing_key.issue(
            audience=module_id, subject="router", community_id=community, action_id=EVENTS_CLAIM
        )

    async def dispatch(
        action_id: str,
        community_id: str,
        user_id: str | None,
        context: dict[str, Any],
        params: dict[str, Any],
        correlation_id: str | None,
    ) -> dict[str, Any]:
        platform = context.get("platform") or "system"
        return await dispatch_action(
            action_id,
            community_id,
            user_id or f"{platform}:anonymous",
            context,
            params,
            correlation_id or "",
        )

    assert state.settings.redis_url is not None
    wiring = EventWiring(
        redis=state.redis,
        redis_url=state.settings.redis_url,
        http=state.http,
        directory=view,
        commands=view,
        dispatch=dispatch,
        data_dir=state.settings.data_dir,
        sign=sign,
        metrics=current_app.extensions["metrics"].registry,
    )
    service = EventService(wiring, state.settings.events)
    await service.open(state.tasks)
    return service
