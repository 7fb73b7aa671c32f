"""``python -m router secrets init DIR``: a deployment's secrets, made without any server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..settings import RouterSettings
from .bootstrap import BootstrapError, init_secrets, parse_module, shipped_modules


def add_secret_commands(commands: Any) -> None:
    """Register ``secrets init`` on the router's sub-command parser."""
    group = commands.add_parser("secrets", help="create a deployment's signing key and keys")
    actions = group.add_subparsers(dest="secrets_command", required=True)
    init = actions.add_parser(
        "init",
        help="write router/ (signing key, bootstrap keys), {module}/ROUTER_API_KEY, admin.key",
    )
    init.add_argument("directory", type=Path)
    init.add_argument(
        "--module",
        action="append",
        dest="modules",
        type=parse_module,
        metavar="NAME:ROLE",
        help="a module to mint a bound key for (repeat; default: "
        + ", ".join(f"{name}:{role}" for name, role in shipped_modules())
        + ")",
    )
    init.add_argument(
        "--force", action="store_true", help="replace existing secrets (rotates every one)"
    )


def run_secrets(settings: RouterSettings, args: argparse.Namespace) -> int:
    try:
        created = init_secrets(
            args.directory, tuple(args.modules) if args.modules else None, force=args.force
        )
    except (BootstrapError, OSError) as error:
        print(f"secrets init: {error}", file=sys.stderr)
        return 1
    # File names only: the secrets stay in the files.
    summary = ", ".join(created) if created else "nothing new (existing secrets kept)"
    print(f"secrets in {args.directory}: {summary}", file=sys.stderr)
    return 0
