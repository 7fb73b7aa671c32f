"""The Twitch module's environment variables: ``--help`` is printed from this table and
``docs/configuration.md`` is checked against it."""

from __future__ import annotations

from flask_core.variables import COMMON_VARIABLES, REQUIRED, UNSET, Variable, module_variables

from .module import DEFAULT_PORT

TWITCH_VARIABLES: tuple[Variable, ...] = (
    *module_variables("twitch", DEFAULT_PORT),
    Variable("TWITCH_WEBHOOK_SECRET", REQUIRED, "the EventSub secret signing every webhook"),
    Variable("TWITCH_CLIENT_ID", UNSET, "app client id (Helix `Client-Id`, client credentials)"),
    Variable("TWITCH_CLIENT_SECRET", UNSET, "app client secret for the app access token"),
    Variable(
        "TWITCH_BOT_USER_ID",
        UNSET,
        "the bot's user id, the sender of chat replies; without the three credentials replies "
        "are logged, not sent",
    ),
    Variable("TWITCH_API_BASE", "https://api.twitch.tv", "Helix base URL"),
    Variable("TWITCH_AUTH_BASE", "https://id.twitch.tv", "OAuth base URL"),
)

SECTIONS = (("twitch module", TWITCH_VARIABLES), ("every service", COMMON_VARIABLES))
