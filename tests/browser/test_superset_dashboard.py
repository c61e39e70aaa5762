"""The Superset dashboard, end to end in a real browser (``invoke test-bi``; needs
``invoke bi-install`` and Debian's chromium).

A throwaway PostgreSQL (the ``pg_env`` fixture) gets a synthetic CRM (``revops generate
--scale 0.02``) and its metrics backfilled up to five days ago: the facts are stale on purpose.
``revops bi init`` imports bi/assets into a fresh Superset (SQLite metadata in a temporary
REVOPS_BI_HOME) and ``revops bi serve`` serves it on a free loopback port. Then Chromium:

0. revops_bi's password is in no file, argument or environment Superset keeps;
1. the freshness tile is red while the facts are five days old;
2. after ``revops run`` it is not red, every chart draws with no error, the New leads tile
   shows the database's own count, and the page is saved as build/screenshots/;
3. the Rep and Lead source filters (set through the URL, as a shared link does) reach the
   charts in their scope and no other: Revenue won and New leads against the database;
4. ``revops bi init`` with a changed chart title updates the existing chart (the import
   overwrites), which is what re-running init after an asset change relies on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from pgtest import cli, owner_connection, role_connection
from revops import bi, config
from revops.embedded import free_port

pytestmark = pytest.mark.browser

CHARTS = 10  # charts on the dashboard (bi/assets/dashboards/revops_metrics.yaml)
FRESHNESS_TILE = "Freshness: days past the limit"
RED = "rgb(224, 67, 85)"  # #E04355, the tile's rule for "> 0"
SCREENSHOT = "superset-dashboard.png"
SERVER_PIDS: dict[str, int] = {}  # base URL -> pid of `revops bi serve` (gunicorn's master)


def wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"superset exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"superset did not answer in 90 s:\n{log.read_text()[-3000:]}")


def run_cli(env: dict[str, str], *args: str) -> None:
    done = cli(env, *args)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-4000:])


@pytest.fixture(scope="module")
def bi_env(pg_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pg_env plus the installed BI virtualenv and a fresh Superset state directory; CRM
    generated and the facts backfilled up to five days ago."""
    venv = bi.venv_dir(os.environ)
    if not (venv / "bin" / "superset").exists():
        pytest.fail(f"no Superset virtualenv at {venv}: run `invoke bi-install` first")
    env = {
        **pg_env,
        "REVOPS_BI_VENV": str(venv),
        "REVOPS_BI_HOME": str(tmp_path_factory.mktemp("superset")),
    }
    run_cli(env, "generate", "--scale", "0.02", "--seed", "42")
    with owner_connection(env) as owner:
        (today,) = owner.execute("SELECT metrics.business_today()").fetchone() or (None,)
    assert isinstance(today, dt.date)
    first, stale_end = today - dt.timedelta(days=731), today - dt.timedelta(days=5)
    run_cli(env, "backfill", "--from", first.isoformat(), "--to", stale_end.isoformat())
    return env


@pytest.fixture(scope="module")
def superset(bi_env: dict[str, str], screenshot_dir: Path) -> Iterator[str]:
    """`revops bi init`, then `revops bi serve` on a free port; yields the base URL."""
    started = time.monotonic()
    run_cli(bi_env, "bi", "init")
    port = free_port()
    log = screenshot_dir.parent / "superset-serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "revops.cli", "bi", "serve", "--port", str(port)],
            env=bi_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    SERVER_PIDS[url] = server.pid
    try:
        wait_for_health(url, server, log)
        print(f"superset init + start: {time.monotonic() - started:.1f}s", file=sys.stderr)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the session it leads: gunicorn's workers
            server.wait()


