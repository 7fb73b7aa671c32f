"""docs/configuration.md against the code: every variable the code reads is on the page, and
each service's table (its ``--help``) matches the page's section, default for default."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from flask_core.variables import COMMON_VARIABLES, Variable
from modules.discord.environment import DISCORD_VARIABLES
from modules.quotes.environment import QUOTES_VARIABLES
from modules.twitch.environment import TWITCH_VARIABLES
from router.environment import EVENT_VARIABLES, HUB_VARIABLES, ROUTER_VARIABLES

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "configuration.md"

# The methods of flask_core.settings.EnvReader whose first argument names a variable.
READER_METHODS = frozenset(
    {"raw", "required", "text", "optional", "convert", "integer", "number", "choice", "rate", "url"}
    | {"log_level", "log_format", "secret"}
)
# ``env.secret(NAME)`` reads NAME, else the file named by NAME_FILE.
FILE_SUFFIX = "_FILE"
# The system's own variables, handed on to child processes; not configuration.
SYSTEM_VARIABLES = frozenset({"PATH"})
IMPLICIT_NAMES = {"log_level": "LOG_LEVEL", "log_format": "LOG_FORMAT"}
VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
ROW = re.compile(r"^\|\s*`(?P<name>[A-Z][A-Z0-9_]*)`\s*\|(?P<default>[^|]*)\|(?P<meaning>[^|]*)\|$")

SECTIONS: dict[str, tuple[Variable, ...]] = {
    "Every service": COMMON_VARIABLES,
    "Router (`python -m router`)": ROUTER_VARIABLES,
    "Event ingest and durable delivery": EVENT_VARIABLES,
    "The hub (`make run`, `python -m router hub`)": HUB_VARIABLES,
    "Twitch module (`python -m modules.twitch`)": TWITCH_VARIABLES,
    "Discord module (`python -m modules.discord`)": DISCORD_VARIABLES,
    "Quotes module (`python -m modules.quotes`)": QUOTES_VARIABLES,
}
# What a service's code may read: its own table and what every service reads.
SERVICES: dict[str, tuple[Variable, ...]] = {
    "router": ROUTER_VARIABLES + EVENT_VARIABLES + HUB_VARIABLES + COMMON_VARIABLES,
    "modules/twitch": TWITCH_VARIABLES + COMMON_VARIABLES,
    "modules/discord": DISCORD_VARIABLES + COMMON_VARIABLES,
    "modules/quotes": QUOTES_VARIABLES + COMMON_VARIABLES,
}


def page_sections() -> dict[str, dict[str, str]]:
    """Heading → {variable: default} of every table row under it (backticks dropped)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in PAGE.read_text().splitlines():
        if line.startswith("#"):
            current = sections.setdefault(line.lstrip("#").strip(), {})
            continue
        match = ROW.match(line.strip())
        if match:
            current[match["name"]] = match["default"].strip().replace("`", "")
        elif line.startswith("| `"):
            raise AssertionError(f"malformed row (three cells, no stray '|'): {line}")
    return sections


def page_names() -> set[str]:
    return {name for rows in page_sections().values() for name in rows}


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float):
        return node.value if isinstance(node.value, str) else repr(node.value)
    return None


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or a bare ``environ``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id == "environ"


def _reads(call: ast.Call) -> Iterator[tuple[str, str | None]]:
    """(variable, literal default or None) when ``call`` reads the environment."""
    func = call.func
    first = _literal(call.args[0]) if call.args else None
    if isinstance(func, ast.Attribute) and func.attr in READER_METHODS:
        if first is None and not call.args and func.attr in IMPLICIT_NAMES:
            yield IMPLICIT_NAMES[func.attr], None
        elif first is not None and VARIABLE_NAME.match(first):
            default = _literal(call.args[1]) if len(call.args) > 1 else None
            yield first, default if func.attr not in ("convert", "choice") else None
            if func.attr == "secret":
                yield first + FILE_SUFFIX, None
    environment_call = isinstance(func, ast.Attribute) and (
        func.attr == "getenv" or (func.attr == "get" and _is_environ(func.value))
    )
    if environment_call and first is not None and VARIABLE_NAME.match(first):
        yield first, None


