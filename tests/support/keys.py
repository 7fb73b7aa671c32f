"""Mint API keys straight through a running router app's key store."""

from __future__ import annotations

from collections.abc import Sequence

from quart import Quart

from flask_core.settings import parse_rate
from router.keys.models import NewKey
from router.state import RouterState


class KeyFactory:
    """``await api_key(role, communities=["*"], module_id=None, rate_limit=None, app=None)``."""

    def __init__(self, default_app: Quart | None) -> None:
        self.default_app = default_app
        self.count = 0

    async def __call__(
        self,
        role: str,
        communities: Sequence[str] = ("*",),
        module_id: str | None = None,
        rate_limit: str | None = None,
        app: Quart | None = None,
    ) -> str:
        target = app or self.default_app
        if target is None:
            raise RuntimeError("api_key needs app=... or a test that uses the `app` fixture")
        state: RouterState = target.extensions["router"]
        self.count += 1
        new = NewKey(
            name=f"test-{role}-{self.count}",
            role=role,
            communities=tuple(communities),
            module_id=module_id,
            rate_limit=parse_rate(rate_limit) if rate_limit else None,
        )
        _, plaintext = await state.keys.create(new)
        return plaintext
