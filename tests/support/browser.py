"""Headless Chromium for the console tests: Debian's /usr/bin/chromium driven by Playwright.

Playwright's own browser downloads are never used (`playwright install` is not run anywhere):
CI installs the distribution's package. Without the binary the tests fail under CI=true and are
skipped elsewhere, like the real-server tests.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .stores import unreachable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A launched Playwright ``Browser`` (closed afterwards)."""
    if not os.access(CHROMIUM, os.X_OK):
        unreachable(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:  # requirements/dev.txt pins it
        unreachable(f"playwright is not installed: {exc}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
