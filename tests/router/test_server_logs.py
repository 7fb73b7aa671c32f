"""What ``python -m router`` prints, read as a person at a terminal reads it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from router.settings import RouterSettings
from tests.support.processes import router_process


def _lines(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if text in line]


@pytest.mark.parametrize("workers", [1, 2])
async def test_one_listening_line_quiet_probes_and_a_shutdown_that_says_what_stopped(
    settings: RouterSettings, tmp_path: Path, workers: int
) -> None:
    log = tmp_path / "router.log"
    async with (
        router_process(settings, workers=workers, log=log) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        for path in ("/health", "/ready", "/metrics"):
            assert (await client.get(path)).status_code == 200
        assert (await client.get("/api/v1/modules")).status_code == 401
    listening = _lines(log, "listening on")
    assert len(listening) == 1, log.read_text()
    assert f"listening on {base_url}" in listening[0]
    assert listening[0].startswith("[") and " INFO router:" in listening[0]
    assert not _lines(log, "Running on")
    # Probes succeed at DEBUG; a refused request is still an INFO line.
    assert not _lines(log, "action=GET /health")
    assert not _lines(log, "action=GET /metrics")
    assert len(_lines(log, "action=GET /api/v1/modules result=denied status=401")) == 1
    # Each worker closes what it opened and says so in one line, the database last; a worker
    # still starting when the signal came names fewer services.
    stopped = [line.split(" stopped ", 1)[1].split(", ") for line in _lines(log, " stopped ")]
    assert 1 <= len(stopped) <= workers, log.read_text()
    assert all(named[-1] == "database" for named in stopped)
    services = {"events", "registry tasks", "keys", "audit", "redis", "database"}
    assert any(services <= set(named) for named in stopped), log.read_text()
