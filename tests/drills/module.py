"""The drills' subscribed module: ``python -m tests.drills.module`` (settings from the environment).

A real ``ModuleBase``: it registers, heartbeats, verifies the router's tokens, subscribes to
``chat.message`` and answers the action ``drill.echo`` (also the command ``!drill``). Every
delivered event and every action call is appended to the file named by ``DRILL_RECORDS`` (one
JSON line, flushed at once), so what it received survives its own SIGKILL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from flask_core.events import mount_event_receiver
from flask_core.module import ActionCall, ModuleBase, ModuleSettings, run_module

ACTION_ID = "drill.echo"
COMMAND = "!drill"
SUBSCRIPTIONS = ("chat.message",)


class DrillModule(ModuleBase):
    """Answers ``drill.echo`` and acknowledges every pushed event, writing both down."""

    def __init__(self, settings: ModuleSettings, records: Path) -> None:
        super().__init__(settings, subscriptions=SUBSCRIPTIONS)
        self._records: IO[str] = records.open("a", encoding="utf-8")
        self.action(ACTION_ID, timeout_ms=2000)(self.echo)
        self.command(COMMAND, ACTION_ID)
        mount_event_receiver(self.app, self.verifier, self.receive)

    def _write(self, record: dict[str, Any]) -> None:
        # A line is small and written whole; flushing keeps it across a SIGKILL of this process.
        self._records.write(json.dumps(record) + "\n")
        self._records.flush()

    async def receive(self, envelope: dict[str, Any]) -> None:
        self._write({"kind": "event", "event_id": envelope.get("event_id")})

    async def echo(self, call: ActionCall) -> dict[str, Any]:
        self._write({"kind": "action", "event_id": call.context.get("event_id")})
        return {"echo": call.params}

    async def release(self) -> None:
        self._records.close()


def main() -> None:
    settings = ModuleSettings.from_env(
        os.environ, default_name="drill", default_port=8090, version="1.0.0"
    )
    run_module(DrillModule(settings, Path(os.environ["DRILL_RECORDS"])))


if __name__ == "__main__":
    main()
