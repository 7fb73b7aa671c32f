"""The quotes module's environment variables: ``--help`` is printed from this table and
``docs/configuration.md`` is checked against it."""

from __future__ import annotations

from flask_core.variables import COMMON_VARIABLES, REQUIRED, Variable, module_variables

from .module import DEFAULT_PORT

QUOTES_VARIABLES: tuple[Variable, ...] = (
    *module_variables("quotes", DEFAULT_PORT),
    Variable("DATABASE_URL", REQUIRED, "`postgresql://…` where quotes are kept per community"),
)

SECTIONS = (("quotes module", QUOTES_VARIABLES), ("every service", COMMON_VARIABLES))
