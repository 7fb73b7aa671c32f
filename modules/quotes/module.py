"""The quotes module: actions quote.add, quote.random, quote.list and commands !quote, !addquote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_core.module import ActionCall, ModuleBase, ModuleSettings
from flask_core.settings import EnvReader

from . import __version__
from .params import list_window, quote_number, quote_text
from .store import QuoteStore

DEFAULT_PORT = 8020


@dataclass(frozen=True)
class QuotesSettings:
    module: ModuleSettings
    database_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> QuotesSettings:
        module = ModuleSettings.from_env(
            environ, default_name="quotes", default_port=DEFAULT_PORT, version=__version__
        )
        database_url = EnvReader(environ).url("DATABASE_URL", ("postgresql", "postgres"))
        if database_url is None:
            EnvReader(environ).required("DATABASE_URL")
        return cls(module, str(database_url))


class QuotesModule(ModuleBase):
    """Quotes per community in PostgreSQL; one community never sees another's quotes."""

    resources = ("database pool",)

    module_type = "action"

    def __init__(self, settings: QuotesSettings) -> None:
        super().__init__(settings.module)
        self.database_url = settings.database_url
        self._store: QuoteStore | None = None
        self.action("quote.add")(self.add)
        self.action("quote.random")(self.random)
        self.action("quote.list")(self.list)
        self.command("!quote", "quote.random")
        self.command("!addquote", "quote.add")

    @property
    def store(self) -> QuoteStore:
        assert self._store is not None, "the store is opened by initialize()"
        return self._store

    async def initialize(self) -> None:
        self._store = await QuoteStore.open(self.database_url)

    async def release(self) -> None:
        if self._store is not None:
            await self._store.close()

    async def health_details(self) -> dict[str, Any]:
        connected = self._store is not None and await self._store.ping()
        return {"dependencies": {"database": "connected" if connected else "disconnected"}}

    async def add(self, call: ActionCall) -> dict[str, Any]:
        quote = await self.store.add(call.community_id, quote_text(call.params), call.user_id)
        return {"quote": quote.as_dict(), "text": f"Added quote #{quote.number}."}

    async def random(self, call: ActionCall) -> dict[str, Any]:
        number = quote_number(call.params)
        if number is None:
            quote = await self.store.random(call.community_id)
        else:
            quote = await self.store.get(call.community_id, number)
        if quote is None:
            missing = "No quotes yet." if number is None else f"No quote #{number}."
            return {"quote": None, "text": missing}
        return {"quote": quote.as_dict(), "text": f"#{quote.number}: {quote.text}"}

    async def list(self, call: ActionCall) -> dict[str, Any]:
        limit, offset = list_window(call.params)
        quotes = await self.store.list(call.community_id, limit=limit, offset=offset)
        return {"items": [quote.as_dict() for quote in quotes]}
