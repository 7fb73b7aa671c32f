"""The router's command line: serve (default), hub, keys, secrets, new-module and admin."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from flask_core.settings import SettingsError, exit_on_settings_error
from flask_core.variables import command_line, variables_help

from .admin_cli import add_admin_commands, run_admin
from .environment import HUB_SECTIONS, ROUTER_SECTIONS
from .keys.cli import add_key_commands, run_keys
from .keys.secrets_cli import add_secret_commands, run_secrets
from .scaffold.cli import add_scaffold_command, run_new_module
from .settings import RouterSettings


def _parser() -> argparse.ArgumentParser:
    parser = command_line("python -m router", "Router Hub router", ROUTER_SECTIONS)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser(
        "serve",
        help="run the router (default)",
        epilog=variables_help(ROUTER_SECTIONS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands.add_parser(
        "hub",
        help="run the router and every module (make run)",
        epilog=variables_help(HUB_SECTIONS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_key_commands(commands)
    add_secret_commands(commands)
    add_scaffold_command(commands)
    add_admin_commands(commands)
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.command == "new-module":  # works on files only: no settings needed
        return run_new_module(args)
    if args.command == "admin":  # an HTTP client: it needs none of the router's settings
        return run_admin(args)
    try:
        settings = RouterSettings.from_env(os.environ)
    except SettingsError as error:
        exit_on_settings_error(error, "router")
    handler = _COMMANDS.get(args.command or "serve")
    assert handler is not None
    return handler(settings, args)


def _serve(settings: RouterSettings, args: Any) -> int:
    from .server import serve

    return serve(settings)


def _hub(settings: RouterSettings, args: Any) -> int:
    from .hub import run_hub

    return run_hub(settings)


_COMMANDS = {"serve": _serve, "hub": _hub, "keys": run_keys, "secrets": run_secrets}
