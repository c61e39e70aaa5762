"""The digest page in a real browser: Debian's chromium through Playwright, offline.

A small CRM is seeded and backfilled on the test server, `revops report` writes the page, and
chromium opens the file with every request that is not the file itself blocked (and recorded:
none may be attempted). The test waits until each ECharts chart has drawn (a canvas in its
container and an instance behind it), checks there were no console errors and no dialogs (a
rep named like markup must not run), reads a number off the page, and saves a screenshot to
build/screenshots/digest.png (gitignored).

Yesterday D: 3 new leads (L1 .. L3), one won deal of Alice's for 1,200, one open deal of the
rep named `<img src=x onerror=alert(1)>` for 800, two activities.

The browser fixtures live in this file on purpose (tests/browser/conftest.py belongs to the BI
dashboards' tests).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pgtest import (
    cli,
    insert_rows,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
)
from revops import config

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "build" / "screenshots" / "digest.png"
CHROMIUM = Path(os.environ.get("REVOPS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALICE = "005000000000001AAA"
MARKUP = "005000000000002AAA"
MARKUP_NAME = "<img src=x onerror=alert(1)>"
CHARTS_DRAWN = """() => {
  const charts = Array.from(document.querySelectorAll('.chart'));
  return charts.length === 4 && charts.every(
    (el) => el.querySelector('canvas, svg') !== null && echarts.getInstanceByDom(el) != null);
}"""


def _at(day: dt.date, days_before: int) -> dt.datetime:
    return dt.datetime.combine(day - dt.timedelta(days_before), dt.time(12), dt.UTC)


@pytest.fixture(scope="module")
def digest_file(pg_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The page `revops report` writes for yesterday on the CRM above."""
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(owner)
    row = owner.execute("SELECT metrics.business_today() - 1").fetchone()
    assert row is not None
    day: dt.date = row[0]
    insert_rows(
        etl,
        "reps",
        [
            {"rep_id": ALICE, "name": "Alice Able", "is_active": True},
            {"rep_id": MARKUP, "name": MARKUP_NAME, "is_active": True},
        ],
    )
    leads = [("L1", 0), ("L2", 0), ("L3", 0), ("L4", 1), ("L5", 4), ("L6", 9), ("L7", 20)]
    insert_rows(
        etl,
        "leads",
        [
            {"lead_id": i, "lead_source": "Web", "status": "Open", "created_at": _at(day, n)}
            for i, n in leads
        ],
    )
    insert_rows(
        etl,
        "opportunities",
        [
            {"opportunity_id": "O1", "owner_id": ALICE, "lead_source": "Web",
             "amount": Decimal(1200), "stage_name": "Closed Won", "is_won": True,
             "close_date": day, "created_at": _at(day, 3)},
            {"opportunity_id": "O2", "owner_id": MARKUP, "lead_source": "Web",
             "amount": Decimal(800), "stage_name": "Prospecting", "is_won": False,
             "created_at": _at(day, 0)},
        ],
    )  # fmt: skip
    insert_rows(
        etl,
        "activities",
        [
            {"activity_id": "A1", "source_object": "Task", "owner_id": ALICE, "type": "Call",
             "activity_date": day},
            {"activity_id": "A2", "source_object": "Task", "owner_id": MARKUP, "type": "Email",
             "activity_date": day},
        ],
    )  # fmt: skip
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as runner:
        result = runner.execute(
            "SELECT metrics.backfill_date_range(%s, %s)", (day - dt.timedelta(30), day)
        ).fetchone()
        assert result is not None and result[0]["status"] == "succeeded", result
    out = tmp_path_factory.mktemp("digest") / "digest.html"
    proc = cli(pg_env, "report", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    try:
        yield out
    finally:
        reset_crm(etl)
        reset_metrics(owner)
        etl.close()
        owner.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (no browser download)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_the_page_renders_offline_with_every_chart(chromium: Any, digest_file: Path) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    blocked: list[str] = []
    problems: list[str] = []
    dialogs: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        requested.append(url)
        if url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(digest_file.as_uri())
        page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
        # the numbers a person reads match the seed
        assert page.inner_text('[data-measure="new_leads"] .value') == "3"
        assert page.inner_text('[data-measure="revenue_won"] .value') == "1,200"
        assert page.inner_text('tr[data-rep-rank="1"] .rep-name') == "Alice Able"
        # the rep named like markup is text, not an element
        assert page.inner_text('tr[data-rep-rank="2"] .rep-name') == MARKUP_NAME
        assert page.locator("img").count() == 0
        assert page.get_attribute("body", "data-charts") == "4"
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    finally:
        page.close()
    assert blocked == []
    assert requested == [digest_file.as_uri()]
    assert problems == []
    assert dialogs == []
    assert SCREENSHOT.stat().st_size > 10_000
