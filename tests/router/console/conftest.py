"""A router served on loopback, a browser page, and a signed-in console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page
from quart import Quart

from tests.support.browser import chromium
from tests.support.keys import KeyFactory
from tests.support.servers import serve_app, without_lifespan


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def served(app: Quart) -> AsyncIterator[str]:
    async with serve_app(without_lifespan(app)) as url:
        yield url


class Console:
    """One browser tab on the console, recording dialogs and CSP reports as they happen."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.dialogs: list[str] = []
        self.csp_violations: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("console", self._on_console)

    async def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def _on_console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    async def sign_in(self, key: str) -> None:
        await self.page.goto(f"{self.url}/admin/")
        await self.page.fill("#login-key", key)
        await self.page.click("#login-form button[type=submit]")
        await self.page.wait_for_selector("#view h1")

    async def open(self, name: str) -> None:
        await self.page.click(f"#nav a[data-page={name}]")
        await self.page.wait_for_selector(f"#view[data-page={name}] h1")


@pytest.fixture
async def console(browser: Browser, served: str) -> AsyncIterator[Console]:
    context = await browser.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield Console(page, served)
    finally:
        await context.close()


@pytest.fixture
async def admin_key(api_key: KeyFactory) -> str:
    return await api_key("admin")
