"""`revops report` (the daily digest) on a small hand-made CRM, read as revops_bi.

D is yesterday (business time zone UTC). Everything happens at 12:00 UTC of its day; the facts
are backfilled over D-45 .. D, so every day of the 7- and 28-day windows is computed.

Reps: ALICE "Alice Able", BOB "Bob Baker", EVIL named `<script>alert("x")</script>` (a CRM
can hold any name: it must stay text on the page).

Leads (source, created):  L1 Web D, L2 Web D, L3 Partner D (status Qualified, no history: an
SQL on D); L4 Web D-1; L5, L6 Web D-3; L7 Partner D-10; L8 Web D-40 (outside every window).
- new leads on D: 3. Previous 7 days (D-7 .. D-1): L4, L5, L6 = 3, average 3/7 = 0.43, so D is
  +600.0% (100 * (3 - 3/7) / (3/7)). Previous 28 days: those and L7 = 4, average 4/28 = 0.14,
  +2000.0%. SQLs: 1 on D, none before (no average to compare with: no change).
Opportunities (owner, source, amount, created, won on):
  O1 ALICE Web 1000 D-2, won D;  O2 BOB Web 500 D, open;  O3 EVIL Partner 300 D-5, won D-5;
  O4 BOB Web 2000 D-20, won D-20.
- revenue won on D: 1000. Previous 7 days: 300 (average 42.86, +2233.3%); previous 28 days:
  2300 (average 82.14, +1117.4%).
Activities: A1 ALICE call D; A2 BOB email D; A3 BOB meeting (Event) D-1; A4 EVIL call D-3.
Top reps over D-6 .. D (revenue won, then pipeline): 1 Alice (won 1000, pipeline 1000 from O1
on D-2, 1 activity), 2 EVIL (300, 300, 1), 3 Bob (0, 500 from O2, 2 activities; O4 is older).
Funnel over D-27 .. D: all sources 7 leads, 1 SQL, 4 opportunities (14.29%, 400%, 57.14%);
Web 5, 0, 3 (0%, none, 60%); Partner 2, 1, 1 (50%, 100%, 50%).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
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
    set_timezone,
)
from revops import config

pytestmark = pytest.mark.db

CI_DIR = Path(__file__).resolve().parents[2] / "scripts" / "ci"
ALICE = "005000000000001AAA"
BOB = "005000000000002AAA"
EVIL = "005000000000003AAA"
EVIL_NAME = '<script>alert("x")</script>'
GHOST = "005000000000099AAA"


def business_yesterday(env: dict[str, str]) -> dt.date:
    with owner_connection(env) as conn:
        row = conn.execute("SELECT metrics.business_today() - 1").fetchone()
    assert row is not None
    return row[0]


def crm(day: dt.date) -> dict[str, list[dict[str, Any]]]:
    def at(days_before: int) -> dt.datetime:
        return dt.datetime.combine(day - dt.timedelta(days_before), dt.time(12), dt.UTC)

    def on(days_before: int) -> dt.date:
        return day - dt.timedelta(days_before)

    def lead(lead_id: str, source: str, days_before: int, status: str = "Open") -> dict[str, Any]:
        return {
            "lead_id": lead_id,
            "lead_source": source,
            "status": status,
            "created_at": at(days_before),
        }

    def opp(
        opportunity_id: str, owner: str, source: str, amount: int, created: int, won: int | None
    ) -> dict[str, Any]:
        return {
            "opportunity_id": opportunity_id,
            "owner_id": owner,
            "lead_source": source,
            "amount": Decimal(amount),
            "stage_name": "Closed Won" if won is not None else "Prospecting",
            "is_won": won is not None,
            "is_closed": won is not None,
            "close_date": on(won) if won is not None else None,
            "created_at": at(created),
        }

    return {
        "reps": [
            {"rep_id": ALICE, "name": "Alice Able", "is_active": True},
            {"rep_id": BOB, "name": "Bob Baker", "is_active": True},
            {"rep_id": EVIL, "name": EVIL_NAME, "is_active": True},
        ],
        "leads": [
            lead("L1", "Web", 0),
            lead("L2", "Web", 0),
            lead("L3", "Partner", 0, status="Qualified"),
            lead("L4", "Web", 1),
            lead("L5", "Web", 3),
            lead("L6", "Web", 3),
            lead("L7", "Partner", 10),
            lead("L8", "Web", 40),
        ],
        "opportunities": [
            opp("O1", ALICE, "Web", 1000, 2, 0),
            opp("O2", BOB, "Web", 500, 0, None),
            opp("O3", EVIL, "Partner", 300, 5, 5),
            opp("O4", BOB, "Web", 2000, 20, 20),
        ],
        "activities": [
            {
                "activity_id": "A1",
                "source_object": "Task",
                "owner_id": ALICE,
                "type": "Call",
                "activity_date": on(0),
            },
            {
                "activity_id": "A2",
                "source_object": "Task",
                "owner_id": BOB,
                "type": "Email",
                "activity_date": on(0),
            },
            {"activity_id": "A3", "source_object": "Event", "owner_id": BOB, "activity_at": at(1)},
            {
                "activity_id": "A4",
                "source_object": "Task",
                "owner_id": EVIL,
                "type": "Call",
                "activity_date": on(3),
            },
        ],
    }


@pytest.fixture(scope="module")
def seeded(pg_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The CRM above, backfilled over D-45 .. D as revops_runner; yields env and D."""
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(owner)
    day = business_yesterday(pg_env)
    for table, rows in crm(day).items():
        insert_rows(etl, table, rows)
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as runner:
        row = runner.execute(
            "SELECT metrics.backfill_date_range(%s, %s)", (day - dt.timedelta(45), day)
        ).fetchone()
        assert row is not None and row[0]["status"] == "succeeded", row
        # consume the seed's captured changes: the data-quality checks start clean
        row = runner.execute("SELECT metrics.run_daily_metrics(%s)", (day,)).fetchone()
        assert row is not None and row[0]["status"] == "succeeded", row
    try:
        yield {"env": pg_env, "day": day}
    finally:
        reset_crm(etl)
        reset_metrics(owner)
        etl.close()
        owner.close()


