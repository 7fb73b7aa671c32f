"""The Discord module's environment variables: ``--help`` is printed from this table and
``docs/configuration.md`` is checked against it."""

from __future__ import annotations

from flask_core.variables import COMMON_VARIABLES, REQUIRED, UNSET, Variable, module_variables

from .module import DEFAULT_PORT, DISCORD_API

DISCORD_VARIABLES: tuple[Variable, ...] = (
    *module_variables("discord", DEFAULT_PORT),
    Variable("DISCORD_PUBLIC_KEY", REQUIRED, "the application's Ed25519 public key (hex)"),
    Variable("DISCORD_APPLICATION_ID", REQUIRED, "the application id (deferred answers)"),
    Variable(
        "DISCORD_BOT_TOKEN",
        UNSET,
        "bot token sending channel replies; without it replies are logged, not sent",
    ),
    Variable("DISCORD_API_BASE", DISCORD_API, "Discord REST base URL"),
)

SECTIONS = (("discord module", DISCORD_VARIABLES), ("every service", COMMON_VARIABLES))
