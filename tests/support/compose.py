"""Reading ``docker-compose.yml`` as Compose does: interpolation from ``.env``, merged anchors.

Interpolation follows the Compose specification: ``$$`` is a literal ``$``; ``${VAR}`` and
``$VAR``; ``${VAR:-default}`` / ``${VAR-default}`` (default when unset or empty / unset);
``${VAR:?message}`` / ``${VAR?message}`` (an error when unset or empty / unset). YAML merge
keys (``<<: *anchor``) are resolved by the YAML loader itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ValueError):
    """A ``${VAR:?message}`` whose variable is not set."""


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = environ.get(name)
        missing = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-") and missing:
            return arg
        if op in (":?", "?") and missing:
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _walk(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, environ)
    if isinstance(value, list):
        return [_walk(item, environ) for item in value]
    if isinstance(value, dict):
        return {key: _walk(item, environ) for key, item in value.items()}
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments and blank lines skipped."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def load_compose(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """The compose file with every value interpolated; extension (``x-``) keys dropped."""
    raw = yaml.safe_load(path.read_text())
    document: dict[str, Any] = _walk(raw, environ)
    return {key: value for key, value in document.items() if not key.startswith("x-")}


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's ``environment`` (map or list form) as strings."""
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}
