"""Exact values for the dimensions (dim_date, dim_rep) and the BI views (bi_*), read as revops_bi.

Business time zone UTC; the facts are backfilled over 2025-01-01 .. 2025-04-30 as revops_runner
and read back as revops_bi, which proves the grants (BI reads the facts, the dimensions and the
bi_* views, never crm_remote or run_log). Every expected number has its reasoning beside it.

Reps (crm.reps, with the User record's raw JSON as exports spell it):
- ALICE: active, manager MIA; raw REST-style {"UserRole": {"Name": "AE West"}, "Department",
  "Title", "Team__c"}.
- BOB: inactive, manager GHOST_MANAGER (not in crm.reps -> manager_name 'Unknown'); raw
  bulk-style {"UserRole.Name": "SDR", "department": "  " (blank -> NULL), "TITLE", "Division": 7}.
- DEE: a deleted User who still owns an activity; MIA: owns nothing.
- GHOST owns a deal but is not in crm.reps ('Unknown'); QUEUE (00G...) is the '-1' bucket.

Leads (created, source, SQL day):
- L1 Web 01-10, status Qualified, no history: SQL on 01-10.
- L2 Web 01-20 Open; L3 Web 02-03 Open; L5 Partner 03-20 Open.
- L4 Partner 02-14, converted 03-05 into O2: SQL on 03-05.
Opportunities (owner, source, amount, created, won on):
- O1 ALICE Web 1000 01-15, won 02-10;  O2 ALICE (L4 -> Partner) 500 03-05, won 03-25;
- O3 BOB Web 300 02-20, open;  O4 GHOST Partner 200 04-02, won 04-02;
- O5 QUEUE Web NULL amount 01-15, open.
Activities: A1 ALICE call 01-15; A2 ALICE email 01-16; A3 ALICE meeting (Event) 02-11;
A4 ALICE other task 02-11; A5 BOB call 03-03; A6 DEE call 01-31; A7 QUEUE email 04-01.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from pgtest import (
    insert_rows,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
    set_setting,
)
from revops import config

pytestmark = pytest.mark.db

ALICE = "005000000000001AAA"
BOB = "005000000000002AAA"
DEE = "005000000000003AAA"
MIA = "005000000000009AAA"
GHOST = "005000000000099AAA"
GHOST_MANAGER = "005000000000098AAA"
QUEUE = "00G000000000001AAA"

FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 4, 30)
JAN, FEB, MAR, APR = (dt.date(2025, m, 1) for m in (1, 2, 3, 4))


def utc(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2025-{day} 15:00").replace(tzinfo=dt.UTC)


def d(day: str) -> dt.date:
    return dt.date.fromisoformat(f"2025-{day}")


REPS = [
    {
        "rep_id": ALICE,
        "name": "Alice Able",
        "email": "alice@example.com",
        "is_active": True,
        "manager_id": MIA,
        "raw": Jsonb(
            {
                "attributes": {"type": "User"},
                "UserRole": {"attributes": {"type": "UserRole"}, "Name": "AE West"},
                "Department": "Sales",
                "Title": "Account Executive",
                "Team__c": "West",
            }
        ),
    },
    {
        "rep_id": BOB,
        "name": "Bob Baker",
        "is_active": False,
        "manager_id": GHOST_MANAGER,
        "raw": Jsonb(
            {
                "UserRole.Name": "SDR",
                "department": "  ",
                "TITLE": "Sales Development",
                "Division": 7,
            }
        ),
    },
    {"rep_id": DEE, "name": "Dee Deleted", "is_active": False, "is_deleted": True},
    {"rep_id": MIA, "name": "Mia Manager", "email": "mia@example.com", "is_active": True},
]
LEADS = [
    {"lead_id": "L1", "lead_source": "Web", "status": "Qualified", "created_at": utc("01-10")},
    {"lead_id": "L2", "lead_source": "Web", "status": "Open", "created_at": utc("01-20")},
    {"lead_id": "L3", "lead_source": "Web", "status": "Open", "created_at": utc("02-03")},
    {
        "lead_id": "L4",
        "lead_source": "Partner",
        "status": "Closed - Converted",
        "created_at": utc("02-14"),
        "is_converted": True,
        "converted_date": d("03-05"),
        "converted_opportunity_id": "O2",
    },
    {"lead_id": "L5", "lead_source": "Partner", "status": "Open", "created_at": utc("03-20")},
]


def opportunity(
    opportunity_id: str,
    owner: str,
    source: str | None,
    amount: int | None,
    created: str,
    won_on: str | None,
) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity_id,
        "owner_id": owner,
        "lead_source": source,
        "amount": None if amount is None else Decimal(amount),
        "stage_name": "Closed Won" if won_on else "Prospecting",
        "is_won": won_on is not None,
        "close_date": d(won_on) if won_on else None,
        "created_at": utc(created),
    }


OPPORTUNITIES = [
    opportunity("O1", ALICE, "Web", 1000, "01-15", "02-10"),
    opportunity("O2", ALICE, None, 500, "03-05", "03-25"),
    opportunity("O3", BOB, "Web", 300, "02-20", None),
    opportunity("O4", GHOST, "Partner", 200, "04-02", "04-02"),
    opportunity("O5", QUEUE, "Web", None, "01-15", None),
]


def activity(activity_id: str, kind: str, owner: str, day: str, **kw: Any) -> dict[str, Any]:
    """A Task on its activity date, or an Event (kind 'Event') starting that day at 15:00Z."""
    if kind == "Event":
        when: dict[str, Any] = {"activity_at": utc(day)}
    else:
        when = {"activity_date": d(day)}
    return {"activity_id": activity_id, "source_object": kind, "owner_id": owner, **when, **kw}


ACTIVITIES = [
    activity("A1", "Task", ALICE, "01-15", type="Call"),
    activity("A2", "Task", ALICE, "01-16", type="Email"),
    activity("A3", "Event", ALICE, "02-11"),
    activity("A4", "Task", ALICE, "02-11", type="Other"),
    activity("A5", "Task", BOB, "03-03", type="Call"),
    activity("A6", "Task", DEE, "01-31", type="Call"),
    activity("A7", "Task", QUEUE, "04-01", task_subtype="Email"),
]


@pytest.fixture(scope="module")
def seeded(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The CRM above, backfilled over FIRST..LAST as revops_runner."""
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(owner)
    insert_rows(etl, "reps", REPS)
    insert_rows(etl, "leads", LEADS)
    insert_rows(etl, "opportunities", OPPORTUNITIES)
    insert_rows(etl, "activities", ACTIVITIES)
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as runner:
        row = runner.execute("SELECT metrics.backfill_date_range(%s, %s)", (FIRST, LAST)).fetchone()
        assert row is not None and row[0]["status"] == "succeeded", row
        # the seed's captured changes are consumed, so later runs see only the tests' own
        row = runner.execute("SELECT metrics.run_daily_metrics(%s)", (LAST,)).fetchone()
        assert row is not None and row[0]["status"] == "succeeded", row
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(owner)
        set_setting(owner, "fiscal_year_start_month", 1)
        etl.close()
        owner.close()


