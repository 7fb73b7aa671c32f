from __future__ import annotations

from dataclasses import replace

import pytest

from router.settings import RouterSettings


@pytest.fixture
def settings(settings: RouterSettings) -> RouterSettings:
    """Short leases and health intervals so expiry and recovery show within seconds."""
    return replace(
        settings,
        lease_ttl_seconds=30,
        health_interval_seconds=1,
        health_timeout_seconds=0.5,
        health_failures_to_down=2,
    )
