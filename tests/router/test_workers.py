"""``python -m router`` with several workers supervises them (``router/workers.py``).

A killed worker is logged and replaced while the other keeps answering; SIGTERM drains a
request in flight and the parent exits 0; workers that cannot start do not restart forever.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from quart import Quart

from router.settings import RouterSettings
from router.workers import RestartPolicy, describe_exit
from tests.support.hub import RunningRouter
from tests.support.processes import started_router, wait_healthy
from tests.support.servers import serve_app
from tests.support.standin import registration
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SERVING = re.compile(r"worker (\d+) serving")
CLIENTS = 4
REQUESTS_AT_MOST = 3000  # the load is bounded in count as well as in time


def serving_pids(log: Path) -> list[int]:
    """Every worker that said it serves, in order."""
    return [int(pid) for pid in SERVING.findall(log.read_text())]


@dataclass
class Load:
    """A few clients asking /health one request after another, each outcome timed."""

    base_url: str
    outcomes: list[tuple[float, bool]] = field(default_factory=list)  # (monotonic, succeeded)
    stopping: bool = False

    async def client(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            while not self.stopping and len(self.outcomes) < REQUESTS_AT_MOST:
                try:
                    succeeded = (await http.get("/health")).status_code == 200
                except httpx.TransportError:
                    succeeded = False
                self.outcomes.append((time.monotonic(), succeeded))
                await asyncio.sleep(0.005)

    def after(self, moment: float) -> list[tuple[float, bool]]:
        return [outcome for outcome in self.outcomes if outcome[0] > moment]


@asynccontextmanager
async def load_on(base_url: str) -> AsyncIterator[Load]:
    load = Load(base_url)
    clients = [asyncio.create_task(load.client()) for _ in range(CLIENTS)]
    try:
        yield load
    finally:
        load.stopping = True
        await asyncio.gather(*clients)


async def test_a_killed_worker_is_logged_and_replaced_while_the_other_keeps_answering(
    settings: RouterSettings, tmp_path: Path
) -> None:
    log = tmp_path / "router.log"
    async with started_router(settings, workers=2, log=log) as (base_url, proc):
        await wait_healthy(base_url, proc)
        await wait_until(lambda: len(serving_pids(log)) == 2, 30, what="two workers serving")
        victim, survivor = serving_pids(log)
        async with load_on(base_url) as load:
            await wait_until(lambda: len(load.outcomes) >= 20, what="the load running")
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            await wait_until(lambda: len(serving_pids(log)) == 3, 30, what="a new worker serving")
            replaced_at = time.monotonic()
            await wait_until(lambda: len(load.after(replaced_at)) >= 20, what="more answers")
        assert proc.poll() is None  # the router itself never stopped
    replacement = serving_pids(log)[2]
    assert replacement not in (victim, survivor)
    assert f"worker {victim} killed by SIGKILL; starting a replacement" in log.read_text()
    after_kill = load.after(killed_at)
    # Only requests in flight on the killed worker's connections can fail: one per client.
    assert sum(not succeeded for _, succeeded in after_kill) <= CLIENTS
    # The survivor answered while the replacement was starting...
    assert any(succeeded for moment, succeeded in after_kill if moment < replaced_at)
    first_success = min(moment for moment, succeeded in after_kill if succeeded)
    assert first_success - killed_at < 2.0
    # ...and once the replacement serves, every request succeeds.
    assert all(succeeded for _, succeeded in load.after(replaced_at))


def gated_module(called: asyncio.Event, release: asyncio.Event) -> Quart:
    """A module whose action answers only once the test releases it."""
    app = Quart("gated")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @app.post("/actions/echo")
    async def echo() -> dict[str, str]:
        called.set()
        await release.wait()
        return {"answer": "late but complete"}

    return app


async def refused(base_url: str) -> bool:
    """Whether a new connection to ``base_url`` is refused (nothing listens any more)."""
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
            await http.get("/health")
    except httpx.ConnectError:
        return True
    except httpx.TransportError:  # accepted, then dropped: still listening
        return False
    return False


async def test_sigterm_stops_listening_lets_a_request_in_flight_finish_and_exits_0(
    settings: RouterSettings, tmp_path: Path
) -> None:
    admin_key = secrets.token_urlsafe(32)
    called, release = asyncio.Event(), asyncio.Event()
    log = tmp_path / "router.log"
    extra = {"ROUTER_BOOTSTRAP_ADMIN_KEY": admin_key}
    async with (
        serve_app(gated_module(called, release)) as module_url,
        started_router(settings, workers=2, log=log, extra_env=extra) as (base_url, proc),
        httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": admin_key}) as admin,
    ):
        await wait_healthy(base_url, proc)
        body = registration("gated", module_url, timeout_ms=30_000)
        assert (await admin.post("/api/v1/register", json=body)).status_code in (200, 201)
        caller = await RunningRouter(base_url, admin).key("user")
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            call = asyncio.create_task(
                http.post(
                    "/api/v1/action/gated.echo",
                    json={"user_id": "twitch:1"},
                    headers={"X-API-Key": caller, "X-Community-ID": "c1"},
                )
            )
            await asyncio.wait_for(called.wait(), 15)
            proc.send_signal(signal.SIGTERM)
            # Draining: new connections are refused while the call is still in flight.
            await wait_until(lambda: refused(base_url), 15, what="the port closed")
            assert not call.done()
            release.set()
            answer = await call
        exit_code = await asyncio.to_thread(proc.wait, 40)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {"answer": "late but complete"}
    assert exit_code == 0, log.read_text()
    text = log.read_text()
    assert "stopping (SIGTERM received): draining 2 workers" in text
    assert len(re.findall(r"worker \d+ drained", text)) == 2
    assert "killing it" not in text


async def test_workers_failing_at_start_up_are_retried_with_a_pause_then_the_router_exits_1(
    settings: RouterSettings, tmp_path: Path
) -> None:
    # A signing key file that is not a key: every worker fails while it assembles its services.
    broken_key = tmp_path / "not-a-key.pem"
    broken_key.write_text("not a PEM key\n")
    log = tmp_path / "router.log"
    extra = {"ROUTER_SIGNING_KEY_FILE": str(broken_key)}
    async with started_router(settings, workers=2, log=log, extra_env=extra) as (_, proc):
        try:
            exit_code = await asyncio.to_thread(proc.wait, 120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the router kept restarting workers:\n{log.read_text()}")
    text = log.read_text()
    give_up = RestartPolicy().give_up_after
    assert exit_code == 1, text
    assert f"{give_up} start-up failures in a row; stopping the router" in text
    failures = re.findall(r"worker \d+ exited with code \d+ before serving", text)
    assert len(failures) == give_up, text
    # Each replacement waited longer than the one before (0.5 s, 1 s, 2 s, ...).
    pauses = [float(p) for p in re.findall(r"starting a replacement in ([\d.]+) s", text)]
    assert pauses == sorted(pauses) and len(pauses) == give_up - 1, text
    assert not SERVING.search(text)


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited one not yet reaped does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_workers_whose_supervisor_was_killed_drain_and_exit(
    settings: RouterSettings, tmp_path: Path
) -> None:
    log = tmp_path / "router.log"
    async with started_router(settings, workers=2, log=log) as (base_url, proc):
        await wait_healthy(base_url, proc)
        await wait_until(lambda: len(serving_pids(log)) == 2, 30, what="two workers serving")
        proc.kill()
        await asyncio.to_thread(proc.wait)
        workers = serving_pids(log)
        await wait_until(
            lambda: not any(running(pid) for pid in workers), 40, what="the orphans gone"
        )
    text = log.read_text()
    assert text.count(f"its supervisor (pid {proc.pid}) is gone; draining") == 2, text
    # Each drained: its services were closed in order, the database last.
    stopped = [line for line in text.splitlines() if "stopped " in line and "events tasks" in line]
    assert len(stopped) == 2, text


def test_the_pause_before_a_restart_doubles_up_to_its_longest() -> None:
    policy = RestartPolicy(give_up_after=9, first_pause_seconds=0.5, longest_pause_seconds=3.0)
    assert [policy.pause(n) for n in range(6)] == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_an_exit_is_described_by_its_code_or_its_signal() -> None:
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
