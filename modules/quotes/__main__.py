"""``python -m modules.quotes``: serve the quotes module (port 8020 unless MODULE_PORT)."""

from __future__ import annotations

from collections.abc import Sequence

from modules.entry import module_main

from .environment import SECTIONS
from .module import QuotesModule, QuotesSettings


def main(argv: Sequence[str] | None = None) -> None:
    module_main(
        argv,
        name="quotes",
        description="Router Hub: the quotes action module.",
        sections=SECTIONS,
        read_settings=QuotesSettings.from_env,
        build=QuotesModule,
    )


if __name__ == "__main__":
    main()
