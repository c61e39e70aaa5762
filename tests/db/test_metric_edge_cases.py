"""Metric edge cases of ARCHITECTURE.md section 6, on hand-made records a person can check.

Business time zone America/Los_Angeles (PDT, UTC-7 in May 2025). Every timestamp below is
written in UTC with its local time beside it; all fall on the same calendar day locally.

Leads (qualified statuses: Qualified, SQL, Sales Qualified, Closed - Converted):
- E1 'Web', created 05-01 10:00Z (03:00 PDT), now 'Closed - Converted'. Its only history row,
  05-05 12:00Z, is 'SQL' -> 'Closed - Converted': it started as an SQL, so its SQL day is its
  created day 05-01 (not the 05-05 change); the snapshot shows it 'SQL' until 05-04.
- E2 'Trade Show', created 05-03 10:00Z. History dated before its creation: 05-01 09:00Z
  'Open' -> 'Qualified', then 05-04 12:00Z 'Qualified' -> 'Working'. The change into Qualified
  counts from the created day: SQL day 05-03, no funnel row before 05-03, snapshot 'Qualified'
  on 05-03 and 'Working' from 05-04.
- E3 'Web', created 05-01 08:00Z, now 'Qualified', last modified 05-06 15:00Z (08:00 PDT); its
  history export lags: one row 05-02 12:00Z 'Open' -> 'Working'. The current status counts from
  the last modification: SQL day 05-06, snapshot 'Open' 05-01, 'Working' 05-02..05-05,
  'Qualified' from 05-06.

Activities of rep R1:
- T1 Task, TaskSubtype 'ListEmail' (the API value), 05-02: an email.
- EV1 all-day Event, ActivityDate 05-02, start 05-02 00:00Z (Salesforce stores all-day starts as
  midnight UTC: that is 05-01 17:00 PDT): counts on 05-02, a meeting.
- EV2 ordinary Event starting 05-02 00:00Z: 05-01 17:00 PDT, so a meeting on 05-01.
- T2 Task, Type 'Call' and TaskSubtype 'Email', 05-03: first match wins, a call.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgtest import (
    insert_rows,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
    set_timezone,
)
from revops import config

pytestmark = pytest.mark.db

TZ = "America/Los_Angeles"
MAY = [dt.date(2025, 5, d) for d in range(1, 8)]  # MAY[0] = 05-01


def utc(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2025, 5, day, hour, tzinfo=dt.UTC)


LEADS = [
    {
        "lead_id": "E1",
        "lead_source": "Web",
        "status": "Closed - Converted",
        "created_at": utc(1, 10),
        "last_modified_at": utc(5, 12),
    },
    {
        "lead_id": "E2",
        "lead_source": "Trade Show",
        "status": "Working",
        "created_at": utc(3, 10),
        "last_modified_at": utc(4, 12),
    },
    {
        "lead_id": "E3",
        "lead_source": "Web",
        "status": "Qualified",
        "created_at": utc(1, 8),
        "last_modified_at": utc(6, 15),
    },
]
HISTORY = [
    {
        "lead_id": "E1",
        "changed_at": utc(5, 12),
        "old_status": "SQL",
        "new_status": "Closed - Converted",
    },
    {"lead_id": "E2", "changed_at": utc(1, 9), "old_status": "Open", "new_status": "Qualified"},
    {"lead_id": "E2", "changed_at": utc(4, 12), "old_status": "Qualified", "new_status": "Working"},
    {"lead_id": "E3", "changed_at": utc(2, 12), "old_status": "Open", "new_status": "Working"},
]
ACTIVITIES = [
    {
        "activity_id": "T1",
        "source_object": "Task",
        "owner_id": "R1",
        "task_subtype": "ListEmail",
        "activity_date": MAY[1],
    },
    {
        "activity_id": "EV1",
        "source_object": "Event",
        "owner_id": "R1",
        "is_all_day_event": True,
        "activity_date": MAY[1],
        "activity_at": utc(2, 0),
    },
    {
        "activity_id": "EV2",
        "source_object": "Event",
        "owner_id": "R1",
        "activity_date": MAY[1],
        "activity_at": utc(2, 0),
    },
    {
        "activity_id": "T2",
        "source_object": "Task",
        "owner_id": "R1",
        "type": "Call",
        "task_subtype": "Email",
        "activity_date": MAY[2],
    },
]


@pytest.fixture(scope="module")
def edge_data(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(owner)
    insert_rows(etl, "reps", [{"rep_id": "R1", "name": "Rita Rep"}])
    insert_rows(etl, "leads", LEADS)
    insert_rows(
        etl,
        "lead_status_history",
        [{"history_id": f"H{i}", **row} for i, row in enumerate(HISTORY, start=1)],
    )
    insert_rows(etl, "activities", ACTIVITIES)
    set_timezone(pg_env, TZ)
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(owner)
        set_timezone(pg_env, "UTC")
        etl.close()
        owner.close()


def facts(conn: psycopg.Connection[Any], query: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(query, (MAY[0], MAY[6])).fetchall()]


FUNNEL = (
    "SELECT metric_date, lead_source, total_leads_to_date, new_leads, sqls"
    " FROM metrics.daily_lead_funnel WHERE metric_date BETWEEN %s AND %s"
    " AND (new_leads > 0 OR sqls > 0 OR lead_source = 'Trade Show') ORDER BY 1, 2"
)
SNAPSHOT = (
    "SELECT metric_date, status, lead_count, avg_lead_age_days FROM metrics.lead_stage_snapshot"
    " WHERE metric_date BETWEEN %s AND %s ORDER BY 1, 2"
)
ACTIVITY = (
    "SELECT metric_date, rep_id, calls, emails, meetings, total_activities"
    " FROM metrics.rep_daily_activity WHERE metric_date BETWEEN %s AND %s ORDER BY 1, 2"
)


@pytest.fixture(params=["backfill", "day-by-day"])
def computed(
    request: pytest.FixtureRequest, edge_data: dict[str, str]
) -> Iterator[psycopg.Connection[Any]]:
    with role_connection(edge_data, "revops_runner", config.metrics_db_name(edge_data)) as run:
        if request.param == "backfill":
            run.execute("SELECT metrics.backfill_date_range(%s, %s)", (MAY[0], MAY[6]))
        else:
            for day in MAY:
                run.execute("SELECT metrics.run_daily_metrics(%s)", (day,))
    with owner_connection(edge_data) as owner:
        yield owner


def test_sql_day_follows_the_history_rules(computed: psycopg.Connection[Any]) -> None:
    assert facts(computed, FUNNEL) == [
        # E1 started as an SQL (first row's old_status): its created day; E3 created, not SQL
        (MAY[0], "Web", 2, 2, 1),
        # E2: its change into Qualified is dated 05-01, before its creation: counted 05-03
        (MAY[2], "Trade Show", 1, 1, 1),
        (MAY[3], "Trade Show", 1, 0, 0),
        (MAY[4], "Trade Show", 1, 0, 0),
        # E3: qualified ahead of its lagging history, from its last modification
        (MAY[5], "Trade Show", 1, 0, 0),
        (MAY[5], "Web", 2, 0, 1),
        (MAY[6], "Trade Show", 1, 0, 0),
    ]


def test_snapshot_uses_old_status_clamps_early_history_and_catches_up(
    computed: psycopg.Connection[Any],
) -> None:
    got = facts(computed, SNAPSHOT)
    expected = [
        # (day, status, leads, average of D - created day)
        (MAY[0], "Open", 1, 0),  # E3 (age 0)
        (MAY[0], "SQL", 1, 0),  # E1: before its first history row, that row's old_status
        (MAY[1], "SQL", 1, 1),
        (MAY[1], "Working", 1, 1),  # E3 from its 05-02 change
        (MAY[2], "Qualified", 1, 0),  # E2 on its created day (history dated before it)
        (MAY[2], "SQL", 1, 2),
        (MAY[2], "Working", 1, 2),
        (MAY[3], "SQL", 1, 3),
        (MAY[3], "Working", 2, 2),  # E2 (age 1) and E3 (age 3)
        (MAY[4], "Closed - Converted", 1, 4),
        (MAY[4], "Working", 2, 3),  # E2 2, E3 4
        (MAY[5], "Closed - Converted", 1, 5),
        (MAY[5], "Qualified", 1, 5),  # E3: the current status from its last modification
        (MAY[5], "Working", 1, 3),
        (MAY[6], "Closed - Converted", 1, 6),
        (MAY[6], "Qualified", 1, 6),
        (MAY[6], "Working", 1, 4),
    ]
    assert [(r[0], r[1], r[2], float(r[3])) for r in got] == [
        (day, status, count, float(age)) for day, status, count, age in expected
    ]


def test_activity_day_and_category_rules(computed: psycopg.Connection[Any]) -> None:
    assert facts(computed, ACTIVITY) == [
        (MAY[0], "R1", 0, 0, 1, 1),  # EV2: 05-02 00:00Z is 05-01 17:00 PDT
        (MAY[1], "R1", 0, 1, 1, 2),  # T1 ListEmail; EV1 all-day on its ActivityDate
        (MAY[2], "R1", 1, 0, 0, 1),  # T2: Type Call before TaskSubtype Email
    ]


def test_ingest_loads_is_all_day_event(edge_data: dict[str, str], tmp_path: Path) -> None:
    page = {
        "totalSize": 2,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Event"},
                "Id": "00U000000000001AAA",
                "OwnerId": "R1",
                "IsAllDayEvent": True,
                "ActivityDate": "2025-05-04",
                "StartDateTime": "2025-05-04T00:00:00.000+0000",
            },
            {
                "attributes": {"type": "Event"},
                "Id": "00U000000000002AAA",
                "OwnerId": "R1",
                "IsAllDayEvent": "false",
                "StartDateTime": "2025-05-04T00:00:00.000+0000",
            },
        ],
    }
    path = tmp_path / "events.json"
    path.write_text(json.dumps(page))
    proc = subprocess.run(
        [sys.executable, "-m", "revops.cli", "ingest", str(path)],
        env=edge_data,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with role_connection(edge_data, "revops_etl", config.source_db_name(edge_data)) as etl:
        rows = etl.execute(
            "SELECT activity_id, is_all_day_event FROM crm.activities"
            " WHERE activity_id LIKE '00U%%' ORDER BY 1"
        ).fetchall()
        etl.execute("DELETE FROM crm.activities WHERE activity_id LIKE '00U%%'")
    assert rows == [("00U000000000001AAA", True), ("00U000000000002AAA", False)]