@pytest.fixture
def bi(seeded: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    with role_connection(seeded, "revops_bi", config.metrics_db_name(seeded)) as conn:
        yield conn


def rows(conn: psycopg.Connection[Any], query: str, *params: object) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(query, params).fetchall()]


def business_today(conn: psycopg.Connection[Any]) -> dt.date:
    row = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()
    assert row is not None
    return dt.date.fromisoformat(str(row[0]))


# -- dim_date -------------------------------------------------------------------------------
DIM_DATE_COLUMNS = (
    "metric_date, iso_year, iso_week, iso_week_start_date, iso_year_week, iso_day_of_week,"
    " day_name, is_weekend, day_of_month, month_of_year, month_name, month_start_date,"
    " year_month, calendar_quarter, quarter_start_date, year_quarter, calendar_year,"
    " fiscal_year, fiscal_quarter, fiscal_year_start_date, fiscal_quarter_start_date,"
    " fiscal_year_quarter"
)


def test_dim_date_calendar_columns(bi: psycopg.Connection[Any]) -> None:
    got = rows(
        bi,
        "SELECT " + DIM_DATE_COLUMNS + " FROM metrics.dim_date WHERE metric_date = ANY(%s)"
        " ORDER BY metric_date",
        [d("01-01"), d("03-09"), d("12-29"), dt.date(2027, 1, 1)],
    )
    assert got == [
        # a Wednesday in ISO week 1 of 2025 (the week of Monday 2024-12-30)
        (d("01-01"), 2025, 1, dt.date(2024, 12, 30), "2025-W01", 3, "Wednesday", False,
         1, 1, "January", d("01-01"), "2025-01", 1, d("01-01"), "2025-Q1", 2025,
         2025, 1, d("01-01"), d("01-01"), "FY2025-Q1"),
        # a Sunday: weekend, ISO day 7, week 10
        (d("03-09"), 2025, 10, d("03-03"), "2025-W10", 7, "Sunday", True,
         9, 3, "March", d("03-01"), "2025-03", 1, d("01-01"), "2025-Q1", 2025,
         2025, 1, d("01-01"), d("01-01"), "FY2025-Q1"),
        # Monday 2025-12-29 is in ISO week 1 of 2026
        (d("12-29"), 2026, 1, d("12-29"), "2026-W01", 1, "Monday", False,
         29, 12, "December", d("12-01"), "2025-12", 4, d("10-01"), "2025-Q4", 2025,
         2025, 4, d("01-01"), d("10-01"), "FY2025-Q4"),
        # Friday 2027-01-01 is in ISO week 53 of 2026 (a year ahead of today is in the spine)
        (dt.date(2027, 1, 1), 2026, 53, dt.date(2026, 12, 28), "2026-W53", 5, "Friday", False,
         1, 1, "January", dt.date(2027, 1, 1), "2027-01", 1, dt.date(2027, 1, 1), "2027-Q1",
         2027, 2027, 1, dt.date(2027, 1, 1), dt.date(2027, 1, 1), "FY2027-Q1"),
    ]  # fmt: skip


