"""Shared fixtures of the browser suite (``invoke test-bi`` runs ``pytest tests/browser``;
``invoke test`` does not collect this directory). Any browser test here may use them.

- ``chromium`` (session): a Playwright ``Browser`` on Debian's chromium at ``/usr/bin/chromium``
  (``REVOPS_CHROMIUM`` overrides the path), headless, no sandbox, no GPU, no background
  networking, component updates or sync. Playwright never downloads a browser; a missing
  binary fails the test with the install command.
- ``browser_page``: a Playwright ``Page`` in a fresh context with ``bypass_csp=True`` (so
  ``page.wait_for_function`` can evaluate scripts on pages with a strict Content-Security-
  Policy, as Superset's) and a 1600x1000 viewport. ``page.route`` aborts every http(s)/ws
  request to a host other than 127.0.0.1, localhost or ::1 (Superset's page asks for an external tracking image;
  tests never reach the internet); the aborted URLs are in ``page.blocked_urls`` (a list set
  on the page object). Console errors are kept in ``page.console_errors``. The context is
  closed after the test.
- ``screenshot_dir``: ``build/screenshots/`` at the repository root (created; gitignored; CI
  keeps it as an artifact). A test that fails with ``browser_page`` leaves
  ``FAILED-<test name>.png`` there, the page as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("REVOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CALL_FAILED = pytest.StashKey[bool]()  # the test's own call failed (not setup or teardown)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: apt-get install chromium (or set REVOPS_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed


@pytest.fixture
def browser_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.blocked_urls = []
    page.console_errors = []

    def elsewhere(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname not in LOOPBACK

    def block(route: Any) -> None:
        page.blocked_urls.append(route.request.url)
        route.abort()

    # Only requests to other hosts are intercepted: loopback traffic goes straight through
    # (intercepting it too drops the session cookie a login's redirect sets).
    page.route(elsewhere, block)
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    try:
        yield page
        if request.node.stash.get(CALL_FAILED, False):
            name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in request.node.name)
            shots = ROOT / "build" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"FAILED-{name}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = ROOT / "build" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
