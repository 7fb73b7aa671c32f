"""The console's page itself: security headers, no inline code, signing in and out."""

from __future__ import annotations

import httpx

from .conftest import Console

PAGES = ("keys", "communities", "modules", "deadletters", "audit")


async def test_every_console_answer_carries_the_security_headers(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        answers = [
            await client.get("/admin/"),
            await client.get("/admin/assets/js/main.js"),
            await client.get("/admin/assets/vendor/uPlot.iife.min.js"),
            await client.get("/admin/assets/missing.js"),
            await client.get("/admin/assets/..%2F..%2Frouter%2Fapp.py"),
            await client.get("/admin", follow_redirects=False),
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 404, 404, 308]
    for answer in answers:
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answers[1].headers["Content-Type"].startswith("text/javascript")


async def test_the_page_has_no_inline_script_style_or_handler(
    console: Console, admin_key: str
) -> None:
    response = await console.page.goto(f"{console.url}/admin/")
    assert (
        response is not None and "default-src 'self'" in response.headers["content-security-policy"]
    )
    await console.sign_in(admin_key)
    for name in PAGES:
        await console.open(name)
        await console.page.wait_for_load_state("networkidle")
        inline = await console.page.evaluate(
            """() => ({
              scripts: [...document.scripts].filter((s) => !s.src).length,
              styles: document.querySelectorAll("style, [style]").length -
                document.querySelectorAll(".uplot [style], .uplot style").length,
              handlers: [...document.querySelectorAll("*")].filter((e) =>
                [...e.attributes].some((a) => a.name.startsWith("on"))).length,
              external: [...document.querySelectorAll("script[src], link[href]")]
                .filter((e) => !(e.src || e.href).startsWith(location.origin)).length,
            })"""
        )
        assert inline == {"scripts": 0, "styles": 0, "handlers": 0, "external": 0}, name
    assert console.csp_violations == []


async def test_the_key_lives_in_session_storage_only(console: Console, admin_key: str) -> None:
    await console.sign_in(admin_key)
    stored = await console.page.evaluate(
        "() => [Object.values(sessionStorage), localStorage.length, document.cookie]"
    )
    assert stored == [[admin_key], 0, ""]
    await console.page.click("#sign-out")
    await console.page.wait_for_selector("#login:not([hidden])")
    assert await console.page.evaluate("() => sessionStorage.length") == 0


async def test_a_wrong_key_shows_the_problem_detail(console: Console, admin_key: str) -> None:
    await console.page.goto(f"{console.url}/admin/")
    await console.page.fill("#login-key", "rh_000000000000_not-a-key")
    await console.page.click("#login-form button[type=submit]")
    status = console.page.locator("#login-status")
    await status.wait_for()
    async with httpx.AsyncClient(base_url=console.url) as client:
        problem = (await client.get("/api/v1/admin/communities", headers={"X-API-Key": "x"})).json()
    await console.page.wait_for_function(
        "(detail) => document.getElementById('login-status').textContent === detail",
        arg=problem["detail"],
    )
    assert await console.page.evaluate("() => sessionStorage.length") == 0
    assert await console.page.locator("#view").is_hidden()
