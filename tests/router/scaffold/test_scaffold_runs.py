"""A scaffolded module, created in a copy of the repository, answers through a real router."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from quart import Quart

from router.app import create_app
from router.settings import RouterSettings
from tests.support.compose import load_compose
from tests.support.keys import KeyFactory
from tests.support.kustomize import render
from tests.support.processes import python_process
from tests.support.servers import free_port, serve_app
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PLATFORM = {
    "TWITCH_WEBHOOK_SECRET": "x",
    "DISCORD_PUBLIC_KEY": "x",
    "DISCORD_APPLICATION_ID": "x",
}

pytestmark = pytest.mark.slow


def repository_copy(root: Path) -> Path:
    """The router, the module list and the deployment files: what the scaffold and a run need."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "router", root / "router", ignore=ignore)
    (root / "modules").mkdir()
    for name in ("__init__.py", "hub.toml"):
        shutil.copy(REPO / "modules" / name, root / "modules" / name)
    (root / "tests" / "modules").mkdir(parents=True)  # where the module's own test goes
    for name in ("__init__.py", "modules/__init__.py", "modules/conftest.py"):
        shutil.copy(REPO / "tests" / name, root / "tests" / name)
    shutil.copy(REPO / "docker-compose.yml", root / "docker-compose.yml")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")  # ruff's settings
    shutil.copytree(REPO / "deploy" / "k8s", root / "deploy" / "k8s")
    return root


@pytest.fixture
async def router(settings: RouterSettings) -> AsyncIterator[tuple[Quart, str]]:
    app = create_app(replace(settings, lease_ttl_seconds=10))
    async with serve_app(app) as url:
        yield app, url


async def test_the_scaffolded_module_registers_and_answers_its_action(
    tmp_path: Path, router: tuple[Quart, str], api_key: KeyFactory
) -> None:
    app, router_url = router
    root = repository_copy(tmp_path / "repo")
    port = free_port()
    made = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "router", "new-module", "demo", "--port", str(port)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert "Next steps:" in made.stdout
    objects = render(root / "deploy" / "k8s" / "overlays" / "example")
    made_objects = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {("Deployment", "demo"), ("Service", "demo"), ("Secret", "hub-demo-key")} <= (
        made_objects
    )
    compose = load_compose(root / "docker-compose.yml", {"POSTGRES_PASSWORD": "x"} | PLATFORM)
    assert compose["services"]["demo"]["command"] == ["python", "-m", "modules.demo"]
    generated = [str(root / "modules" / "demo"), str(root / "tests")]
    lint = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [str(BIN / "ruff"), "check", *generated], cwd=root, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout
    key = await api_key("action", module_id="demo", app=app)
    env = {"ROUTER_URL": router_url, "ROUTER_API_KEY": key, "MODULE_PORT": str(port)}
    log = tmp_path / "demo.log"
    registry = app.extensions["router"].registry
    async with python_process(["-m", "modules.demo"], cwd=root, env=env, log=log) as proc:

        def registered() -> bool:
            assert proc.poll() is None, log.read_text()
            module = registry.module("demo")
            return bool(module and module.available_instances())

        await wait_until(registered, 60, what="the demo module registered")
        user = await api_key("user", communities=["c1"], app=app)
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"{router_url}/api/v1/action/demo.echo",
                json={"user_id": "twitch:9", "params": {"text": "made in one command"}},
                headers={"X-API-Key": user, "X-Community-ID": "c1"},
            )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {
        "echo": "made in one command",
        "community_id": "c1",
        "user_id": "twitch:9",
    }
