"""``python -m modules.quotes``: serve the quotes module (port 8020 unless MODULE_PORT)."""

from __future__ import annotations

from flask_core.module import serve_from_env

from .module import QuotesModule, QuotesSettings


def main() -> None:
    serve_from_env(QuotesSettings.from_env, QuotesModule, "quotes")


if __name__ == "__main__":
    main()
