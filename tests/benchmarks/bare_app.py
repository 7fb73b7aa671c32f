"""A bare Quart hello-world: the baseline the router is compared against."""

from __future__ import annotations

from quart import Quart

app = Quart("bare")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy"}
