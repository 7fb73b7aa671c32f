"""``python -m modules.discord``: serve the Discord module (port 8011 unless MODULE_PORT)."""

from __future__ import annotations

from flask_core.module import serve_from_env

from .module import DiscordModule, DiscordSettings


def main() -> None:
    serve_from_env(DiscordSettings.from_env, DiscordModule, "discord")


if __name__ == "__main__":
    main()