def log_in(page: Any, url: str, env: dict[str, str]) -> None:
    """Sign in through the login form. The form is a React page that may render again after
    it first shows (wiping what was typed), so type, let it settle, check what the fields hold
    before signing in, and try again when the sign-in did not leave the login page."""
    user, password = bi.ADMIN_USER, bi.admin_password(env)
    fields = {"[data-test=username-input]": user, "[data-test=password-input]": password}
    for attempt in range(1, 4):
        page.goto(f"{url}/login/")
        page.wait_for_selector("[data-test=login-button]")
        for _ in range(20):
            for selector, value in fields.items():
                if page.input_value(selector) != value:
                    page.fill(selector, value)
            page.wait_for_timeout(250)
            if all(page.input_value(sel) == value for sel, value in fields.items()):
                break
        page.click("[data-test=login-button]")
        try:
            page.wait_for_url(re.compile(r".*/superset/welcome/"), timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == 3:
                raise


def open_dashboard(page: Any, url: str | None) -> list[dict[str, Any]]:
    """Open the dashboard (url None: the page is on it already) and wait until every chart has
    drawn; returns the chart-data responses (status and URL) the page received."""
    responses: list[dict[str, Any]] = []
    page.on(
        "response",
        lambda r: (
            responses.append({"status": r.status, "url": r.url})
            if "/api/v1/chart/data" in r.url
            else None
        ),
    )
    if url is not None:
        page.goto(f"{url}{bi.DASHBOARD_PATH}")
    page.wait_for_function(
        """n => {
            const charts = document.querySelectorAll('[data-test="chart-grid-component"]');
            if (charts.length !== n) return false;
            return [...charts].every(c =>
                !c.querySelector('[data-test="loading-indicator"], .loading') &&
                c.querySelector('canvas, svg, table, .header-line, [role="alert"]'));
        }""",
        arg=CHARTS,
        timeout=90_000,
    )
    page.wait_for_load_state("networkidle")
    return responses


def chart_errors(page: Any) -> list[str]:
    return page.locator(
        '[data-test="chart-grid-component"] [role="alert"],'
        ' [data-test="chart-grid-component"] .ant-alert-error'
    ).all_inner_texts()


def tile(page: Any, title: str) -> Any:
    holder = page.locator('[data-test="chart-grid-component"]').filter(has_text=title)
    return holder.locator(".header-line")


def test_the_password_is_nowhere_in_plain_text(superset: str, bi_env: dict[str, str]) -> None:
    """After init: revops_bi's password is in no file of Superset's state (the metadata
    database keeps it encrypted with the secret key), no bundle directory is left, and the
    server's arguments and environment do not hold it."""
    password = bi.bi_database(bi_env).password.encode()
    assert len(password) >= 20
    state = Path(bi_env["REVOPS_BI_HOME"])
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "superset.db" for p in files)
    assert [p for p in files if password in p.read_bytes()] == []
    assert list(Path(tempfile.gettempdir()).glob("revops-bi-bundle-*")) == []
    pid = SERVER_PIDS[superset]
    for name in ("cmdline", "environ"):
        assert password not in Path(f"/proc/{pid}/{name}").read_bytes(), name
    assert b"127.0.0.1:" in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_freshness_tile_is_red_when_stale(
    browser_page: Any, superset: str, bi_env: dict[str, str]
) -> None:
    log_in(browser_page, superset, bi_env)
    open_dashboard(browser_page, superset)
    with role_connection(bi_env, "revops_bi", config.metrics_db_name(bi_env)) as conn:
        row = conn.execute(
            "SELECT lag_days - max_lag_days, is_stale FROM metrics.bi_pipeline_freshness"
            " WHERE table_name = 'run_log'"
        ).fetchone()
    assert row is not None and row[1] is True, row  # five days behind, limit 2
    number = tile(browser_page, FRESHNESS_TILE)
    assert number.inner_text() == str(row[0])
    assert number.evaluate("e => getComputedStyle(e).color") == RED


def test_dashboard_draws_with_the_seeded_numbers(
    browser_page: Any, superset: str, bi_env: dict[str, str], screenshot_dir: Path
) -> None:
    run_cli(bi_env, "run")  # the four missing days: the facts are fresh again
    log_in(browser_page, superset, bi_env)
    responses = open_dashboard(browser_page, superset)
    assert chart_errors(browser_page) == []
    failed = [r for r in responses if r["status"] != 200]
    assert failed == [], failed
    assert len(responses) >= CHARTS, responses
    with role_connection(bi_env, "revops_bi", config.metrics_db_name(bi_env)) as conn:
        (new_leads,) = conn.execute(
            "SELECT sum(new_leads) FROM metrics.daily_lead_funnel"
        ).fetchone() or (None,)
        (past_limit,) = conn.execute(
            "SELECT lag_days - max_lag_days FROM metrics.bi_pipeline_freshness"
            " WHERE table_name = 'run_log'"
        ).fetchone() or (None,)
    assert new_leads and new_leads > 1000
    assert tile(browser_page, "New leads").inner_text() == f"{new_leads:,}"
    freshness = tile(browser_page, FRESHNESS_TILE)
    assert past_limit is not None and past_limit <= 0
    assert freshness.inner_text() == str(past_limit)
    assert freshness.evaluate("e => getComputedStyle(e).color") != RED
    assert all("127.0.0.1" not in u for u in browser_page.blocked_urls)
    browser_page.screenshot(path=str(screenshot_dir / SCREENSHOT), full_page=True)


