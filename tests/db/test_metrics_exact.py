"""Exact values for every fact table on a small hand-made data set.

Business time zone: America/New_York. 2025-03-09 is the spring-forward day (23 hours: local
midnight is 05:00Z before it and 04:00Z after it); 2025-11-02 is the fall-back day (25 hours).
Every expected number has its reasoning next to it; "Mar 8" etc. are local calendar days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from pgtest import insert_rows, reset_crm, reset_metrics, set_timezone

pytestmark = pytest.mark.db

ALICE = "005000000000001AAA"
BOB = "005000000000002AAA"
GHOST = "005000000000099AAA"  # owner Id not in crm.reps -> 'Unknown'
QUEUE = "00G000000000001AAA"  # queue owner -> '-1' / 'Unassigned'


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


REPS = [
    {"rep_id": ALICE, "name": "Alice Able", "is_active": True},
    {"rep_id": BOB, "name": "Bob Baker", "is_active": False},  # inactive reps still report
]

LEADS = [
    # L5: created Mar 7 15:00 EST; converted into O1; first qualified change Mar 8 (history)
    {
        "lead_id": "L5",
        "lead_source": "Trade Show",
        "status": "Closed - Converted",
        "created_at": utc("2025-03-07 20:00"),
        "is_converted": True,
        "converted_date": dt.date(2025, 3, 9),
        "converted_opportunity_id": "O1",
    },
    # L1: Mar 8 10:00 EST, Web, Open, no history
    {
        "lead_id": "L1",
        "lead_source": "Web",
        "status": "Open",
        "created_at": utc("2025-03-08 15:00"),
    },
    # L2: 2025-03-09 03:30Z is Mar 8 22:30 EST: a different calendar day in UTC and locally.
    # ' Web ' trims to 'Web'; current status Qualified and no history -> SQL on its created day
    {
        "lead_id": "L2",
        "lead_source": " Web ",
        "status": "Qualified",
        "created_at": utc("2025-03-09 03:30"),
    },
    # L9: Mar 8 07:00 EST, Web; status Nurture since Mar 10 (history), Open before
    {
        "lead_id": "L9",
        "lead_source": "Web",
        "status": "Nurture",
        "created_at": utc("2025-03-08 12:00"),
    },
    # L3: Mar 9 08:00 EDT (after the 02:00 jump), NULL source -> 'Unknown'
    {
        "lead_id": "L3",
        "lead_source": None,
        "status": "Working",
        "created_at": utc("2025-03-09 12:00"),
    },
    # L7: Mar 9, queue-owned, Partner
    {
        "lead_id": "L7",
        "lead_source": "Partner",
        "status": "Open",
        "owner_id": QUEUE,
        "created_at": utc("2025-03-09 16:00"),
    },
    # L4: 2025-03-10 04:30Z is Mar 10 00:30 EDT (it would be Mar 9 23:30 in EST: DST matters).
    # 'qualified ' matches Qualified case-insensitively; the label keeps its case: 'qualified'
    {
        "lead_id": "L4",
        "lead_source": "Phone",
        "status": "qualified ",
        "created_at": utc("2025-03-10 04:30"),
    },
    # L6: deleted: never counts
    {
        "lead_id": "L6",
        "lead_source": "Web",
        "status": "Qualified",
        "is_deleted": True,
        "created_at": utc("2025-03-08 15:00"),
    },
    # Fall-back day Nov 2 (25 hours: 04:00Z .. 05:00Z next day)
    {
        "lead_id": "F1",
        "lead_source": "Fall Event",
        "status": "Open",
        "created_at": utc("2025-11-02 03:59"),
    },  # Nov 1 23:59 EDT -> Nov 1
    {
        "lead_id": "F2",
        "lead_source": "Fall Event",
        "status": "Open",
        "created_at": utc("2025-11-02 04:30"),
    },  # Nov 2 00:30 EDT -> Nov 2
    {
        "lead_id": "F3",
        "lead_source": "Fall Event",
        "status": "Open",
        "created_at": utc("2025-11-03 04:30"),
    },  # Nov 2 23:30 EST (25th hour side) -> Nov 2
    {
        "lead_id": "F4",
        "lead_source": "Fall Event",
        "status": "Open",
        "created_at": utc("2025-11-03 05:30"),
    },  # Nov 3 00:30 EST -> Nov 3
]

HISTORY = [
    {
        "history_id": "H1",
        "lead_id": "L5",
        "changed_at": utc("2025-03-08 16:00"),
        "old_status": "Open",
        "new_status": "Qualified",
    },  # Mar 8 11:00 EST: first qualified change
    {
        "history_id": "H2",
        "lead_id": "L5",
        "changed_at": utc("2025-03-09 15:00"),
        "old_status": "Qualified",
        "new_status": "Closed - Converted",
    },  # Mar 9
    {
        "history_id": "H3",
        "lead_id": "L3",
        "changed_at": utc("2025-03-10 01:00"),
        "old_status": "Open",
        "new_status": "Working",
    },  # Mar 9 21:00 EDT -> applies from Mar 9
    {
        "history_id": "H4",
        "lead_id": "L9",
        "changed_at": utc("2025-03-10 15:00"),
        "old_status": "Open",
        "new_status": "Nurture",
    },  # Mar 10; Open before (old_status)
]

OPPORTUNITIES = [
    # O1: Mar 9 10:00 EDT, no own source -> the converted lead L5's 'Trade Show'
    {
        "opportunity_id": "O1",
        "owner_id": ALICE,
        "lead_source": None,
        "amount": Decimal("1000.50"),
        "stage_name": "Prospecting",
        "is_won": False,
        "created_at": utc("2025-03-09 14:00"),
    },
    # O2: Mar 8, Bob, NULL amount (counts 0), won by stage name 'Closed Won' with is_won NULL,
    # closes Mar 10
    {
        "opportunity_id": "O2",
        "owner_id": BOB,
        "lead_source": "Web",
        "amount": None,
        "stage_name": "Closed Won",
        "is_won": None,
        "close_date": dt.date(2025, 3, 10),
        "created_at": utc("2025-03-08 18:00"),
    },
    # O3: created Mar 1; 'Closed/Won' with is_won NULL -> won on Mar 10, 500
    {
        "opportunity_id": "O3",
        "owner_id": ALICE,
        "lead_source": "Web",
        "amount": Decimal(500),
        "stage_name": "Closed/Won",
        "is_won": None,
        "close_date": dt.date(2025, 3, 10),
        "created_at": utc("2025-03-01 15:00"),
    },
    # O4: won without close date -> counts on no day
    {
        "opportunity_id": "O4",
        "owner_id": ALICE,
        "lead_source": "Web",
        "amount": Decimal(700),
        "stage_name": "Closed Won",
        "is_won": True,
        "close_date": None,
        "created_at": utc("2025-03-01 15:00"),
    },
    # O5: Mar 10, queue owner -> '-1' Unassigned; ' Web' trims to 'Web'
    {
        "opportunity_id": "O5",
        "owner_id": QUEUE,
        "lead_source": " Web",
        "amount": Decimal(250),
        "stage_name": "Prospecting",
        "is_won": False,
        "created_at": utc("2025-03-10 12:00"),
    },
    # O6: Mar 10, owner not in reps -> 'Unknown'; created and won the same day
    {
        "opportunity_id": "O6",
        "owner_id": GHOST,
        "lead_source": "Phone",
        "amount": Decimal("100.25"),
        "stage_name": "Closed Won",
        "is_won": True,
        "close_date": dt.date(2025, 3, 10),
        "created_at": utc("2025-03-10 13:00"),
    },
    # O7: deleted: never counts
    {
        "opportunity_id": "O7",
        "owner_id": ALICE,
        "lead_source": "Web",
        "amount": Decimal(999),
        "stage_name": "Closed Won",
        "is_won": True,
        "close_date": dt.date(2025, 3, 9),
        "is_deleted": True,
        "created_at": utc("2025-03-09 15:00"),
    },
    # O8: is_won explicitly false beats the stage name: not won
    {
        "opportunity_id": "O8",
        "owner_id": ALICE,
        "lead_source": "Web",
        "amount": Decimal(300),
        "stage_name": "Closed Won",
        "is_won": False,
        "close_date": dt.date(2025, 3, 10),
        "created_at": utc("2025-03-01 15:00"),
    },
]


def task(activity_id: str, owner: str | None, **kw: Any) -> dict[str, Any]:
    return {"activity_id": activity_id, "source_object": "Task", "owner_id": owner, **kw}


def event(activity_id: str, owner: str | None, **kw: Any) -> dict[str, Any]:
    return {"activity_id": activity_id, "source_object": "Event", "owner_id": owner, **kw}


ACTIVITIES = [
    task("A1", ALICE, task_subtype="Call", activity_date=dt.date(2025, 3, 8)),  # Mar 8 call
    task("A2", ALICE, type="email", activity_date=dt.date(2025, 3, 8)),  # Mar 8 email (any case)
    task(
        "A3", ALICE, task_subtype="Task", call_type="Outbound", activity_date=dt.date(2025, 3, 9)
    ),  # Mar 9 call (CallType set)
    # no activity_date: created 2025-03-10 03:30Z = Mar 9 23:30 EDT -> Mar 9; no category
    task("A4", ALICE, type="Other", created_at=utc("2025-03-10 03:30")),
    # Event: activity_at 2025-03-10 04:30Z = Mar 10 00:30 EDT wins over activity_date Mar 9
    event("A5", ALICE, activity_at=utc("2025-03-10 04:30"), activity_date=dt.date(2025, 3, 9)),
    event("A6", ALICE, activity_at=utc("2025-03-10 15:00"), is_child=True),  # invitee copy
    task("A7", BOB, type="Meeting", status="Open", activity_date=dt.date(2025, 3, 10)),  # meeting
    task("A8", None, task_subtype="Email", activity_date=dt.date(2025, 3, 9)),  # -1 email
    task("A9", GHOST, type="Call", activity_date=dt.date(2025, 3, 9)),  # Unknown call
    task("A10", ALICE, type="Call", activity_date=dt.date(2025, 3, 9), is_deleted=True),
    # Event without activity_at: activity_date; Type Call -> calls (first category wins)
    event("A11", BOB, type="Call", activity_date=dt.date(2025, 3, 10)),
    task("A12", ALICE, task_subtype="List Email", activity_date=dt.date(2025, 3, 10)),  # email
    task("A13", QUEUE, type="CALL", activity_date=dt.date(2025, 3, 10)),  # -1 call
]

MAR8, MAR9, MAR10 = dt.date(2025, 3, 8), dt.date(2025, 3, 9), dt.date(2025, 3, 10)


@pytest.fixture(scope="module")
def seeded(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    from pgtest import admin_connection, owner_connection, role_connection
    from revops import config

    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    runner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(runner)
    insert_rows(etl, "reps", REPS)
    insert_rows(etl, "leads", LEADS)
    insert_rows(etl, "lead_status_history", HISTORY)
    insert_rows(etl, "opportunities", OPPORTUNITIES)
    insert_rows(etl, "activities", ACTIVITIES)
    set_timezone(pg_env, "America/New_York")
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(runner)
        set_timezone(pg_env, "UTC")
        etl.close()
        runner.close()
        admin_connection(pg_env).close()


def rows(conn: psycopg.Connection[Any], query: str, *params: object) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(query, params).fetchall()]


@pytest.fixture
def computed(
    seeded: dict[str, str],
    runner_conn: psycopg.Connection[Any],
    owner_conn: psycopg.Connection[Any],
) -> psycopg.Connection[Any]:
    """Runs the three days as revops_runner; returns the owner's connection to read the facts
    (the runner executes entry points only)."""
    for day in (MAR8, MAR9, MAR10):
        result = runner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (day,)).fetchone()
        assert result is not None and result[0]["status"] == "succeeded", result
    return owner_conn


def test_daily_lead_funnel(computed: psycopg.Connection[Any]) -> None:
    got = rows(
        computed,
        "SELECT metric_date, lead_source, total_leads_to_date, new_leads, sqls,"
        " opportunities_created FROM metrics.daily_lead_funnel"
        " WHERE metric_date BETWEEN %s AND %s ORDER BY 1, 2",
        MAR8,
        MAR10,
    )
    assert got == [
        # Mar 8: Trade Show = L5 (created Mar 7); its first qualified change is Mar 8 -> 1 SQL
        (MAR8, "Trade Show", 1, 0, 1, 0),
        # Web: L1, L2 (UTC Mar 9, local Mar 8), L9 -> 3 new; L2 qualified on creation -> 1 SQL;
        # O2 created Mar 8 -> 1 opportunity. L6 is deleted.
        (MAR8, "Web", 3, 3, 1, 1),
        # Mar 9: Partner L7 new; Trade Show gets O1 through its converted lead L5;
        # Unknown = L3 (NULL source)
        (MAR9, "Partner", 1, 1, 0, 0),
        (MAR9, "Trade Show", 1, 0, 0, 1),
        (MAR9, "Unknown", 1, 1, 0, 0),
        (MAR9, "Web", 3, 0, 0, 0),
        # Mar 10: Phone L4 new and SQL (status 'qualified '), O6 -> 1; Web gets O5 (' Web')
        (MAR10, "Partner", 1, 0, 0, 0),
        (MAR10, "Phone", 1, 1, 1, 1),
        (MAR10, "Trade Show", 1, 0, 0, 0),
        (MAR10, "Unknown", 1, 0, 0, 0),
        (MAR10, "Web", 3, 0, 0, 1),
    ]


def test_rep_daily_activity(computed: psycopg.Connection[Any]) -> None:
    got = rows(
        computed,
        "SELECT metric_date, rep_id, rep_name, calls, emails, meetings, total_activities"
        " FROM metrics.rep_daily_activity WHERE metric_date BETWEEN %s AND %s ORDER BY 1, 2",
        MAR8,
        MAR10,
    )
    assert got == [
        # Mar 8: A1 call, A2 email ('email' in lower case)
        (MAR8, ALICE, "Alice Able", 1, 1, 0, 2),
        # Mar 9: A8 (NULL owner) email; Alice A3 call + A4 (no category, day from created_at);
        # A9 ghost owner call; A10 deleted
        (MAR9, "-1", "Unassigned", 0, 1, 0, 1),
        (MAR9, ALICE, "Alice Able", 1, 0, 0, 2),
        (MAR9, GHOST, "Unknown", 1, 0, 0, 1),
        # Mar 10: A13 queue call; Alice A5 event (activity_at local Mar 10) + A12 list email,
        # A6 child event excluded; Bob (inactive) A7 meeting + A11 event typed Call -> call
        (MAR10, "-1", "Unassigned", 1, 0, 0, 1),
        (MAR10, ALICE, "Alice Able", 0, 1, 1, 2),
        (MAR10, BOB, "Bob Baker", 1, 0, 1, 2),
    ]


def test_rep_daily_pipeline(computed: psycopg.Connection[Any]) -> None:
    got = rows(
        computed,
        "SELECT metric_date, rep_id, rep_name, opportunities_created, pipeline_amount_created,"
        " closed_won_opportunities, revenue_won FROM metrics.rep_daily_pipeline"
        " WHERE metric_date BETWEEN %s AND %s ORDER BY 1, 2",
        MAR8,
        MAR10,
    )
    assert got == [
        # Mar 8: O2 created with NULL amount: counted, adds 0
        (MAR8, BOB, "Bob Baker", 1, Decimal(0), 0, Decimal(0)),
        # Mar 9: O1 1000.50 (O7 deleted)
        (MAR9, ALICE, "Alice Able", 1, Decimal("1000.50"), 0, Decimal(0)),
        # Mar 10: O5 queue -> -1; O3 'Closed/Won' 500 (O4 no close date, O8 is_won false);
        # O2 won with NULL amount; O6 ghost created and won 100.25
        (MAR10, "-1", "Unassigned", 1, Decimal(250), 0, Decimal(0)),
        (MAR10, ALICE, "Alice Able", 0, Decimal(0), 1, Decimal(500)),
        (MAR10, BOB, "Bob Baker", 0, Decimal(0), 1, Decimal(0)),
        (MAR10, GHOST, "Unknown", 1, Decimal("100.25"), 1, Decimal("100.25")),
    ]


def test_lead_stage_snapshot(computed: psycopg.Connection[Any]) -> None:
    got = rows(
        computed,
        "SELECT metric_date, status, lead_count, avg_lead_age_days FROM metrics.lead_stage_snapshot"
        " WHERE metric_date BETWEEN %s AND %s ORDER BY 1, 2",
        MAR8,
        MAR10,
    )
    assert got == [
        # Mar 8: L1 Open (age 0), L9 Open (before its first change: old_status Open, age 0);
        # L5 Qualified since H1 (age 1), L2 Qualified (age 0) -> avg 0.50
        (MAR8, "Open", 2, Decimal("0.00")),
        (MAR8, "Qualified", 2, Decimal("0.50")),
        # Mar 9: L5 Closed - Converted (H2, age 2); Open: L1 (1), L7 (0), L9 (1) -> 0.67;
        # L2 Qualified (1); L3 Working from H3 (local Mar 9 21:00), age 0
        (MAR9, "Closed - Converted", 1, Decimal("2.00")),
        (MAR9, "Open", 3, Decimal("0.67")),
        (MAR9, "Qualified", 1, Decimal("1.00")),
        (MAR9, "Working", 1, Decimal("0.00")),
        # Mar 10: L9 Nurture (H4, age 2); L4 'qualified' (case kept, age 0)
        (MAR10, "Closed - Converted", 1, Decimal("3.00")),
        (MAR10, "Nurture", 1, Decimal("2.00")),
        (MAR10, "Open", 2, Decimal("1.50")),
        (MAR10, "Qualified", 1, Decimal("2.00")),
        (MAR10, "Working", 1, Decimal("1.00")),
        (MAR10, "qualified", 1, Decimal("0.00")),
    ]


def test_fall_back_day_has_25_hours(
    seeded: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    nov1, nov2, nov3 = dt.date(2025, 11, 1), dt.date(2025, 11, 2), dt.date(2025, 11, 3)
    result = owner_conn.execute(
        "SELECT metrics.backfill_date_range(%s, %s)", (nov1, nov3)
    ).fetchone()
    assert result is not None and result[0]["status"] == "succeeded"
    got = rows(
        owner_conn,
        "SELECT metric_date, total_leads_to_date, new_leads FROM metrics.daily_lead_funnel"
        " WHERE lead_source = 'Fall Event' ORDER BY 1",
    )
    # F1 23:59 EDT Nov 1; F2 00:30 EDT and F3 23:30 EST both Nov 2; F4 00:30 EST Nov 3
    assert got == [(nov1, 1, 1), (nov2, 3, 2), (nov3, 4, 1)]


def test_utc_business_day_differs(
    seeded: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    """In UTC, L2 (2025-03-09 03:30Z) and L4 belong to the next day."""
    set_timezone(seeded, "UTC")
    try:
        owner_conn.execute("SELECT metrics.backfill_date_range(%s, %s)", (MAR8, MAR10))
        got = rows(
            owner_conn,
            "SELECT metric_date, new_leads FROM metrics.daily_lead_funnel"
            " WHERE lead_source = 'Web' AND metric_date BETWEEN %s AND %s ORDER BY 1",
            MAR8,
            MAR10,
        )
        assert got == [(MAR8, 2), (MAR9, 1), (MAR10, 0)]
    finally:
        set_timezone(seeded, "America/New_York")


def test_run_log_records_each_day(computed: psycopg.Connection[Any]) -> None:
    # the newest attempt of each day (a run also recomputes days an earlier test left under
    # another time zone, so the order of the rows says nothing)
    got = rows(
        computed,
        "SELECT DISTINCT ON (metric_date) metric_date, status, trigger, rows_written"
        " FROM metrics.run_log WHERE metric_date BETWEEN %s AND %s"
        " ORDER BY metric_date DESC, run_id DESC",
        MAR8,
        MAR10,
    )
    assert [(d, s, t) for d, s, t, _ in got] == [
        (MAR10, "succeeded", "manual"),
        (MAR9, "succeeded", "manual"),
        (MAR8, "succeeded", "manual"),
    ]
    assert got[0][3] == {
        "daily_lead_funnel": 5,
        "rep_daily_activity": 3,
        "rep_daily_pipeline": 4,
        "lead_stage_snapshot": 6,
    }


def test_data_quality_checks(computed: psycopg.Connection[Any]) -> None:
    from revops.runs import data_quality

    found = {
        c["check_name"]: (c["affected_count"], c["sample_ids"]) for c in data_quality(computed)
    }
    assert found == {
        # O6 and A9 belong to GHOST; NULL and queue owners are Unassigned, not unknown
        "unknown_owner": (2, [GHOST]),
        # O2 has no amount (O7 too, but it is deleted)
        "null_opportunity_amount": (1, ["O2"]),
        # O4 is won without a close date
        "won_without_close_date": (1, ["O4"]),
        "lead_without_created_at": (0, []),
        "activity_without_day": (0, []),
        "status_history_for_unknown_lead": (0, []),
        "quarantined_records": (0, []),
        # the runs consumed every captured change of the seed
        "facts_behind_changes": (0, []),
        "failed_ingest_batches": (0, []),
        "unfinished_ingest_batches": (0, []),
        # March 2025 is far outside the recent window the reconciliations compare
        "reconcile_new_leads": (0, []),
        "reconcile_revenue_won": (0, []),
        # the newest computed day is in 2025: far older than the allowed 2 days
        "stale_metrics": (1, ["2025-11-03"]),
    }
