"""docker-compose.yml: valid under the Compose specification's schema, and a stack that starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.compose import (
    MissingVariable,
    environment_of,
    interpolate,
    load_compose,
    read_env_file,
)

REPO = Path(__file__).resolve().parents[2]
# In a container the service must listen beyond loopback.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
MODULES = {"quotes": "8020", "twitch": "8010", "discord": "8011"}


def _check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120)  # noqa: S603


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(COMPOSE, read_env_file(ENV_EXAMPLE))


def test_the_compose_file_is_valid_under_the_compose_specification() -> None:
    result = _check_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE.read_text().replace("condition: service_healthy", "condition: when_ready", 1)
    broken.write_text(text)
    assert _check_schema(broken).returncode != 0


def test_every_required_variable_is_in_env_example() -> None:
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", COMPOSE.read_text()))
    example = read_env_file(ENV_EXAMPLE)
    assert required and required <= set(example)
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        load_compose(COMPOSE, {})


def test_interpolation_follows_the_specification() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("$${SET}-${SET}-$SET", env) == "${SET}-x-x"
    assert interpolate("${EMPTY:-d}|${EMPTY-d}|${UNSET-d}", env) == "d||d"
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?needed}", env)
    assert interpolate("${EMPTY?needed}", env) == ""


def test_every_service_has_a_health_check_and_waits_for_healthy_dependencies(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "secrets", "router", *MODULES}
    for name, service in services.items():
        if name != "secrets":  # a one-shot job: done is its health
            assert service["healthcheck"]["test"][0] == "CMD", name
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully" if dependency == "secrets" else "service_healthy"
            )
            assert condition == {"condition": wanted}, (name, dependency)
    router = services["router"]
    assert set(router["depends_on"]) == {"secrets", "postgres", "redis"}
    assert router["healthcheck"]["test"][-1] == "http://127.0.0.1:8000/ready"
    for module, port in MODULES.items():
        assert services[module]["depends_on"] == {"router": {"condition": "service_healthy"}}
        assert services[module]["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/health"


def test_services_bind_every_address_and_reach_each_other_by_name(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    router = environment_of(services["router"])
    assert (router["ROUTER_HOST"], router["ROUTER_PORT"]) == (ALL_INTERFACES, "8000")
    assert "@postgres:5432/" in router["DATABASE_URL"]
    assert router["REDIS_URL"].startswith("redis://redis:6379/")
    assert router["ROUTER_SIGNING_KEY_FILE"] == "/secrets/signing_key.pem"
    assert router["ROUTER_BOOTSTRAP_KEYS_FILE"] == "/secrets/bootstrap-keys.json"
    for module, port in MODULES.items():
        env = environment_of(services[module])
        assert (env["MODULE_HOST"], env["MODULE_PORT"]) == (ALL_INTERFACES, port)
        assert env["MODULE_BASE_URL"] == f"http://{module}:{port}"
        assert env["ROUTER_URL"] == "http://router:8000"
        assert env["ROUTER_API_KEY_FILE"] == "/secrets/ROUTER_API_KEY"
        assert "ROUTER_API_KEY" not in env
        assert env["REDIS_MODE"] == "standalone" and "HUB_NAMESPACE" in env


def test_data_lives_on_volumes_and_redis_keeps_an_append_only_file(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(compose["volumes"]) == {
        "postgres-data",
        "redis-data",
        "router-data",
        "secrets",
        *(f"{name}-secrets" for name in ("router", *MODULES)),
    }
    assert "router-data:/data" in services["router"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert services["secrets"]["command"] == [
        "python",
        "-m",
        "router",
        "secrets",
        "init",
        "/secrets",
    ]
    # The secrets job writes each service's folder into that service's own volume, and each
    # service mounts only its own (read-only).
    assert services["secrets"]["volumes"] == [
        "secrets:/secrets",
        *(f"{name}-secrets:/secrets/{name}" for name in ("router", "quotes", "twitch", "discord")),
    ]
    for name in ("router", *MODULES):
        mounted = [v for v in services[name]["volumes"] if "secrets" in v]
        assert mounted == [f"{name}-secrets:/secrets:ro"], name


def test_no_secret_is_written_into_the_compose_file() -> None:
    text = COMPOSE.read_text()
    assert not re.search(r"rh_[0-9a-f]{12}_", text)
    raw = yaml.safe_load(text)  # not interpolated: secrets must come from ${...} or files
    sensitive = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$")
    for name, service in raw["services"].items():
        for variable, value in environment_of(service).items():
            if sensitive.search(variable):
                assert value.startswith("${"), (name, variable)
            if variable == "DATABASE_URL":
                assert ":${POSTGRES_PASSWORD" in value, name
