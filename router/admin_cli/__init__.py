"""``python -m router admin``: the admin API from a terminal (an HTTP client, nothing more)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from .client import AdminClient, AdminError, Connection
from .parser import add_admin_commands

__all__ = ["add_admin_commands", "run_admin"]

DEFAULT_URL = "http://127.0.0.1:8000"


def _connection(args: argparse.Namespace, env: Mapping[str, str]) -> Connection:
    url = getattr(args, "url", None) or env.get("ROUTER_URL") or DEFAULT_URL
    key = getattr(args, "key", None) or env.get("ROUTER_API_KEY")
    if not key:
        raise AdminError("no API key: pass --key or set ROUTER_API_KEY")
    return Connection(url=url, key=key)


def run_admin(args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> int:
    """Run one admin sub-command; problems become one ``error:`` line and exit code 1."""
    args.json = getattr(args, "json", False)
    try:
        with AdminClient(_connection(args, env)) as client:
            code: int = args.handler(client, args)
            return code
    except AdminError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