def blob(page: str) -> Any:
    match = re.search(
        r'<script type="application/json" id="digest-data">(.*?)</script>', page, re.DOTALL
    )
    assert match, "the page has no data blob"
    return json.loads(match.group(1))


def report(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc: subprocess.CompletedProcess[str] = cli(env, "report", *args)
    return proc


def test_the_digest_of_yesterday(seeded: dict[str, Any], tmp_path: Path) -> None:
    env, day = seeded["env"], seeded["day"]
    out, summary = tmp_path / "digest.html", tmp_path / "summary.md"
    summary.write_text("## earlier step\n")
    proc = report(env, "--out", str(out), "--summary-md", str(summary))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    data = blob(page)
    assert data["day"] == day.isoformat() and data["is_default_day"] is True
    assert data["is_day_computed"] is True and data["missing"] == []

    headline = {row.pop("measure"): row for row in data["headline"]}
    assert headline["new_leads"] == {
        "day_value": 3,
        "prev_7d_total": 3, "prev_7d_days": 7, "prev_7d_avg": 0.43, "change_vs_7d_pct": 600,
        "prev_28d_total": 4, "prev_28d_days": 28, "prev_28d_avg": 0.14, "change_vs_28d_pct": 2000,
    }  # fmt: skip
    assert headline["sqls"]["day_value"] == 1
    assert headline["sqls"]["prev_7d_avg"] == 0 and headline["sqls"]["change_vs_7d_pct"] is None
    assert headline["revenue_won"] == {
        "day_value": 1000,
        "prev_7d_total": 300, "prev_7d_days": 7, "prev_7d_avg": 42.86,
        "change_vs_7d_pct": 2233.3,
        "prev_28d_total": 2300, "prev_28d_days": 28, "prev_28d_avg": 82.14,
        "change_vs_28d_pct": 1117.4,
    }  # fmt: skip
    assert headline["opportunities_created"]["day_value"] == 1  # O2
    assert headline["pipeline_amount_created"]["day_value"] == 500
    assert headline["total_activities"]["day_value"] == 2  # A1, A2
    assert headline["calls"]["day_value"] == 1 and headline["emails"]["day_value"] == 1

    top = [
        (r["rep_rank"], r["rep_id"], r["rep_name"], r["revenue_won_7d"],
         r["pipeline_amount_created_7d"], r["total_activities_7d"], r["revenue_won_day"],
         r["total_activities_day"])
        for r in data["top_reps"]
    ]  # fmt: skip
    assert top == [
        (1, ALICE, "Alice Able", 1000, 1000, 1, 1000, 1),
        (2, EVIL, EVIL_NAME, 300, 300, 1, 0, 0),
        (3, BOB, "Bob Baker", 0, 500, 2, 0, 1),
    ]
    funnel = [
        (r["lead_source"], r["new_leads"], r["sqls"], r["opportunities_created"],
         r["lead_to_sql_rate"], r["sql_to_opportunity_rate"], r["lead_to_opportunity_rate"])
        for r in data["funnel"]
    ]  # fmt: skip
    assert funnel == [
        ("All sources", 7, 1, 4, 0.1429, 4, 0.5714),
        ("Web", 5, 0, 3, 0, None, 0.6),
        ("Partner", 2, 1, 1, 0.5, 1, 0.5),
    ]
    series = data["series"]
    assert [r["metric_date"] for r in series] == [
        (day - dt.timedelta(n)).isoformat() for n in range(27, -1, -1)
    ]
    assert sum(r["new_leads"] for r in series) == 7
    assert sum(r["revenue_won"] for r in series) == 3300
    run_log = next(r for r in data["freshness"] if r["table_name"] == "run_log")
    assert (run_log["last_metric_date"], run_log["lag_days"], run_log["is_stale"]) == (
        day.isoformat(),
        0,
        False,
    )
    assert data["data_quality"] and all(c["affected_count"] == 0 for c in data["data_quality"])

    # what a person reads: the tile, the top rep, the escaped name, the clean status
    assert re.search(
        r'data-measure="new_leads"><span class="label">New leads</span>'
        r'<span class="value">3</span>',
        page,
    )
    assert '<td class="rep-name">Alice Able</td>' in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert EVIL_NAME not in page
    assert "every data-quality check is clean" in page

    text = summary.read_text()
    assert text.startswith("## earlier step\n## \u2705 RevOps daily digest: " + day.isoformat())
    assert "| New leads | 3 | 0.43 (+600.0%) | 0.14 (+2000.0%) |" in text
    assert "| Revenue won | 1,000 | 42.86 (+2233.3%) | 82.14 (+1117.4%) |" in text
    assert "1. Alice Able: 1,000, 1,000" in text
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_out_as_a_directory_and_the_default_name(seeded: dict[str, Any], tmp_path: Path) -> None:
    env, day = seeded["env"], seeded["day"]
    name = f"revops-digest-{day.isoformat()}.html"
    proc = report(env, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / name)
    assert (tmp_path / name).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    nested = tmp_path / "a" / "b" / "page.html"
    proc = report(env, "--out", str(nested), "--day", day.isoformat(), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["is_default_day"] is False
    assert blob(nested.read_text(encoding="utf-8"))["day"] == day.isoformat()


def test_a_day_nobody_computed_is_named_and_exits_3(seeded: dict[str, Any], tmp_path: Path) -> None:
    env, day = seeded["env"], seeded["day"]
    old = (day - dt.timedelta(60)).isoformat()
    proc = report(env, "--day", old, "--out", str(tmp_path / "old.html"))
    assert proc.returncode == 3, proc.stderr
    assert f"{old} has not been computed" in proc.stderr
    assert f"run `revops run --date {old}`" in proc.stderr
    page = (tmp_path / "old.html").read_text(encoding="utf-8")
    assert f"Missing: {old} has not been computed" in page
    assert blob(page)["is_day_computed"] is False


def test_a_day_not_over_is_refused(seeded: dict[str, Any], tmp_path: Path) -> None:
    env, day = seeded["env"], seeded["day"]
    today = (day + dt.timedelta(1)).isoformat()
    proc = report(env, "--day", today, "--out", str(tmp_path / "today.html"))
    assert proc.returncode == 2
    assert f"{today} is not over yet in the business time zone" in proc.stderr
    assert not (tmp_path / "today.html").exists()


def test_data_quality_findings_are_on_the_page(seeded: dict[str, Any], tmp_path: Path) -> None:
    """An unknown owner with a NULL amount long ago: the numbers of D do not change, the page
    is written (exit 0) and lists both findings."""
    env, day = seeded["env"], seeded["day"]
    with role_connection(env, "revops_etl", config.source_db_name(env)) as etl:
        insert_rows(
            etl,
            "opportunities",
            [
                {
                    "opportunity_id": "O_GHOST",
                    "owner_id": GHOST,
                    "amount": None,
                    "stage_name": "Prospecting",
                    "created_at": dt.datetime.combine(day - dt.timedelta(100), dt.time(12), dt.UTC),
                }
            ],
        )
        try:
            proc = report(env, "--out", str(tmp_path / "dq.html"))
        finally:
            etl.execute("DELETE FROM crm.opportunities WHERE opportunity_id = 'O_GHOST'")
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "dq.html").read_text(encoding="utf-8")
    findings = {c["check_name"]: c for c in blob(page)["data_quality"] if c["affected_count"]}
    assert findings["unknown_owner"]["affected_count"] == 1
    assert findings["null_opportunity_amount"]["sample_ids"] == ["O_GHOST"]
    assert "Data quality: " in page and "null_opportunity_amount (1)" in page
    assert blob(page)["headline"][0]["day_value"] == 3  # the day's numbers are the same


def test_the_runner_role_is_sent_to_the_bi_read_path(seeded: dict[str, Any]) -> None:
    env = seeded["env"]
    target = config.role_target("revops_runner", env)
    if target.kind != "embedded":
        pytest.skip("needs the embedded test server (known host, port and password)")
    as_runner = {
        **env,
        "PGHOST": target.params["host"],
        "PGPORT": target.params["port"],
        "PGUSER": "revops_runner",
        "PGPASSWORD": target.params["password"],
    }
    proc = report(as_runner, "--out", "/nonexistent-dir/never.html")
    assert proc.returncode == 2, proc.stderr
    assert "revops report reads through the BI read path, as revops_bi" in proc.stderr
    assert target.params["password"] not in proc.stdout + proc.stderr


def test_the_workflow_step(seeded: dict[str, Any], tmp_path: Path) -> None:
    """scripts/ci/digest.sh as the direct-mode job runs it (without PG_HOST: the test server)."""
    env, day = seeded["env"], seeded["day"]
    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    gh = {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "REVOPS_PYTHON": sys.executable,
        "DIGEST_DIR": str(tmp_path / "digest"),
    }

    def script(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(CI_DIR / "digest.sh")],
            env={**gh, **extra},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    proc = script()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = tmp_path / "digest" / f"revops-digest-{day.isoformat()}.html"
    assert blob(page.read_text(encoding="utf-8"))["day"] == day.isoformat()
    assert f"RevOps daily digest: {day.isoformat()}" in summary.read_text()

    # in the workflow (PG_HOST set) without the BI password: a warning, no page, not a failure
    proc = script(PG_HOST="db.example.invalid", DIGEST_DIR=str(tmp_path / "none"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no daily digest: add the secret PG_BI_PASSWORD" in proc.stderr
    assert not (tmp_path / "none").exists()


def test_the_default_day_is_yesterday_in_the_business_time_zone(
    seeded: dict[str, Any], tmp_path: Path
) -> None:
    """Under a zone whose date differs from UTC's right now, the default day follows the zone."""
    env, day = seeded["env"], seeded["day"]
    hour = dt.datetime.now(dt.UTC).hour
    zone = "Pacific/Kiritimati" if hour >= 11 else "Pacific/Pago_Pago"  # UTC+14 / UTC-11
    set_timezone(env, zone)
    try:
        expected = business_yesterday(env)
        proc = report(env, "--out", str(tmp_path), "--json")
    finally:
        set_timezone(env, "UTC")
    assert expected != day, "pick a zone whose date differs from UTC's now"
    got = json.loads(proc.stdout)
    assert got["day"] == expected.isoformat() and got["yesterday"] == expected.isoformat()
    # the day after D was never computed (exit 3); the day before D was (exit 0)
    assert proc.returncode == (3 if expected > day else 0), proc.stderr


def test_no_facts_at_all(seeded: dict[str, Any], tmp_path: Path) -> None:
    """Last in this module: it empties the facts."""
    env = seeded["env"]
    with owner_connection(env) as owner:
        reset_metrics(owner)
    proc = report(env, "--out", str(tmp_path / "empty.html"))
    assert proc.returncode == 3, proc.stderr
    assert "no metric day has been computed yet" in proc.stderr
    page = (tmp_path / "empty.html").read_text(encoding="utf-8")
    data = blob(page)
    assert data["headline"] == [] and data["top_reps"] == [] and data["series"] == []
    assert "Metrics are STALE" in page
