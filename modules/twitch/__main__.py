"""``python -m modules.twitch``: serve the Twitch module (port 8010 unless MODULE_PORT)."""

from __future__ import annotations

import os

from flask_core.module import run_module
from flask_core.settings import SettingsError, exit_on_settings_error

from .module import TwitchModule, TwitchSettings


def main() -> None:
    try:
        settings = TwitchSettings.from_env(os.environ)
    except SettingsError as error:
        exit_on_settings_error(error, "twitch")
    run_module(TwitchModule(settings))


if __name__ == "__main__":
    main()
