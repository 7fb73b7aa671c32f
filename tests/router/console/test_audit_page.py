"""The audit page: filters, the chart from /audit/stats, export, verification."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from quart import Quart

from router.audit.records import AuditRecord
from router.state import RouterState
from tests.support.audit import wait_for_records

from .conftest import Console

# Set to a path (e.g. docs/console-audit.png) to keep a screenshot of the page with its data.
SCREENSHOT = os.environ.get("CONSOLE_SCREENSHOT")


def _earlier_records() -> list[AuditRecord]:
    """A day's worth of traffic over the last 20 hours, so the chart has a shape."""
    now = datetime.now(UTC)
    records = []
    for hours_ago in range(1, 21):
        burst = {"AUTH": (hours_ago * 7) % 5, "AUTHZ": (hours_ago * 3) % 4, "AUDIT": hours_ago % 3}
        burst["ERROR"] = 1 if hours_ago % 6 == 0 else 0
        burst["SYSTEM"] = 1 if hours_ago % 8 == 0 else 0
        for category, count in burst.items():
            records += [
                AuditRecord(
                    category,
                    "seed",
                    "denied" if category.startswith("AUTH") else "200",
                    "router",
                    "test",
                    community="c1",
                    timestamp=now - timedelta(hours=hours_ago, minutes=n),
                )
                for n in range(count)
            ]
    return records


async def _seed(url: str, admin_key: str, app: Quart) -> dict[str, int]:
    """Real records: earlier ones through the chained store, then communities created (AUDIT)
    and requests with a bad key (AUTH) through the API."""
    state: RouterState = app.extensions["router"]
    earlier = _earlier_records()
    await state.audit_store.append(earlier)
    async with httpx.AsyncClient(base_url=url) as client:
        for n in range(4):
            body = {"id": f"c{n}", "name": f"Community {n}"}
            created = await client.post(
                "/api/v1/admin/communities", json=body, headers={"X-API-Key": admin_key}
            )
            assert created.status_code == 201
        for n in range(2):
            bad = {"X-API-Key": f"rh_{n:012d}_wrong"}
            assert (await client.get("/api/v1/admin/keys", headers=bad)).status_code == 401
    await wait_for_records(state, len(earlier) + 6)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": admin_key}) as client:
        stats = (await client.get("/api/v1/admin/audit/stats?bucket=hour")).json()
    return {
        category: sum(bucket["counts"][category] for bucket in stats["buckets"])
        for category in ("AUTH", "AUTHZ", "AUDIT", "ERROR", "SYSTEM")
    }


async def test_filter_by_category_draws_the_chart_from_stats(
    console: Console, admin_key: str, app: Quart
) -> None:
    totals = await _seed(console.url, admin_key, app)
    assert totals["AUDIT"] >= 4 and totals["AUTH"] >= 1
    page = console.page
    await console.sign_in(admin_key)
    await console.open("audit")
    await page.wait_for_selector("#audit-chart canvas")
    everything = json.loads(await page.get_attribute("#audit-chart-summary", "data-totals") or "{}")
    assert everything == totals

    await page.select_option("#audit-filters [name=category]", "AUDIT")
    async with page.expect_response("**/api/v1/admin/audit/stats?*") as stats_answer:
        await page.click("#audit-filters button[type=submit]")
    assert (await stats_answer.value).ok
    await page.wait_for_selector("#audit-chart[data-series=AUDIT] canvas")
    shown = json.loads(await page.get_attribute("#audit-chart-summary", "data-totals") or "{}")
    assert shown == {"AUDIT": totals["AUDIT"]}
    legend = await page.locator("#audit-chart .u-legend").text_content() or ""
    assert "AUDIT" in legend and "AUTH " not in legend
    await page.wait_for_function(  # the table loads beside the chart
        """() => [...document.querySelectorAll('#audit-list tbody tr td:nth-child(3)')]
                 .every((cell) => cell.textContent === 'AUDIT')"""
    )
    categories = await page.locator("#audit-list tbody tr td:nth-child(3)").all_text_contents()
    assert categories and set(categories) == {"AUDIT"}
    if SCREENSHOT:
        await page.select_option("#audit-filters [name=category]", "")
        await page.fill("#audit-filters [name=limit]", "8")
        await page.click("#audit-filters button[type=submit]")
        await page.wait_for_selector(
            "#audit-chart[data-series='AUTH,AUTHZ,AUDIT,ERROR,SYSTEM'] canvas"
        )
        await page.wait_for_function(
            "() => document.querySelectorAll('#audit-list tbody tr').length === 8"
        )
        await page.screenshot(path=SCREENSHOT, clip={"x": 0, "y": 0, "width": 1280, "height": 900})
    assert console.csp_violations == []


async def test_paging_export_and_verify(
    console: Console, admin_key: str, app: Quart, tmp_path: Path
) -> None:
    await _seed(console.url, admin_key, app)
    page = console.page
    await console.sign_in(admin_key)
    await console.open("audit")
    await page.wait_for_selector("#audit-list table")
    await page.fill("#audit-filters [name=limit]", "2")
    await page.click("#audit-filters button[type=submit]")
    # The first page (100 of the records) also had an "Older" button: wait for the short page.
    await page.wait_for_function(
        "() => document.querySelectorAll('#audit-list tbody tr').length === 2"
    )
    await page.wait_for_selector("#audit-next")
    first = await page.locator("#audit-list tbody tr td:first-child").all_text_contents()
    await page.click("#audit-next")
    await page.wait_for_selector("#audit-previous")
    second = await page.locator("#audit-list tbody tr td:first-child").all_text_contents()
    assert len(first) == len(second) == 2 and int(second[0]) < int(first[-1])

    await page.fill("#audit-filters [name=limit]", "")
    await page.select_option("#audit-filters [name=category]", "AUTH")
    await page.click("#audit-filters button[type=submit]")
    async with page.expect_download() as ndjson:
        await page.click("#export-ndjson")
    saved = tmp_path / "audit.ndjson"
    await (await ndjson.value).save_as(saved)
    records = [json.loads(line) for line in saved.read_text().splitlines()]
    assert records and {r["category"] for r in records} == {"AUTH"}
    async with page.expect_download() as csv_file:
        await page.click("#export-csv")
    assert (await csv_file.value).suggested_filename == "audit.csv"

    await page.click("#verify-chain")
    verdict = page.locator("#audit-verify-result[data-ok=true]")
    await verdict.wait_for()
    assert (await verdict.text_content() or "").startswith("Chain intact:")
