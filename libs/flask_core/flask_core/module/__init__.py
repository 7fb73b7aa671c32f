"""The module side of Router Hub: settings, lifecycle, registration, heartbeats, actions.

What a module's author imports, all from here: ``ModuleSettings`` (what every module reads
from the environment, ``settings.py``), ``ModuleBase`` and ``Lifecycle`` (declarations, the
HTTP surface and the lifecycle, ``base.py``), ``ActionCall`` and ``EndpointCall`` (what handlers
receive, ``flask_core.calls``), ``run_module`` and ``serve_from_env`` (the module as a process,
``process.py``).
"""

from ..calls import ActionCall, EndpointCall
from .base import Lifecycle, ModuleBase
from .process import run_module, serve_from_env
from .settings import ModuleSettings

__all__ = [
    "ActionCall",
    "EndpointCall",
    "Lifecycle",
    "ModuleBase",
    "ModuleSettings",
    "run_module",
    "serve_from_env",
]
