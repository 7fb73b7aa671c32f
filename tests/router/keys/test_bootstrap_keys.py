"""Bootstrap keys: ``secrets init`` on disk, and the router ensuring the file at start-up."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from quart.testing.app import LifespanError

from router.app import create_app
from router.keys.bootstrap import BootstrapError, init_secrets, load_bootstrap_keys
from router.settings import RouterSettings

KEY_SHAPE = r"^rh_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _keys(directory: Path) -> dict[str, dict[str, object]]:
    document = json.loads((directory / "router" / "bootstrap-keys.json").read_text())
    return {entry["name"]: entry for entry in document["keys"]}


def test_init_writes_every_secret_private_with_bound_module_keys(tmp_path: Path) -> None:
    created = init_secrets(tmp_path / "s")
    directory = tmp_path / "s"
    assert created == ["router/signing_key.pem", "router/bootstrap-keys.json"]
    keys = _keys(directory)
    assert set(keys) == {"admin", "module-quotes", "module-twitch", "module-discord"}
    assert (keys["admin"]["role"], keys["admin"]["module_id"]) == ("admin", None)
    for module, role in (("quotes", "action"), ("twitch", "trigger"), ("discord", "trigger")):
        entry = keys[f"module-{module}"]
        assert (entry["role"], entry["module_id"], entry["communities"]) == (role, module, ["*"])
        # Each module's folder holds its own key and nothing else.
        assert [p.name for p in (directory / module).iterdir()] == ["ROUTER_API_KEY"]
        assert (directory / module / "ROUTER_API_KEY").read_text() == entry["key"]
    assert (directory / "admin.key").read_text() == keys["admin"]["key"]
    for entry in keys.values():
        assert re.match(KEY_SHAPE, str(entry["key"]))
    assert "PRIVATE KEY" in (directory / "router" / "signing_key.pem").read_text()
    for path in directory.rglob("*"):
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_init_again_keeps_secrets_adds_new_modules_and_force_rotates(tmp_path: Path) -> None:
    init_secrets(tmp_path)
    pem_path = tmp_path / "router" / "signing_key.pem"
    before, pem = _keys(tmp_path), pem_path.read_bytes()

    assert init_secrets(tmp_path) == []
    assert _keys(tmp_path) == before
    assert pem_path.read_bytes() == pem

    assert init_secrets(tmp_path, (("quotes", "action"), ("clock", "trigger"))) == [
        "router/bootstrap-keys.json"
    ]
    grown = _keys(tmp_path)
    assert {name: grown[name] for name in before} == before
    assert grown["module-clock"]["module_id"] == "clock"
    assert (tmp_path / "clock" / "ROUTER_API_KEY").read_text() == grown["module-clock"]["key"]

    init_secrets(tmp_path, force=True)
    rotated = _keys(tmp_path)
    assert pem_path.read_bytes() != pem
    assert rotated["admin"]["key"] != before["admin"]["key"]
    assert "module-clock" not in rotated


def test_a_malformed_keys_file_is_refused_naming_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{"name": "x", "role": "root", "key": "k" * 40}]}))
    with pytest.raises(BootstrapError, match="unknown role"):
        load_bootstrap_keys(path)
    path.write_text(json.dumps({"keys": [{"name": "x", "role": "admin", "key": "short"}]}))
    with pytest.raises(BootstrapError, match=r"32\.\.512"):
        load_bootstrap_keys(path)
    path.write_text("{")
    with pytest.raises(BootstrapError, match="not JSON"):
        load_bootstrap_keys(path)
    with pytest.raises(BootstrapError, match="cannot be read"):
        load_bootstrap_keys(tmp_path / "absent.json")


def test_the_cli_prints_file_names_never_a_secret(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "router", "secrets", "init", str(tmp_path / "s")]
    env = {**os.environ, "LOG_FORMAT": "text"}
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)  # noqa: S603
    assert first.returncode == 0, first.stderr
    assert "signing_key.pem" in first.stderr and "bootstrap-keys.json" in first.stderr
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)  # noqa: S603
    assert again.returncode == 0 and "existing secrets kept" in again.stderr
    for entry in _keys(tmp_path / "s").values():
        assert str(entry["key"]) not in first.stdout + first.stderr + again.stderr
    bad = subprocess.run([*command, "--module", "clock:root"], capture_output=True, timeout=60)  # noqa: S603
    assert bad.returncode == 2


async def test_the_router_ensures_the_file_idempotently_and_restores_revoked_keys(
    settings: RouterSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "secrets"
    init_secrets(directory)
    keys = _keys(directory)
    configured = replace(
        settings,
        signing_key_file=directory / "router" / "signing_key.pem",
        bootstrap_keys_file=directory / "router" / "bootstrap-keys.json",
    )
    admin = {"X-API-Key": str(keys["admin"]["key"])}
    for run in range(2):
        application = create_app(configured)
        async with application.test_app():
            client = application.test_client()
            listed = await client.get("/api/v1/admin/keys", headers=admin)
            assert listed.status_code == 200
            items = {item["name"]: item for item in (await listed.get_json())["items"]}
            assert set(items) == set(keys), "one record per bootstrap key, on every start"
            assert items["module-quotes"]["module_id"] == "quotes"
            assert items["module-twitch"]["role"] == "trigger"
            twitch = {"X-API-Key": str(keys["module-twitch"]["key"])}
            resolved = await client.get("/api/v1/communities/resolve", headers=twitch)
            assert resolved.status_code != 401
            if run == 0:
                revoked = await client.delete(
                    f"/api/v1/admin/keys/{items['module-twitch']['id']}", headers=admin
                )
                assert revoked.status_code == 204
    for entry in keys.values():
        assert str(entry["key"]) not in caplog.text


async def test_a_bad_keys_file_stops_start_up(settings: RouterSettings, tmp_path: Path) -> None:
    path = tmp_path / "bootstrap-keys.json"
    path.write_text(json.dumps({"keys": [{"name": "a", "role": "admin"}]}))
    application = create_app(replace(settings, bootstrap_keys_file=path))
    with pytest.raises(LifespanError, match="needs a secret"):
        async with application.test_app():
            pass
