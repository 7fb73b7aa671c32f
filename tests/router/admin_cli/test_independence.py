"""The admin CLI is an HTTP client: it must keep working against any router it can reach."""

from __future__ import annotations

import ast
from pathlib import Path

import router.admin_cli

PACKAGE = Path(router.admin_cli.__file__).parent
ALLOWED = {"httpx", "__future__"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_cli_imports_nothing_of_the_router_or_flask_core() -> None:
    import sys

    for path in PACKAGE.glob("*.py"):
        outside = {name for name in _imports(path) if name not in sys.stdlib_module_names}
        assert outside <= ALLOWED, f"{path.name} imports {outside - ALLOWED}"