def environment_reads(root: Path) -> dict[str, set[str | None]]:
    """Every variable read in ``root`` (a file, or the files under a directory) → the literal
    defaults it is read with."""
    found: dict[str, set[str | None]] = {}
    for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            reads: list[tuple[str, str | None]] = []
            if isinstance(node, ast.Call):
                reads = list(_reads(node))
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                key = _literal(node.slice)
                if _is_environ(node.value) and key and VARIABLE_NAME.match(key):
                    reads = [(key, None)]
            for name, default in reads:
                if name not in SYSTEM_VARIABLES:
                    found.setdefault(name, set()).add(default)
    return found


def test_the_scanner_finds_every_kind_of_read(tmp_path: Path) -> None:
    (tmp_path / "sample.py").write_text(
        "import os\n"
        "env.integer('A_PORT', 80, minimum=1)\n"
        "env.log_format()\n"
        "os.environ.get('B_FLAG', '')\n"
        "os.getenv('C_NAME')\n"
        "env.secret('F_KEY')\n"
        "os.environ.get('PATH', '')\n"
        "x = os.environ['D_URL']\n"
        "os.environ['E_WRITTEN'] = 'only written'\n"
        "headers.get('X_NOT_ENV')\n"
    )
    reads = environment_reads(tmp_path)
    assert set(reads) == {
        "A_PORT",
        "LOG_FORMAT",
        "B_FLAG",
        "C_NAME",
        "D_URL",
        "F_KEY",
        "F_KEY_FILE",
    }
    assert reads["A_PORT"] == {"80"}
    assert set(environment_reads(tmp_path / "sample.py")) == set(reads)


@pytest.mark.parametrize("package", ["router", "modules", "libs", "tests/support"])
def test_every_variable_the_code_reads_is_on_the_page(package: str) -> None:
    missing = sorted(set(environment_reads(REPO / package)) - page_names())
    assert not missing, f"read in {package}/ but not in docs/configuration.md: {missing}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_variable_a_service_reads_is_in_its_help(service: str) -> None:
    listed = {variable.name for variable in SERVICES[service]}
    missing = sorted(set(environment_reads(REPO / service)) - listed)
    assert not missing, f"read in {service}/ but not in its --help table: {missing}"


def test_every_module_setting_is_in_each_module_table() -> None:
    """flask_core.module reads what every module's table must list, with the same defaults."""
    reads = environment_reads(REPO / "libs/flask_core/flask_core/module")
    assert {"ROUTER_URL", "ROUTER_API_KEY", "MODULE_PORT"} <= set(reads)
    for table in (TWITCH_VARIABLES, DISCORD_VARIABLES, QUOTES_VARIABLES):
        listed = {variable.name: variable.default for variable in table + COMMON_VARIABLES}
        assert set(reads) <= set(listed)
        for name, defaults in reads.items():
            assert defaults - {None} <= {listed[name]}, name


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_literal_defaults_in_the_code_match_the_table(service: str) -> None:
    table = {variable.name: variable.default for variable in SERVICES[service]}
    for name, defaults in environment_reads(REPO / service).items():
        for default in defaults - {None}:
            assert default == table[name], f"{name}: code says {default!r}, --help {table[name]!r}"


@pytest.mark.parametrize("heading", sorted(SECTIONS))
def test_each_table_is_the_page_section(heading: str) -> None:
    section = page_sections().get(heading)
    assert section is not None, f"docs/configuration.md has no section {heading!r}"
    expected = {variable.name: variable.default for variable in SECTIONS[heading]}
    assert section == expected


def test_the_spec_variables_are_documented() -> None:
    spec = {
        "ROUTER_RATE_LIMIT_ANONYMOUS",
        "ROUTER_MODULE_NETWORKS",
        "REDIS_MODE",
        "REDIS_SENTINELS",
        "REDIS_SENTINEL_MASTER",
        "HUB_NAMESPACE",
        "TWITCH_CLIENT_ID",
        "TWITCH_CLIENT_SECRET",
        "TWITCH_BOT_USER_ID",
        "TWITCH_API_BASE",
        "TWITCH_AUTH_BASE",
        "DISCORD_BOT_TOKEN",
        "DISCORD_API_BASE",
        "ROUTER_BOOTSTRAP_KEYS_FILE",
        "TEST_DATABASE_URL",
        "TEST_REDIS_URL",
        "CI",
    }
    assert spec <= page_names()
