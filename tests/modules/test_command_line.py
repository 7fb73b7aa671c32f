"""Every service's command line as an operator meets it: ``--help`` lists its variables with
their defaults, a missing or malformed setting stops it with one line naming the variable, and
a running module prints one ``listening`` line and says what its shutdown stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from flask_core.variables import COMMON_VARIABLES, Variable
from modules.discord.environment import DISCORD_VARIABLES
from modules.quotes.environment import QUOTES_VARIABLES
from modules.twitch.environment import TWITCH_VARIABLES
from router.environment import EVENT_VARIABLES, HUB_VARIABLES, ROUTER_VARIABLES
from tests.support.processes import REPO, module_process
from tests.support.servers import free_port

HELP: dict[tuple[str, ...], tuple[Variable, ...]] = {
    ("router",): ROUTER_VARIABLES + EVENT_VARIABLES + COMMON_VARIABLES,
    ("router", "hub"): HUB_VARIABLES + ROUTER_VARIABLES + COMMON_VARIABLES,
    ("modules.twitch",): TWITCH_VARIABLES + COMMON_VARIABLES,
    ("modules.discord",): DISCORD_VARIABLES + COMMON_VARIABLES,
    ("modules.quotes",): QUOTES_VARIABLES + COMMON_VARIABLES,
}
# Read from the variable or from the file its ``_FILE`` twin names.
SECRETS = {"ROUTER_API_KEY"}
# Enough for every module but one missing setting each, named by the test.
MODULE_ENV = {
    "ROUTER_URL": "http://127.0.0.1:9",
    "ROUTER_API_KEY": "rh_000000000000_not-a-real-key",
    "TWITCH_WEBHOOK_SECRET": "local-test-secret",
    "DISCORD_PUBLIC_KEY": "00" * 32,
    "DISCORD_APPLICATION_ID": "local-application",
    "DATABASE_URL": "postgresql://127.0.0.1:9/quotes",
}


def run(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m ...`` with only ``env`` (and PATH) set."""
    return subprocess.run(  # noqa: S603 (modules of this repository)
        [sys.executable, "-m", *args],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("args", sorted(HELP), ids=" ".join)
def test_help_lists_every_variable_with_its_default(args: tuple[str, ...]) -> None:
    done = run((*args, "--help"), {})
    assert done.returncode == 0, done.stderr
    for variable in HELP[args]:
        expected = "required" if variable.required else f"default: {variable.default}"
        assert f"  {variable.name} ({expected.replace('`', '')})" in done.stdout


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("modules.twitch", "ROUTER_URL"),
        ("modules.twitch", "ROUTER_API_KEY"),
        ("modules.twitch", "TWITCH_WEBHOOK_SECRET"),
        ("modules.discord", "DISCORD_PUBLIC_KEY"),
        ("modules.discord", "DISCORD_APPLICATION_ID"),
        ("modules.quotes", "DATABASE_URL"),
    ],
)
def test_a_missing_required_setting_stops_the_module_with_one_line(
    module: str, missing: str
) -> None:
    env = {name: value for name, value in MODULE_ENV.items() if name != missing}
    done = run((module,), env)
    assert done.returncode == 2
    named = f"{missing} (or {missing}_FILE)" if missing in SECRETS else missing
    assert done.stderr.strip().splitlines() == [
        f"{module.split('.')[1]}: configuration error: {named} is required but not set"
    ]


@pytest.mark.parametrize(
    ("args", "name", "value"),
    [
        (("router",), "ROUTER_PORT", "eighty"),
        (("router",), "LOG_FORMAT", "xml"),
        (("modules.quotes",), "MODULE_PORT", "0"),
    ],
)
def test_a_malformed_setting_stops_the_service_with_one_line_naming_it(
    args: tuple[str, ...], name: str, value: str
) -> None:
    done = run(args, {**MODULE_ENV, name: value})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "configuration error" in lines[0] and name in lines[0]


async def test_a_module_prints_one_listening_line_and_what_its_shutdown_stopped(
    tmp_path: Path,
) -> None:
    log = tmp_path / "twitch.log"
    # The router is not running: the module still serves /health and keeps trying to register.
    env = {**MODULE_ENV, "ROUTER_URL": f"http://127.0.0.1:{free_port()}"}
    async with (
        module_process("twitch", free_port(), env, log) as base_url,
        httpx.AsyncClient() as client,
    ):
        for _ in range(3):
            assert (await client.get(f"{base_url}/health")).status_code == 200
    lines = log.read_text().splitlines()
    listening = [line for line in lines if "listening on" in line]
    assert listening == [line for line in lines if f"listening on {base_url}" in line]
    assert len(listening) == 1, lines
    assert listening[0].startswith("[") and " INFO twitch:" in listening[0]
    assert not [line for line in lines if "Running on" in line or "GET /health" in line]
    stopped = [line for line in lines if " stopped " in line]
    assert len(stopped) == 1, lines
    named = "heartbeats, event forwarder, message-id store, router client"
    assert stopped[0].endswith(f"stopped {named}")
