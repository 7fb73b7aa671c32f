"""``python -m modules.twitch``: serve the Twitch module (port 8010 unless MODULE_PORT).

``python -m modules.twitch say "!quote"`` sends a signed message to the running module and prints
the bot's reply instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from flask_core.module import serve_from_env
from flask_core.variables import command_line

from .environment import SECTIONS
from .module import TwitchModule, TwitchSettings


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["say"]:
        from .say import main as say

        raise SystemExit(say(arguments[1:]))
    command_line(
        "python -m modules.twitch", "Router Hub: the Twitch EventSub trigger module.", SECTIONS
    ).parse_args(argv)
    serve_from_env(TwitchSettings.from_env, TwitchModule, "twitch")


if __name__ == "__main__":
    main()
