"""``python -m modules.twitch``: serve the Twitch module (port 8010 unless MODULE_PORT).

``python -m modules.twitch say "!quote"`` sends a signed message to the running module and prints
the bot's reply instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from modules.entry import module_main

from .environment import SECTIONS
from .module import TwitchModule, TwitchSettings


def main(argv: Sequence[str] | None = None) -> None:
    module_main(
        argv,
        name="twitch",
        description="Router Hub: the Twitch EventSub trigger module.",
        sections=SECTIONS,
        read_settings=TwitchSettings.from_env,
        build=TwitchModule,
        say="modules.twitch.say",
    )


if __name__ == "__main__":
    main()
