"""What ``say`` reads of a local hub, and what it says when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.discord.say import main as discord_say
from modules.localhub import reply_text
from modules.twitch.say import main as twitch_say


def test_the_bot_s_words_come_from_the_text_or_the_command_s_result() -> None:
    assert reply_text({"text": "from a module"}) == "from a module"
    answered = {"command": {"name": "!quote", "status": "ok", "result": {"text": "#1: hi"}}}
    assert reply_text(answered) == "#1: hi"
    failed = {"command": {"name": "!quote", "status": "upstream_timeout", "result": None}}
    assert reply_text(failed) == "(command !quote failed: upstream_timeout)"


@pytest.mark.parametrize("say", [twitch_say, discord_say])
def test_without_a_running_hub_say_says_what_to_do(
    say: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ROUTER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TWITCH_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert callable(say)
    assert say(["!quote"]) == 2
    assert "start the hub with `make run` first" in capsys.readouterr().err
