"""The modules this repository ships: ``modules/hub.toml``, read by the hub and ``secrets init``.

One list, so a module added by ``python -m router new-module`` is started by ``make run`` and
gets its key from ``python -m router secrets init`` without editing code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

MODULE_LIST = Path(__file__).resolve().parents[1] / "modules" / "hub.toml"


@dataclass(frozen=True, slots=True)
class ListedModule:
    """One module of the list: its id (also its package), its key's role and its local port."""

    name: str
    role: str
    port: int


def listed_modules(path: Path = MODULE_LIST) -> tuple[ListedModule, ...]:
    """The listed modules, in the order the hub starts them."""
    entries = tomllib.loads(path.read_text()).get("module", [])
    return tuple(
        ListedModule(str(entry["name"]), str(entry["role"]), int(entry["port"]))
        for entry in entries
    )
