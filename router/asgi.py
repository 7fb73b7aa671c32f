"""ASGI entry point for Hypercorn workers: ``router.asgi:app``.

``python -m router`` resolves the database and Redis (starting embedded servers when needed)
and exports them to the environment before the workers import this module.
"""

from __future__ import annotations

import os

from flask_core.logging import configure_logging
from flask_core.serving import settle_heap_once_serving
from flask_core.settings import SettingsError, exit_on_settings_error

from . import __version__
from .app import create_app
from .settings import RouterSettings

try:
    _settings = RouterSettings.from_env(os.environ)
except SettingsError as error:
    exit_on_settings_error(error, "router")
configure_logging("router", __version__, _settings.log_level, _settings.log_format)
app = create_app(_settings)
settle_heap_once_serving(app)
