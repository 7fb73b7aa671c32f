"""``python -m modules.discord``: serve the Discord module (port 8011 unless MODULE_PORT).

``python -m modules.discord say "/quote"`` sends a signed message to the running module and prints
the bot's reply instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from flask_core.module import serve_from_env
from flask_core.variables import command_line

from .environment import SECTIONS
from .module import DiscordModule, DiscordSettings


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["say"]:
        from .say import main as say

        raise SystemExit(say(arguments[1:]))
    command_line(
        "python -m modules.discord", "Router Hub: the Discord trigger module.", SECTIONS
    ).parse_args(argv)
    serve_from_env(DiscordSettings.from_env, DiscordModule, "discord")


if __name__ == "__main__":
    main()
