"""``python -m modules.discord``: serve the Discord module (port 8011 unless MODULE_PORT).

``python -m modules.discord say "/quote"`` sends a signed message to the running module and prints
the bot's reply instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from modules.entry import module_main

from .environment import SECTIONS
from .module import DiscordModule, DiscordSettings


def main(argv: Sequence[str] | None = None) -> None:
    module_main(
        argv,
        name="discord",
        description="Router Hub: the Discord trigger module.",
        sections=SECTIONS,
        read_settings=DiscordSettings.from_env,
        build=DiscordModule,
        say="modules.discord.say",
    )


if __name__ == "__main__":
    main()
