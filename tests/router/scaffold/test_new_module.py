"""``python -m router new-module``: what it writes, where it adds the module, what it refuses."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from router.hub import load_modules
from router.keys.bootstrap import init_secrets
from router.modulelist import listed_modules
from router.scaffold import ScaffoldError, new_module
from tests.support.compose import environment_of, load_compose

REPO = Path(__file__).resolve().parents[3]
# What docker-compose.yml requires to be set (the values do not matter here).
ENV = {
    name: "x"
    for name in (
        "POSTGRES_PASSWORD",
        "TWITCH_WEBHOOK_SECRET",
        "DISCORD_PUBLIC_KEY",
        "DISCORD_APPLICATION_ID",
    )
}
KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - configmap.yaml
  - router.yaml
  - quotes.yaml
images:
  - name: router-hub
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The parts of the repository the scaffold reads and changes."""
    root = tmp_path / "repo"
    (root / "modules").mkdir(parents=True)
    shutil.copy(REPO / "modules" / "hub.toml", root / "modules" / "hub.toml")
    shutil.copy(REPO / "docker-compose.yml", root / "docker-compose.yml")
    (root / "modules" / "quotes").mkdir()
    return root


def with_k8s(root: Path) -> Path:
    base = root / "deploy" / "k8s" / "base"
    base.mkdir(parents=True)
    (base / "kustomization.yaml").write_text(KUSTOMIZATION)
    return base


def test_a_new_module_is_written_and_listed_everywhere(checkout: Path) -> None:
    base = with_k8s(checkout)
    created = new_module(checkout, "weather_bot", "trigger", 8042)
    package = checkout / "modules" / "weather_bot"
    assert {p.name for p in package.iterdir()} == {
        "__init__.py",
        "__main__.py",
        "module.py",
        "environment.py",
        "README.md",
    }
    module = (package / "module.py").read_text()
    assert 'module_type = "trigger"' in module and '"weather_bot.echo"' in module
    assert "DEFAULT_PORT = 8042" in module
    assert (checkout / "tests" / "modules" / "weather_bot" / "test_weather_bot.py").is_file()
    hub = tomllib.loads((checkout / "modules" / "hub.toml").read_text())["module"]
    assert hub[-1] == {"name": "weather_bot", "role": "trigger", "port": 8042}
    assert [spec.name for spec in load_modules(checkout / "modules" / "hub.toml")][-1] == (
        "weather_bot"
    )
    compose = load_compose(checkout / "docker-compose.yml", ENV)
    service = compose["services"]["weather-bot"]
    assert service["command"] == ["python", "-m", "modules.weather_bot"]
    assert environment_of(service)["MODULE_BASE_URL"] == "http://weather-bot:8042"
    assert environment_of(service)["REDIS_URL"]  # the shared anchors apply
    assert service["volumes"] == ["weather-bot-secrets:/secrets:ro"]
    assert "weather-bot-secrets:/secrets/weather_bot" in compose["services"]["secrets"]["volumes"]
    assert "weather-bot-secrets" in compose["volumes"]
    assert (base / "kustomization.yaml").read_text() == KUSTOMIZATION.replace(
        "  - quotes.yaml\n", "  - quotes.yaml\n  - weather-bot.yaml\n"
    )
    manifest = (base / "weather-bot.yaml").read_text()
    assert "containerPort: 8042" in manifest and "secretName: hub-weather-bot-key" in manifest
    steps = created.next_steps()
    assert "make run" in steps and "/api/v1/action/weather_bot.echo" in steps
    assert "docs/modules.md" in steps


def test_without_kubernetes_manifests_none_are_made(checkout: Path) -> None:
    created = new_module(checkout, "jokes", "action")
    assert created.port == 8030  # the first free port of the range
    assert not (checkout / "deploy").exists()
    assert new_module(checkout, "trivia", "action").port == 8031


@pytest.mark.parametrize(
    ("name", "kind", "port", "reason"),
    [
        ("Quotes", "action", None, "bad module name"),
        ("x", "action", None, "bad module name"),
        ("with-dash", "action", None, "bad module name"),
        ("class", "action", None, "bad module name"),
        ("router", "action", None, "bad module name"),
        ("quotes", "action", None, "already exists"),
        ("twitch", "action", None, "already listed"),
        ("jokes", "robot", None, "--type"),
        ("jokes", "action", 8020, "already taken"),
        ("jokes", "action", 8000, "already taken"),
        ("jokes", "action", 80, "outside"),
    ],
)
def test_refusals_leave_the_repository_as_it_was(
    checkout: Path, name: str, kind: str, port: int | None, reason: str
) -> None:
    before = {p: p.read_bytes() for p in checkout.rglob("*") if p.is_file()}
    with pytest.raises(ScaffoldError, match=reason):
        new_module(checkout, name, kind, port)
    after = {p: p.read_bytes() for p in checkout.rglob("*") if p.is_file()}
    assert after == before


def test_the_command_line_prints_the_next_steps_or_the_refusal(checkout: Path) -> None:
    command = [sys.executable, "-m", "router", "new-module"]
    made = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [*command, "jokes", "--port", "8050", "--root", str(checkout)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert "Next steps:" in made.stdout and "modules/jokes/module.py" in made.stdout
    refused = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [*command, "jokes", "--root", str(checkout)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "already exists" in refused.stderr


def test_secrets_init_mints_a_key_for_every_listed_module(checkout: Path, tmp_path: Path) -> None:
    new_module(checkout, "jokes", "action")
    listed = listed_modules(checkout / "modules" / "hub.toml")
    assert [(m.name, m.role) for m in listed][-1] == ("jokes", "action")
    secrets = tmp_path / "secrets"
    init_secrets(secrets, [(m.name, m.role) for m in listed])
    assert (secrets / "jokes" / "ROUTER_API_KEY").is_file()
