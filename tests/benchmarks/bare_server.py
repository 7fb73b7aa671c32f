"""Serve the bare app on the router's own Hypercorn settings: ``python -m ... PORT WORKERS``."""

from __future__ import annotations

import sys
from dataclasses import replace

from hypercorn.run import run

from router.server import hypercorn_config
from router.settings import RouterSettings

if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    config = hypercorn_config(replace(RouterSettings(), port=port, workers=workers))
    config.application_path = "tests.benchmarks.bare_app:app"
    sys.exit(run(config))
