"""``python -m modules.discord``: serve the Discord module (port 8011 unless MODULE_PORT)."""

from __future__ import annotations

import os

from flask_core.module import run_module
from flask_core.settings import SettingsError, exit_on_settings_error

from .module import DiscordModule, DiscordSettings


def main() -> None:
    try:
        settings = DiscordSettings.from_env(os.environ)
    except SettingsError as error:
        exit_on_settings_error(error, "discord")
    run_module(DiscordModule(settings))


if __name__ == "__main__":
    main()
