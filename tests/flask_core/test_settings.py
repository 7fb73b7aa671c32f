from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from flask_core.settings import EnvReader, SettingsError, parse_rate, terminal_log_format
from router.settings import RouterSettings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_follow_the_spec() -> None:
    settings = RouterSettings.from_env({})
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.rate_limit_key == "600/minute"
    assert settings.rate_limit_user == "60/minute"
    assert (settings.lease_ttl_seconds, settings.health_interval_seconds) == (30, 10)
    assert settings.database_url is None and settings.redis_url is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROUTER_PORT", "eighty"),
        ("ROUTER_PORT", "70000"),
        ("ROUTER_WORKERS", "0"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "LOUD"),
        ("ROUTER_RATE_LIMIT_KEY", "10 per minute"),
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "http://x"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        RouterSettings.from_env({name: value})


def test_rates_are_normalised() -> None:
    assert parse_rate(" 20 / minute ") == "20/minute"
    with pytest.raises(ValueError):
        parse_rate("0/minute")


def test_required_value() -> None:
    with pytest.raises(SettingsError, match="MODULE_NAME"):
        EnvReader({}).required("MODULE_NAME")


def test_bootstrap_key_is_not_in_the_repr() -> None:
    settings = RouterSettings.from_env({"ROUTER_BOOTSTRAP_ADMIN_KEY": "s3cret-value"})
    assert "s3cret-value" not in repr(settings)


def test_router_exits_with_one_line_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "router"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "ROUTER_PORT": "not-a-port"},
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ROUTER_PORT" in lines[0]


def test_a_secret_comes_from_the_variable_or_its_file(tmp_path: Path) -> None:
    key_file = tmp_path / "quotes.key"
    key_file.write_text("rh_0123456789ab_from-the-file\n")
    assert EnvReader({"K": "direct", "K_FILE": str(key_file)}).secret("K") == "direct"
    assert EnvReader({"K_FILE": str(key_file)}).secret("K") == "rh_0123456789ab_from-the-file"
    with pytest.raises(SettingsError, match=r"K \(or K_FILE\) is required"):
        EnvReader({}).secret("K")
    with pytest.raises(SettingsError, match=r"K_FILE=.*cannot be read"):
        EnvReader({"K_FILE": str(tmp_path / "missing")}).secret("K")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError, match=r"K_FILE=.*is empty"):
        EnvReader({"K_FILE": str(tmp_path / "empty")}).secret("K")


class _Stream(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def test_log_format_follows_the_stream() -> None:
    assert terminal_log_format(_Stream(terminal=True)) == "text"
    assert terminal_log_format(_Stream(terminal=False)) == "json"
    closed = io.StringIO()
    closed.close()
    assert terminal_log_format(closed) == "json"


def test_a_set_log_format_wins_over_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _Stream(terminal=True))
    assert EnvReader({}).log_format() == "text"
    assert EnvReader({"LOG_FORMAT": "json"}).log_format() == "json"
    monkeypatch.setattr(sys, "stdout", _Stream(terminal=False))
    assert EnvReader({}).log_format() == "json"
    assert EnvReader({"LOG_FORMAT": "TEXT"}).log_format() == "text"


def test_log_format_is_text_at_a_terminal_and_json_on_a_pipe() -> None:
    code = "from flask_core.settings import EnvReader; print(EnvReader({}).log_format())"
    piped = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert piped.stdout.strip() == "json"
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", code], cwd=REPO, stdout=follower, stderr=subprocess.PIPE
        )
        os.close(follower)
        assert proc.wait(timeout=60) == 0
        assert os.read(leader, 1024).decode().strip() == "text"
    finally:
        os.close(leader)
