"""The README stands on its own: every link it has resolves inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
LINK = re.compile(r"\]\(([^)]+)\)")


def test_every_link_is_a_file_of_the_repository() -> None:
    links = LINK.findall(README)
    assert "docs/configuration.md" in links
    for target in links:
        path = (REPO / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(REPO) and path.exists(), target


def test_nothing_points_outside_the_repository() -> None:
    assert "../" not in README
    assert "SPEC.md" not in README


def test_the_tour_ends_with_the_bot_answering_on_twitch_and_discord() -> None:
    for command in (
        "make run",
        "make test",
        'python -m modules.twitch say "!addquote hello"',
        'python -m modules.twitch say "!quote"',
        'python -m modules.discord say "/quote"',
    ):
        assert command in README, command
