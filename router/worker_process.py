"""What one worker process of ``python -m router`` runs: the app on the parent's sockets.

The parent (``router/workers.py``) binds the sockets once and starts this in a spawned process.
The worker serves with Hypercorn's own ``worker_serve`` on uvloop, tells the parent once it
serves, and drains (stops accepting, finishes requests in flight within Hypercorn's graceful
timeout, closes its services through the lifespan's exit stack) on SIGTERM or when the parent
is gone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import Connection

import uvloop
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.typing import AppWrapper
from hypercorn.utils import load_application

from flask_core.logging import get_logger, short_message

_log = get_logger("router.workers")
SERVING = b"serving"


def run_worker(config: Config, sockets: Sockets, serving: Connection) -> None:
    """Serve ``config.application_path`` on ``sockets`` until told to stop; report when serving.

    Runs in a spawned process; SIGINT stays ignored (the parent decides when workers stop).
    """
    try:
        app = load_application(config.application_path, config.wsgi_max_body_size)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(app, config, sockets, serving))
    except Exception as error:
        # The app logged the traceback where it failed; one line here, not a second traceback
        # from multiprocessing, and the exit code tells the supervisor.
        cause = short_message(f"{type(error).__name__}: {error}")
        _log.error("worker %s failed: %s", os.getpid(), cause, extra={"event_type": "ERROR"})
        sys.exit(1)


async def _serve(app: AppWrapper, config: Config, sockets: Sockets, serving: Connection) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    _stop_when_orphaned(loop, stop)

    async def serve_until_stopped() -> None:
        # worker_serve awaits its shutdown trigger only once the lifespan start-up succeeded and
        # every socket serves: the one moment this worker counts as started.
        serving.send_bytes(SERVING)
        serving.close()
        await stop.wait()

    await worker_serve(app, config, sockets=sockets, shutdown_trigger=serve_until_stopped)


def _stop_when_orphaned(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Drain when the supervisor is gone (a SIGKILL cannot pass on), instead of serving on.

    A spawned process's parent sentinel becomes readable when the parent exits.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def parent_gone() -> None:
        loop.remove_reader(parent.sentinel)
        _log.error(
            "worker %s: its supervisor (pid %s) is gone; draining",
            os.getpid(),
            parent.pid,
            extra={"event_type": "ERROR"},
        )
        stop.set()

    loop.add_reader(parent.sentinel, parent_gone)
