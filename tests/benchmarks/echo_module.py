"""A minimal action module for the routing benchmark: ``python -m ... PORT``.

``/actions/echo`` answers the body's params, ``/actions/fail`` always answers 500.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from hypercorn.run import run
from quart import Quart, request

from router.server import hypercorn_config
from router.settings import RouterSettings

app = Quart("echo")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy"}


@app.post("/actions/echo")
async def echo() -> dict[str, Any]:
    body = await request.get_json(force=True, silent=True) or {}
    return {"echo": body.get("params")}


@app.post("/actions/fail")
async def fail() -> tuple[dict[str, str], int]:
    return {"error": "broken on purpose"}, 500


if __name__ == "__main__":
    config = hypercorn_config(replace(RouterSettings(), port=int(sys.argv[1]), workers=1))
    config.application_path = "tests.benchmarks.echo_module:app"
    sys.exit(run(config))
