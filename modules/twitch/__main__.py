"""``python -m modules.twitch``: serve the Twitch module (port 8010 unless MODULE_PORT)."""

from __future__ import annotations

from flask_core.module import serve_from_env

from .module import TwitchModule, TwitchSettings


def main() -> None:
    serve_from_env(TwitchSettings.from_env, TwitchModule, "twitch")


if __name__ == "__main__":
    main()
