"""Typed settings read once from the environment, failing fast with the variable's name."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import NoReturn, TextIO, TypeVar

T = TypeVar("T")

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class EnvReader:
    """Read and convert environment variables, naming the variable in every error."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def required(self, name: str) -> str:
        value = self.raw(name)
        if value is None:
            raise SettingsError(f"{name} is required but not set")
        return value

    def text(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None else value

    def optional(self, name: str) -> str | None:
        return self.raw(name)

    def secret(self, name: str) -> str:
        """``name``, else the content of the file named by ``{name}_FILE`` (container secrets).

        Mounted secrets are files, so a container can get a key without it appearing in its
        environment (``docker inspect``, ``/proc/*/environ``).
        """
        value = self.raw(name)
        if value is not None:
            return value
        path = self.raw(f"{name}_FILE")
        if path is None:
            raise SettingsError(f"{name} (or {name}_FILE) is required but not set")
        try:
            with open(path, encoding="utf-8") as handle:
                content = handle.read().strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None
        if not content:
            raise SettingsError(f"{name}_FILE={path!r} is empty")
        return content

    def convert(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{name}={value!r} is invalid: {exc}") from None

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
        def parse(text: str) -> int:
            number = int(text)
            if not minimum <= number <= maximum:
                raise ValueError(f"must be between {minimum} and {maximum}")
            return number

        return self.convert(name, default, parse)

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        def parse(text: str) -> float:
            number = float(text)
            if number < minimum:
                raise ValueError(f"must be at least {minimum}")
            return number

        return self.convert(name, default, parse)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        def parse(text: str) -> str:
            for choice in choices:
                if text.lower() == choice.lower():
                    return choice
            raise ValueError(f"must be one of {', '.join(choices)}")

        return self.convert(name, default, parse)

    def log_level(self, name: str = "LOG_LEVEL") -> str:
        return self.choice(name, "INFO", _LEVELS)

    def log_format(self, name: str = "LOG_FORMAT") -> str:
        return self.choice(name, terminal_log_format(), ("json", "text"))

    def rate(self, name: str, default: str) -> str:
        return self.convert(name, default, parse_rate)

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        def parse(text: str) -> str:
            if not text.startswith(tuple(f"{scheme}://" for scheme in schemes)):
                raise ValueError(f"must start with {' or '.join(s + '://' for s in schemes)}")
            return text

        return self.convert(name, None, parse)


def terminal_log_format(stream: TextIO | None = None) -> str:
    """``text`` when ``stream`` (standard output by default) is a terminal, else ``json``.

    A person at a terminal reads the one-line form; a collector reading a pipe or a file
    wants JSON.
    """
    stream = sys.stdout if stream is None else stream
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # closed or replaced by an object without a tty
        return "json"


def parse_rate(text: str) -> str:
    """Normalise a rate such as ``20/minute``; raise ValueError when malformed."""
    match = _RATE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError("must look like N/second, N/minute, N/hour or N/day with N >= 1")
    return f"{int(match.group(1))}/{match.group(2)}"


def exit_on_settings_error(error: SettingsError, program: str) -> NoReturn:
    """Print the one-line start-up error and stop the process."""
    print(f"{program}: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)
