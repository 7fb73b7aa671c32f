"""``python -m modules.quotes``: serve the quotes module (port 8020 unless MODULE_PORT)."""

from __future__ import annotations

import os

from flask_core.module import run_module
from flask_core.settings import SettingsError, exit_on_settings_error

from .module import QuotesModule, QuotesSettings


def main() -> None:
    try:
        settings = QuotesSettings.from_env(os.environ)
    except SettingsError as error:
        exit_on_settings_error(error, "quotes")
    run_module(QuotesModule(settings))


if __name__ == "__main__":
    main()
