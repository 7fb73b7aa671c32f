"""``python -m modules.quotes``: serve the quotes module (port 8020 unless MODULE_PORT)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_core.module import serve_from_env
from flask_core.variables import command_line

from .environment import SECTIONS
from .module import QuotesModule, QuotesSettings


def main(argv: Sequence[str] | None = None) -> None:
    command_line(
        "python -m modules.quotes", "Router Hub: the quotes action module.", SECTIONS
    ).parse_args(argv)
    serve_from_env(QuotesSettings.from_env, QuotesModule, "quotes")


if __name__ == "__main__":
    main()
