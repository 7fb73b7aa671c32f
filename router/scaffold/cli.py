"""The ``new-module`` command of ``python -m router``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .create import KINDS, ScaffoldError, new_module


def add_scaffold_command(commands: Any) -> None:
    parser = commands.add_parser(
        "new-module", help="create modules/NAME on ModuleBase and wire it into the hub"
    )
    parser.add_argument("name", help="the module id, also its Python package name")
    parser.add_argument("--type", dest="kind", choices=KINDS, default="action")
    parser.add_argument("--port", type=int, default=None, help="default: the next free one")
    parser.add_argument(
        "--root", type=Path, default=Path.cwd(), help="the repository (default: here)"
    )


def run_new_module(args: argparse.Namespace) -> int:
    try:
        created = new_module(args.root.resolve(), args.name, args.kind, args.port)
    except ScaffoldError as error:
        print(f"new-module: {error}", file=sys.stderr)
        return 2
    print(created.next_steps())
    return 0
