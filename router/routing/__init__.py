"""Action routing: instance choice, circuit breakers, signed calls to modules (SPEC §5)."""

from __future__ import annotations

from typing import Any


async def dispatch_action(
    action_id: str,
    community_id: str,
    user_id: str,
    context: dict[str, Any],
    params: dict[str, Any],
    correlation_id: str,
) -> dict[str, Any]:
    """Run ``action_id`` on a healthy instance; the SPEC §5 200 body, or a raised problem."""
    # Imported here: router.state builds the dispatcher from this package.
    from ..state import router_state

    return await router_state().dispatcher.dispatch(
        action_id, community_id, user_id, context, params, correlation_id
    )
