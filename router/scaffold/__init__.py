"""``python -m router new-module NAME``: a new module, wired into every place that lists one."""

from .create import Scaffolded, ScaffoldError, new_module

__all__ = ["ScaffoldError", "Scaffolded", "new_module"]