def test_dim_date_is_a_spine_over_the_facts_and_a_year_ahead(bi: psycopg.Connection[Any]) -> None:
    today = business_today(bi)
    row = bi.execute(
        "SELECT min(metric_date), max(metric_date), count(*), count(DISTINCT metric_date)"
        " FROM metrics.dim_date"
    ).fetchone()
    assert row is not None
    first, last, count, distinct = row
    # from the first computed day to a year after today, every day once
    assert first == FIRST
    assert last == today.replace(year=today.year + 1)
    assert count == distinct == (last - first).days + 1


def test_dim_date_relative_labels(bi: psycopg.Connection[Any]) -> None:
    today = business_today(bi)
    yesterday = today - dt.timedelta(days=1)
    got = {
        r[0]: r[1:]
        for r in rows(
            bi,
            "SELECT metric_date, days_ago, is_complete, is_yesterday, is_month_to_date,"
            " is_quarter_to_date, is_fiscal_quarter_to_date, is_fiscal_year_to_date"
            " FROM metrics.dim_date",
        )
    }
    assert got[today][:3] == (0, False, False)
    assert got[yesterday][:3] == (1, True, True)
    assert [day for day, r in got.items() if r[2]] == [yesterday]
    month_start = yesterday.replace(day=1)
    quarter_start = yesterday.replace(month=(yesterday.month - 1) // 3 * 3 + 1, day=1)
    year_start = yesterday.replace(month=1, day=1)

    def labelled(index: int) -> list[dt.date]:
        return sorted(day for day, r in got.items() if r[index])

    def days(start: dt.date) -> list[dt.date]:
        return [start + dt.timedelta(n) for n in range((yesterday - start).days + 1)]

    assert labelled(3) == days(month_start)
    assert labelled(4) == days(quarter_start)
    # fiscal year starting in January: fiscal quarter and year are the calendar ones
    assert labelled(5) == days(quarter_start)
    assert labelled(6) == days(year_start)


def test_dim_date_follows_the_fiscal_setting_at_once(
    seeded: dict[str, str], bi: psycopg.Connection[Any]
) -> None:
    query = (
        "SELECT metric_date, fiscal_year, fiscal_quarter, fiscal_year_start_date,"
        " fiscal_quarter_start_date, fiscal_year_quarter FROM metrics.dim_date"
        " WHERE metric_date = ANY(%s) ORDER BY 1"
    )
    with owner_connection(seeded) as owner:
        try:
            # fiscal year from February, named by the year it ends in
            set_setting(owner, "fiscal_year_start_month", 2)
            assert rows(bi, query, [d("01-31"), d("02-01"), d("04-30")]) == [
                (d("01-31"), 2025, 4, dt.date(2024, 2, 1), dt.date(2024, 11, 1), "FY2025-Q4"),
                (d("02-01"), 2026, 1, d("02-01"), d("02-01"), "FY2026-Q1"),
                (d("04-30"), 2026, 1, d("02-01"), d("02-01"), "FY2026-Q1"),
            ]
            set_setting(owner, "fiscal_year_start_month", 10)
            assert rows(bi, query, [d("09-30"), d("10-01"), d("12-31")]) == [
                (d("09-30"), 2025, 4, dt.date(2024, 10, 1), d("07-01"), "FY2025-Q4"),
                (d("10-01"), 2026, 1, d("10-01"), d("10-01"), "FY2026-Q1"),
                (d("12-31"), 2026, 1, d("10-01"), d("10-01"), "FY2026-Q1"),
            ]
            # a month number or nothing: the setting refuses anything else
            for bad in (0, 13, 2.5, "2"):
                with pytest.raises(psycopg.errors.CheckViolation):
                    set_setting(owner, "fiscal_year_start_month", bad)
        finally:
            set_setting(owner, "fiscal_year_start_month", 1)


# -- dim_rep --------------------------------------------------------------------------------
DIM_REP_QUERY = (
    "SELECT rep_id, rep_name, rep_kind, email, is_active, is_deleted, manager_id, manager_name,"
    " role_name, team_name, department, title, division, first_metric_date, last_metric_date"
    " FROM metrics.dim_rep ORDER BY rep_id"
)


def test_dim_rep(bi: psycopg.Connection[Any]) -> None:
    assert rows(bi, DIM_REP_QUERY) == [
        # the queue bucket: O5 created 01-15 (pipeline), A7 on 04-01 (activity)
        ("-1", "Unassigned", "unassigned", None, None, None, None, None,
         None, None, None, None, None, d("01-15"), d("04-01")),
        # REST-style raw: UserRole nested; first day O1 + A1 01-15, last O2 won 03-25
        (ALICE, "Alice Able", "user", "alice@example.com", True, False, MIA, "Mia Manager",
         "AE West", "West", "Sales", "Account Executive", None, d("01-15"), d("03-25")),
        # bulk-style keys in any case; blank department is NULL; a number reads as text;
        # the manager is not in crm.reps: 'Unknown'; O3 02-20 .. A5 03-03
        (BOB, "Bob Baker", "user", None, False, False, GHOST_MANAGER, "Unknown",
         "SDR", None, None, "Sales Development", "7", d("02-20"), d("03-03")),
        # deleted Users still name the work they owned (A6 01-31)
        (DEE, "Dee Deleted", "user", None, False, True, None, None,
         None, None, None, None, None, d("01-31"), d("01-31")),
        # a User with no facts: no first or last day
        (MIA, "Mia Manager", "user", "mia@example.com", True, False, None, None,
         None, None, None, None, None, None, None),
        # an owner missing from crm.reps (O4 on 04-02)
        (GHOST, "Unknown", "unknown", None, None, None, None, None,
         None, None, None, None, None, d("04-02"), d("04-02")),
    ]  # fmt: skip


def test_dim_rep_names_match_the_facts(bi: psycopg.Connection[Any]) -> None:
    mismatched = rows(
        bi,
        "SELECT f.rep_id, f.rep_name, r.rep_name FROM ("
        " SELECT rep_id, rep_name FROM metrics.rep_daily_activity"
        " UNION SELECT rep_id, rep_name FROM metrics.rep_daily_pipeline) AS f"
        " LEFT JOIN metrics.dim_rep AS r USING (rep_id)"
        " WHERE r.rep_name IS DISTINCT FROM f.rep_name",
    )
    assert mismatched == []


# -- BI views -------------------------------------------------------------------------------
def test_bi_funnel_conversion(bi: psycopg.Connection[Any]) -> None:
    got = rows(
        bi,
        "SELECT month_start_date, year_month, fiscal_year_quarter, is_month_to_date, lead_source,"
        " new_leads, sqls, opportunities_created, total_leads_to_date, lead_to_sql_rate,"
        " sql_to_opportunity_rate, lead_to_opportunity_rate"
        " FROM metrics.bi_funnel_conversion ORDER BY 1, lead_source",
    )
    r = Decimal
    assert got == [
        # Jan Web: L1, L2 new; L1 an SQL; O1 and O5 created -> 1/2, 2/1, 2/2.
        # No Partner row: its first lead is from Feb 14
        (JAN, "2025-01", "FY2025-Q1", False, "Web", 2, 1, 2, 2,
         r("0.5000"), r("2.0000"), r("1.0000")),
        # Feb: Partner L4 new; Web L3 new and O3 -> no SQL, so no SQL-to-opportunity rate
        (FEB, "2025-02", "FY2025-Q1", False, "Partner", 1, 0, 0, 1, r("0.0000"), None, r("0.0000")),
        (FEB, "2025-02", "FY2025-Q1", False, "Web", 1, 0, 1, 3, r("0.0000"), None, r("1.0000")),
        # Mar: Partner L5 new, L4 an SQL (converted 03-05), O2 through L4's source
        (MAR, "2025-03", "FY2025-Q1", False, "Partner", 1, 1, 1, 2,
         r("1.0000"), r("1.0000"), r("1.0000")),
        (MAR, "2025-03", "FY2025-Q1", False, "Web", 0, 0, 0, 3, None, None, None),
        # Apr (fiscal Q2): only O4 (Partner)
        (APR, "2025-04", "FY2025-Q2", False, "Partner", 0, 0, 1, 2, None, None, None),
        (APR, "2025-04", "FY2025-Q2", False, "Web", 0, 0, 0, 3, None, None, None),
    ]  # fmt: skip


SCORECARD_QUERY = (
    "SELECT period_label, period_start_date, period_end_date, rep_id, rep_name, calls, emails,"
    " meetings, other_activities, total_activities, opportunities_created,"
    " pipeline_amount_created, closed_won_opportunities, revenue_won, avg_won_deal_size"
    " FROM metrics.bi_rep_scorecard WHERE period_type = %s ORDER BY period_start_date, rep_id"
)


def test_bi_rep_scorecard_by_month(bi: psycopg.Connection[Any]) -> None:
    n = Decimal
    assert rows(bi, SCORECARD_QUERY, "month") == [
        # Jan: O5 (queue, NULL amount: 0); Alice A1 call, A2 email, O1 1000; Dee A6 call
        ("2025-01", JAN, d("01-31"), "-1", "Unassigned", 0, 0, 0, 0, 0, 1, n(0), 0, n(0), None),
        ("2025-01", JAN, d("01-31"), ALICE, "Alice Able", 1, 1, 0, 0, 2, 1, n(1000), 0, n(0), None),
        ("2025-01", JAN, d("01-31"), DEE, "Dee Deleted", 1, 0, 0, 0, 1, 0, n(0), 0, n(0), None),
        # Feb: Alice A3 meeting + A4 (no kind: other), O1 won 1000; Bob O3 300 created
        ("2025-02", FEB, d("02-28"), ALICE, "Alice Able", 0, 0, 1, 1, 2, 0, n(0), 1, n(1000),
         n("1000.00")),
        ("2025-02", FEB, d("02-28"), BOB, "Bob Baker", 0, 0, 0, 0, 0, 1, n(300), 0, n(0), None),
        # Mar: Alice O2 created and won 500; Bob A5 call
        ("2025-03", MAR, d("03-31"), ALICE, "Alice Able", 0, 0, 0, 0, 0, 1, n(500), 1, n(500),
         n("500.00")),
        ("2025-03", MAR, d("03-31"), BOB, "Bob Baker", 1, 0, 0, 0, 1, 0, n(0), 0, n(0), None),
        # Apr: A7 queue email; GHOST O4 created and won 200
        ("2025-04", APR, d("04-30"), "-1", "Unassigned", 0, 1, 0, 0, 1, 0, n(0), 0, n(0), None),
        ("2025-04", APR, d("04-30"), GHOST, "Unknown", 0, 0, 0, 0, 0, 1, n(200), 1, n(200),
         n("200.00")),
    ]  # fmt: skip


def test_bi_rep_scorecard_by_fiscal_quarter(
    seeded: dict[str, str], bi: psycopg.Connection[Any]
) -> None:
    n = Decimal
    assert rows(bi, SCORECARD_QUERY, "fiscal_quarter") == [
        # Q1 = Jan..Mar: Alice 2 wins for 1500 -> average 750 (not the average of her months)
        ("FY2025-Q1", JAN, d("03-31"), "-1", "Unassigned", 0, 0, 0, 0, 0, 1, n(0), 0, n(0), None),
        ("FY2025-Q1", JAN, d("03-31"), ALICE, "Alice Able", 1, 1, 1, 1, 4, 2, n(1500), 2,
         n(1500), n("750.00")),
        ("FY2025-Q1", JAN, d("03-31"), BOB, "Bob Baker", 1, 0, 0, 0, 1, 1, n(300), 0, n(0), None),
        ("FY2025-Q1", JAN, d("03-31"), DEE, "Dee Deleted", 1, 0, 0, 0, 1, 0, n(0), 0, n(0), None),
        ("FY2025-Q2", APR, d("06-30"), "-1", "Unassigned", 0, 1, 0, 0, 1, 0, n(0), 0, n(0), None),
        ("FY2025-Q2", APR, d("06-30"), GHOST, "Unknown", 0, 0, 0, 0, 0, 1, n(200), 1, n(200),
         n("200.00")),
    ]  # fmt: skip
    # a fiscal year from February: January is the last quarter of FY2025, Feb..Apr the first
    # of FY2026; the view follows the setting without a run
    with owner_connection(seeded) as owner:
        try:
            set_setting(owner, "fiscal_year_start_month", 2)
            got = [
                r[:5] + r[10:] for r in rows(bi, SCORECARD_QUERY, "fiscal_quarter") if r[3] == ALICE
            ]
        finally:
            set_setting(owner, "fiscal_year_start_month", 1)
    assert got == [
        ("FY2025-Q4", dt.date(2024, 11, 1), d("01-31"), ALICE, "Alice Able", 1, n(1000), 0,
         n(0), None),
        ("FY2026-Q1", FEB, d("04-30"), ALICE, "Alice Able", 1, n(500), 2, n(1500),
         n("750.00")),
    ]  # fmt: skip


def test_bi_daily_totals(bi: psycopg.Connection[Any]) -> None:
    columns = (
        "metric_date, is_computed, new_leads, sqls, opportunities_created, total_leads_to_date,"
        " calls, emails, meetings, total_activities, pipeline_amount_created,"
        " closed_won_opportunities, revenue_won, new_leads_7d, new_leads_28d, sqls_7d, sqls_28d,"
        " opportunities_created_7d, opportunities_created_28d, total_activities_7d,"
        " total_activities_28d, pipeline_amount_created_7d, pipeline_amount_created_28d,"
        " closed_won_opportunities_7d, closed_won_opportunities_28d, revenue_won_7d,"
        " revenue_won_28d"
    )
    n = Decimal
    got = rows(
        bi,
        "SELECT " + columns + " FROM metrics.bi_daily_totals WHERE metric_date = ANY(%s)"
        " ORDER BY 1",
        [d("01-15"), d("02-11")],
    )
    assert got == [
        # Jan 15: O1 (1000) and O5 (no amount) created, A1 call; L1 (Jan 10) is the one lead so
        # far. 7 days (Jan 9..15): L1 new and SQL. 28 days: only Jan 1..15 exist -> the same
        (d("01-15"), True, 0, 0, 2, 1, 1, 0, 0, 1, n(1000), 0, n(0),
         1, 1, 1, 1, 2, 2, 1, 1, n(1000), n(1000), 0, 0, n(0), n(0)),
        # Feb 11: A3 meeting + A4; leads to date L1, L2, L3. 7 days (Feb 5..11): O1 won Feb 10.
        # 28 days (Jan 15..Feb 11): L2, L3 new (L1's SQL on Jan 10 is out), O1 + O5,
        # A1, A2, A6, A3, A4
        (d("02-11"), True, 0, 0, 0, 3, 0, 0, 1, 2, n(0), 0, n(0),
         0, 2, 0, 0, 0, 2, 2, 5, n(0), n(1000), 1, 1, n(1000), n(1000)),
    ]  # fmt: skip
    row = bi.execute(
        "SELECT min(metric_date), max(metric_date), count(*), bool_and(is_computed),"
        " sum(new_leads), sum(sqls), sum(opportunities_created), sum(revenue_won)"
        " FROM metrics.bi_daily_totals"
    ).fetchone()
    # every computed day once, and the totals reconcile: 5 leads, 2 SQLs, 5 deals, 1700 won
    assert row == (FIRST, LAST, 120, True, 5, 2, 5, Decimal(1700))


def test_bi_pipeline_freshness(bi: psycopg.Connection[Any]) -> None:
    yesterday = business_today(bi) - dt.timedelta(days=1)
    cursor = bi.execute(
        "SELECT table_name, last_metric_date, lag_days, max_lag_days, is_stale, last_run_status"
        " FROM metrics.bi_pipeline_freshness ORDER BY table_name"
    )
    lag = (yesterday - LAST).days
    assert [tuple(r) for r in cursor.fetchall()] == [
        ("daily_lead_funnel", LAST, lag, 2, True, "succeeded"),
        ("lead_stage_snapshot", LAST, lag, 2, True, "succeeded"),
        # the newest pipeline row is O4's day, 04-02; activity's A7 04-01
        ("rep_daily_activity", d("04-01"), (yesterday - d("04-01")).days, 2, True, "succeeded"),
        ("rep_daily_pipeline", d("04-02"), (yesterday - d("04-02")).days, 2, True, "succeeded"),
        ("run_log", LAST, lag, 2, True, "succeeded"),
    ]
    names = {c.name for c in bi.execute("SELECT * FROM metrics.bi_pipeline_freshness").description}
    assert names == {
        "table_name",
        "last_metric_date",
        "last_computed_at",
        "lag_days",
        "max_lag_days",
        "is_stale",
        "last_run_status",
        "last_run_at",
    }


# -- what BI may read -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schema", "relation"),
    [
        ("crm_remote", "reps"),
        ("metrics", "run_log"),
        ("metrics", "computed_days"),
        ("metrics", "settings"),
    ],
)
def test_bi_reads_no_internals(bi: psycopg.Connection[Any], schema: str, relation: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bi.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(schema, relation)))