def filtered_url(url: str, filter_id: str, column: str, value: str) -> str:
    """The dashboard with one native filter set, as Superset reads it from the URL (rison)."""
    quoted = "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    state = (
        f"({filter_id}:(extraFormData:(filters:!((col:{column},op:IN,val:!({quoted})))),"
        f"filterState:(value:!({quoted})),id:{filter_id},ownState:()))"
    )
    return f"{url}{bi.DASHBOARD_PATH}?native_filters={urllib.parse.quote(state, safe='(),:!')}"


def test_rep_and_lead_source_filters_reach_their_charts(
    browser_page: Any, superset: str, bi_env: dict[str, str]
) -> None:
    with role_connection(bi_env, "revops_bi", config.metrics_db_name(bi_env)) as conn:
        rep, revenue = conn.execute(
            "SELECT rep_name, sum(revenue_won) FROM metrics.rep_daily_pipeline"
            " GROUP BY rep_name ORDER BY 2 DESC LIMIT 1"
        ).fetchone() or (None, None)
        (all_revenue,) = conn.execute(
            "SELECT sum(revenue_won) FROM metrics.rep_daily_pipeline"
        ).fetchone() or (None,)
        source, leads = conn.execute(
            "SELECT lead_source, sum(new_leads) FROM metrics.daily_lead_funnel"
            " GROUP BY lead_source ORDER BY 2 DESC LIMIT 1"
        ).fetchone() or (None, None)
        (all_leads,) = conn.execute(
            "SELECT sum(new_leads) FROM metrics.daily_lead_funnel"
        ).fetchone() or (None,)
    assert revenue and all_revenue and revenue < all_revenue
    assert leads and all_leads and leads < all_leads

    def whole(amount: Any) -> str:  # d3 ",.0f"
        return f"{Decimal(amount).quantize(Decimal(1), ROUND_HALF_UP):,}"

    log_in(browser_page, superset, bi_env)
    browser_page.goto(filtered_url(superset, "NATIVE_FILTER-rep", "rep_name", rep))
    open_dashboard(browser_page, None)
    assert chart_errors(browser_page) == []
    expect(tile(browser_page, "Revenue won")).to_have_text(whole(revenue), timeout=60_000)
    # New leads is out of the Rep filter's scope
    expect(tile(browser_page, "New leads")).to_have_text(f"{all_leads:,}", timeout=60_000)
    browser_page.goto(filtered_url(superset, "NATIVE_FILTER-lead-source", "lead_source", source))
    open_dashboard(browser_page, None)
    assert chart_errors(browser_page) == []
    expect(tile(browser_page, "New leads")).to_have_text(f"{leads:,}", timeout=60_000)
    expect(tile(browser_page, "Revenue won")).to_have_text(whole(all_revenue), timeout=60_000)


def test_init_again_updates_changed_charts(
    browser_page: Any, superset: str, bi_env: dict[str, str], tmp_path: Path
) -> None:
    changed = tmp_path / "assets"
    shutil.copytree(bi.assets_dir(), changed)
    chart_file = changed / "charts" / "rep_activity.yaml"
    chart_file.write_text(
        chart_file.read_text().replace("slice_name: Rep activity", "slice_name: Rep activity v2")
    )
    bi.init(bi_env, progress=lambda _m: None, source=changed)
    log_in(browser_page, superset, bi_env)
    query = "(filters:!((col:slice_name,opr:ct,value:'Rep activity')))"
    response = browser_page.request.get(f"{superset}/api/v1/chart/?q={query}")
    assert response.status == 200
    names = sorted(r["slice_name"] for r in json.loads(response.text())["result"])
    assert names == ["Rep activity v2"]  # the same chart (by uuid), renamed; no copy
