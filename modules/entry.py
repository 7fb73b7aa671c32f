"""The shape every ``python -m modules.<name>`` shares: ``--help`` from the module's variables,
an optional ``say`` subcommand, then serving from the environment."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from flask_core.module import ModuleBase, serve_from_env
from flask_core.variables import Variable, command_line

SettingsT = TypeVar("SettingsT")
Say = Callable[[list[str]], int]


def module_main(
    argv: Sequence[str] | None,
    *,
    name: str,
    description: str,
    sections: Iterable[tuple[str, Iterable[Variable]]],
    read_settings: Callable[[Mapping[str, str]], SettingsT],
    build: Callable[[SettingsT], ModuleBase],
    say: str | None = None,
) -> None:
    """Serve module ``name``; ``say …`` (where the module has one, ``say`` names the module
    holding its ``main``, imported only then) talks to a running one."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if say is not None and arguments[:1] == ["say"]:
        run_say: Say = importlib.import_module(say).main
        raise SystemExit(run_say(arguments[1:]))
    command_line(f"python -m modules.{name}", description, sections).parse_args(arguments)
    serve_from_env(read_settings, build, name)
