"""Properties on generated data: backfill equals day-by-day, idempotency, totals reconcile.

The synthetic generator's data (queues, unknown owners, NULL amounts, DST-edge timestamps,
deleted rows ...) over two years, business time zone America/New_York. The reconciliation
oracle is computed independently in Python (zoneinfo) from the source rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtest import owner_connection, reset_crm, reset_metrics, role_connection, set_timezone
from revops import config
from revops.synthetic.load import load_synthetic

pytestmark = [pytest.mark.db, pytest.mark.slow]

TZ = "America/New_York"
END = dt.date(2025, 12, 31)
TABLES = {
    "daily_lead_funnel": "metric_date, lead_source, total_leads_to_date, new_leads, sqls,"
    " opportunities_created",
    "rep_daily_activity": "metric_date, rep_id, rep_name, calls, emails, meetings, total_activities",
    "rep_daily_pipeline": "metric_date, rep_id, rep_name, opportunities_created,"
    " pipeline_amount_created, closed_won_opportunities, revenue_won",
    "lead_stage_snapshot": "metric_date, status, lead_count, avg_lead_age_days",
}


@pytest.fixture(scope="module")
def generated(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    runner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(runner)
    load_synthetic(etl, scale=0.005, seed=7, end_date=END)
    set_timezone(pg_env, TZ)
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(runner)
        set_timezone(pg_env, "UTC")
        etl.close()
        runner.close()


def snapshot(conn: psycopg.Connection[Any], first: dt.date, last: dt.date) -> dict[str, list[Any]]:
    return {
        table: [
            tuple(r)
            for r in conn.execute(
                f"SELECT {columns} FROM metrics.{table}"
                " WHERE metric_date BETWEEN %s AND %s ORDER BY 1, 2",
                (first, last),
            )
        ]
        for table, columns in TABLES.items()
    }


def backfill(conn: psycopg.Connection[Any], first: dt.date, last: dt.date) -> None:
    row = conn.execute("SELECT metrics.backfill_date_range(%s, %s)", (first, last)).fetchone()
    assert row is not None and row[0]["status"] == "succeeded", row


# spring-forward 2025-03-09 inside; 70 days
RANGE = (dt.date(2025, 2, 15), dt.date(2025, 4, 25))


def test_backfill_equals_day_by_day_and_is_idempotent(
    generated: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    first, last = RANGE
    reset_metrics(owner_conn)
    day = first
    while day <= last:
        owner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (day,))
        day += dt.timedelta(days=1)
    daily = snapshot(owner_conn, first, last)
    assert all(daily.values()), {k: len(v) for k, v in daily.items()}

    reset_metrics(owner_conn)
    backfill(owner_conn, first, last)
    assert snapshot(owner_conn, first, last) == daily

    backfill(owner_conn, first, last)  # again: identical rows
    assert snapshot(owner_conn, first, last) == daily
    count = owner_conn.execute(
        "SELECT count(*), count(DISTINCT metric_date) FROM metrics.run_log WHERE status = 'succeeded'"
    ).fetchone()
    assert count == (2 * 70, 70)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.dates(min_value=dt.date(2024, 10, 1), max_value=dt.date(2025, 11, 25)),
    length=st.integers(min_value=1, max_value=12),
)
def test_any_subrange_backfill_matches_single_days(
    generated: dict[str, str], owner_conn: psycopg.Connection[Any], start: dt.date, length: int
) -> None:
    last = start + dt.timedelta(days=length - 1)
    backfill(owner_conn, start, last)
    ranged = snapshot(owner_conn, start, last)
    for offset in (0, length - 1):
        day = start + dt.timedelta(days=offset)
        owner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (day,))
        single = snapshot(owner_conn, day, day)
        assert single == {t: [r for r in rows if r[0] == day] for t, rows in ranged.items()}


def local_day(ts: dt.datetime | None, zone: ZoneInfo) -> dt.date | None:
    return None if ts is None else ts.astimezone(zone).date()


def test_totals_reconcile_with_the_source(
    generated: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    zone = ZoneInfo(TZ)
    with role_connection(generated, "revops_etl", config.source_db_name(generated)) as etl:
        leads = etl.execute("SELECT created_at FROM crm.leads WHERE NOT is_deleted").fetchall()
        opps = etl.execute(
            "SELECT created_at, amount FROM crm.opportunities WHERE NOT is_deleted"
        ).fetchall()
        acts = etl.execute(
            "SELECT source_object, activity_date, activity_at, created_at FROM crm.activities"
            " WHERE NOT is_deleted AND NOT is_child"
        ).fetchall()
    lead_days = [local_day(r[0], zone) for r in leads]
    first = min(d for d in lead_days if d is not None)
    reset_metrics(owner_conn)
    backfill(owner_conn, first, END)

    def one(query: str) -> Any:
        row = owner_conn.execute(query, (first, END)).fetchone()
        assert row is not None
        return row[0]

    in_range = sum(1 for d in lead_days if d is not None and first <= d <= END)
    assert (
        one(
            "SELECT sum(new_leads) FROM metrics.daily_lead_funnel WHERE metric_date BETWEEN %s AND %s"
        )
        == in_range
    )
    assert in_range == len(leads) > 500

    opp_days = [local_day(r[0], zone) for r in opps]
    opp_count = sum(1 for d in opp_days if d is not None and first <= d <= END)
    assert (
        one(
            "SELECT sum(opportunities_created) FROM metrics.daily_lead_funnel"
            " WHERE metric_date BETWEEN %s AND %s"
        )
        == opp_count
    )
    assert (
        one(
            "SELECT sum(opportunities_created) FROM metrics.rep_daily_pipeline"
            " WHERE metric_date BETWEEN %s AND %s"
        )
        == opp_count
    )
    amount = sum(
        (r[1] or 0)
        for r, d in zip(opps, opp_days, strict=True)
        if d is not None and first <= d <= END
    )
    assert (
        one(
            "SELECT sum(pipeline_amount_created) FROM metrics.rep_daily_pipeline"
            " WHERE metric_date BETWEEN %s AND %s"
        )
        == amount
    )

    def activity_day(row: tuple[Any, ...]) -> dt.date | None:
        source_object, activity_date, activity_at, created_at = row
        if source_object == "Event":
            return local_day(activity_at, zone) or activity_date or local_day(created_at, zone)
        return activity_date or local_day(created_at, zone)

    act_days = [activity_day(tuple(r)) for r in acts]
    assert one(
        "SELECT sum(total_activities) FROM metrics.rep_daily_activity"
        " WHERE metric_date BETWEEN %s AND %s"
    ) == sum(1 for d in act_days if d is not None and first <= d <= END)

    # every day: the snapshot holds exactly the leads created so far
    mismatch = owner_conn.execute(
        "SELECT f.metric_date FROM (SELECT metric_date, sum(total_leads_to_date) AS total"
        " FROM metrics.daily_lead_funnel GROUP BY 1) AS f"
        " JOIN (SELECT metric_date, sum(lead_count) AS total FROM metrics.lead_stage_snapshot"
        " GROUP BY 1) AS s USING (metric_date) WHERE f.total <> s.total"
    ).fetchall()
    assert mismatch == []
    last_day_total = owner_conn.execute(
        "SELECT sum(lead_count) FROM metrics.lead_stage_snapshot WHERE metric_date = %s", (END,)
    ).fetchone()
    assert last_day_total == (len([d for d in lead_days if d is not None and d <= END]),)
