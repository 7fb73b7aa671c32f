"""The environment variables a service reads, as one table: its ``--help`` is printed from it
and ``docs/configuration.md`` is checked against it.

The settings classes still read the environment themselves (typed, failing fast); a test
compares what the code reads with the tables and the page, so none can drift from the others.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable: its name, its default as a person reads it, and its meaning."""

    name: str
    default: str
    meaning: str

    @property
    def required(self) -> bool:
        return self.default == REQUIRED


REQUIRED = "required"
_WIDTH = 88
_INDENT = " " * 6
UNSET = "unset"

COMMON_VARIABLES: tuple[Variable, ...] = (
    Variable("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    Variable(
        "LOG_FORMAT",
        "text at a terminal, else json",
        "`text` (one line a person reads) or `json` (one object a line); the default depends "
        "on whether standard output is a terminal",
    ),
    Variable(
        "REDIS_MODE",
        "standalone",
        "`standalone`, `cluster` (`REDIS_URL` names any node) or `sentinel`",
    ),
    Variable("REDIS_SENTINELS", UNSET, "`host:port,…` of the Sentinels when `REDIS_MODE=sentinel`"),
    Variable("REDIS_SENTINEL_MASTER", UNSET, "the master's name when `REDIS_MODE=sentinel`"),
    Variable(
        "HUB_NAMESPACE",
        "unset: no prefix",
        "prefix of every Redis key (`{ns}:…`) and pub/sub channel (`{ns}.events.…`), so "
        "several hubs can share one Redis",
    ),
)


def module_variables(name: str, port: int) -> tuple[Variable, ...]:
    """What every module reads (``flask_core.module.ModuleSettings``), with its own defaults."""
    return (
        Variable("ROUTER_URL", REQUIRED, "the router's base URL, `http(s)://…`"),
        Variable(
            "ROUTER_API_KEY",
            REQUIRED,
            "the module's API key (role and `module_id` bound); or `ROUTER_API_KEY_FILE`",
        ),
        Variable(
            "ROUTER_API_KEY_FILE",
            UNSET,
            "a file holding the key, read when `ROUTER_API_KEY` is unset (container secrets)",
        ),
        Variable(
            "REDIS_URL",
            "unset: in-process memory",
            "Redis the module's instances share: router-token ids already used and, for "
            "Twitch, EventSub message ids already seen",
        ),
        Variable("MODULE_NAME", name, "the module id it registers as"),
        Variable("MODULE_VERSION", "the package version", "the version it registers with"),
        Variable("MODULE_HOST", "127.0.0.1", "bind address (the container image sets `0.0.0.0`)"),
        Variable("MODULE_PORT", str(port), "bind port"),
        Variable(
            "MODULE_BASE_URL",
            "http://<address the router sees>:<port>",
            "the URL the router calls this instance at",
        ),
        Variable("MODULE_INSTANCE_ID", "<hostname>-<port>", "the instance id it registers with"),
    )


def variables_help(sections: Iterable[tuple[str, Iterable[Variable]]]) -> str:
    """Each section's variables: ``NAME (default: …)`` and the meaning wrapped below it."""
    blocks: list[str] = ["environment variables:"]
    for title, variables in sections:
        lines = [f"{title}:"]
        for variable in variables:
            default = "required" if variable.required else f"default: {variable.default}"
            lines.append(f"  {variable.name} ({default})".replace("`", ""))
            lines.append(_wrapped(variable.meaning.replace("`", "")))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _wrapped(text: str) -> str:
    return textwrap.fill(text, _WIDTH, initial_indent=_INDENT, subsequent_indent=_INDENT)


def command_line(
    prog: str, description: str, sections: Iterable[tuple[str, Iterable[Variable]]]
) -> argparse.ArgumentParser:
    """An argument parser whose ``--help`` ends with the service's environment variables."""
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=variables_help(sections),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