def test_bi_cannot_refresh_the_dimension(bi: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bi.execute("SELECT metrics.refresh_dim_rep()")


# -- dimension changes are changes ----------------------------------------------------------
def test_user_changes_reach_dim_rep_on_the_next_run(seeded: dict[str, str]) -> None:
    """A rename (captured) and a new email and department (not in the change log) both reach
    dim_rep and the scorecard on the next ordinary run; until then verify names the row."""
    runner = role_connection(seeded, "revops_runner", config.metrics_db_name(seeded))
    bi = role_connection(seeded, "revops_bi", config.metrics_db_name(seeded))
    with role_connection(seeded, "revops_etl", config.source_db_name(seeded)) as etl:
        etl.execute(
            "UPDATE crm.reps SET email = 'bob@example.com', raw = raw || %s WHERE rep_id = %s",
            (Jsonb({"department": "Inside Sales"}), BOB),
        )
    with runner:
        row = runner.execute("SELECT metrics.verify_range(%s, %s)", (FIRST, LAST)).fetchone()
        assert row is not None
        assert row[0]["by_table"] == {"dim_rep": 1}, row[0]
        with role_connection(seeded, "revops_etl", config.source_db_name(seeded)) as etl:
            etl.execute("UPDATE crm.reps SET name = 'Alice Archer' WHERE rep_id = %s", (ALICE,))
        row = runner.execute("SELECT metrics.run_daily_metrics(%s)", (LAST,)).fetchone()
        assert row is not None and row[0]["status"] == "succeeded", row
        row = runner.execute("SELECT metrics.verify_range(%s, %s)", (FIRST, LAST)).fetchone()
        assert row is not None and row[0]["differing"] == 0, row[0]
    with bi:
        assert rows(
            bi,
            "SELECT rep_id, rep_name, email, department FROM metrics.dim_rep"
            " WHERE rep_id = ANY(%s) ORDER BY 1",
            [ALICE, BOB, MIA],
        ) == [
            (ALICE, "Alice Archer", "alice@example.com", "Sales"),
            (BOB, "Bob Baker", "bob@example.com", "Inside Sales"),
            (MIA, "Mia Manager", "mia@example.com", None),
        ]
        # every period names her by her new name
        assert rows(
            bi,
            "SELECT DISTINCT rep_name FROM metrics.bi_rep_scorecard WHERE rep_id = %s",
            ALICE,
        ) == [("Alice Archer",)]
