"""The lead facts follow the changed leads, not the history (metrics.sync_lead_state).

Hand-made data a person can check: five leads over the last weeks and one lead created three
years ago. The facts are backfilled up to the day before yesterday, then the ordinary run
(metrics.run_due with no days: `revops run`) computes yesterday from the day before and moves
the stored rows by exactly what each changed lead moves. Each step ends with verify_range
(which rebuilds the lead state from the source) finding 0 differing rows. A property test then
runs the ordinary run after random lead and status-history writes of any age.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtest import (
    insert_rows,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
)
from revops import config

pytestmark = pytest.mark.db

TODAY = dt.datetime.now(dt.UTC).date()  # the suite's business time zone is UTC
YESTERDAY = TODAY - dt.timedelta(days=1)
FIRST = TODAY - dt.timedelta(days=30)
COMPUTED_DAYS = (YESTERDAY - FIRST).days + 1  # 30 days: FIRST .. YESTERDAY


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


OLD_LEAD = {
    "lead_id": "OLD",
    "lead_source": "Trade Show",
    "status": "Open",
    "created_at": noon(TODAY - dt.timedelta(days=3 * 365)),
    "last_modified_at": noon(TODAY - dt.timedelta(days=3 * 365)),
}
RECENT_LEADS = [
    {
        "lead_id": f"N{i}",
        "lead_source": "Web" if i % 2 else "Partner",
        "status": "Open",
        "created_at": noon(FIRST + dt.timedelta(days=5 * i)),
        "last_modified_at": noon(FIRST + dt.timedelta(days=5 * i)),
    }
    for i in range(5)
]


def run_ordinary(env: dict[str, str]) -> dict[str, Any]:
    with role_connection(env, "revops_runner", config.metrics_db_name(env)) as conn:
        row = conn.execute("SELECT metrics.run_due('manual')").fetchone()
    assert row is not None and row[0]["status"] == "succeeded", row
    result: dict[str, Any] = row[0]
    return result


def differing(env: dict[str, str]) -> int:
    with role_connection(env, "revops_runner", config.metrics_db_name(env)) as conn:
        row = conn.execute("SELECT metrics.verify_range(%s, %s, 5)", (FIRST, YESTERDAY)).fetchone()
    assert row is not None
    assert row[0]["differing"] == 0, row[0]
    return int(row[0]["differing"])


def etl(env: dict[str, str], statement: str, params: tuple[Any, ...] = ()) -> None:
    with role_connection(env, "revops_etl", config.source_db_name(env)) as conn:
        conn.execute(statement, params)


def snapshot(env: dict[str, str], status: str) -> list[tuple[Any, ...]]:
    with owner_connection(env) as owner:
        return owner.execute(
            "SELECT metric_date, lead_count, avg_lead_age_days FROM metrics.lead_stage_snapshot"
            " WHERE status = %s ORDER BY 1",
            (status,),
        ).fetchall()


def funnel(env: dict[str, str], source: str) -> list[tuple[Any, ...]]:
    with owner_connection(env) as owner:
        return owner.execute(
            "SELECT metric_date, total_leads_to_date, new_leads, sqls"
            " FROM metrics.daily_lead_funnel WHERE lead_source = %s ORDER BY 1",
            (source,),
        ).fetchall()


@pytest.fixture(scope="module")
def leads(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    etl_conn = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl_conn)
    reset_metrics(owner)
    insert_rows(etl_conn, "leads", [OLD_LEAD, *RECENT_LEADS])
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as runner:
        runner.execute(
            "SELECT metrics.backfill_date_range(%s, %s)", (FIRST, YESTERDAY - dt.timedelta(days=1))
        )
        # consume the reset's TRUNCATE markers (every computed day) with a run of one day
        runner.execute("SELECT metrics.run_due('manual', NULL, NULL, ARRAY[%s::date])", (FIRST,))
    try:
        yield pg_env
    finally:
        reset_crm(etl_conn)
        reset_metrics(owner)
        etl_conn.close()
        owner.close()


def test_yesterday_is_the_day_before_plus_its_own_leads(leads: dict[str, str]) -> None:
    result = run_ordinary(leads)
    # only yesterday is due (the lookback days are computed), and no lead changed since
    assert result["days"] == 1
    assert result["lead_state"]["leads"] == 0
    # Trade Show: the old lead on every day; Web and Partner as their leads arrive
    assert funnel(leads, "Trade Show")[-1] == (YESTERDAY, 1, 0, 0)
    assert funnel(leads, "Partner")[-1] == (YESTERDAY, 3, 0, 0)  # N0, N2, N4
    assert funnel(leads, "Web")[-1] == (YESTERDAY, 2, 0, 0)  # N1, N3
    # six leads hold Open yesterday; their mean age in days
    created = [OLD_LEAD["created_at"]] + [lead["created_at"] for lead in RECENT_LEADS]
    ages = [(YESTERDAY - instant.date()).days for instant in created]
    expected_avg = round(sum(ages) / 6, 2)
    assert snapshot(leads, "Open")[-1][:2] == (YESTERDAY, 6)
    assert float(snapshot(leads, "Open")[-1][2]) == expected_avg
    assert differing(leads) == 0


def test_a_status_logged_two_years_late_moves_two_statuses_on_every_day(
    leads: dict[str, str],
) -> None:
    run_ordinary(leads)
    before_open = snapshot(leads, "Open")
    etl(
        leads,
        "INSERT INTO crm.lead_status_history (history_id, lead_id, changed_at, old_status,"
        " new_status) VALUES ('LATE', 'OLD', %s, 'Open', 'Qualified')",
        (noon(TODAY - dt.timedelta(days=2 * 365)),),
    )
    result = run_ordinary(leads)
    # one lead re-derived; its status moved on every computed day: Open -1, Qualified +1; its
    # SQL day is two years back (no computed day), so no funnel row moved; only yesterday is
    # recomputed as a day
    assert result["lead_state"] == {
        "leads": 1,
        "rebuilt": False,
        "funnel_rows": 0,
        "snapshot_rows": 2 * COMPUTED_DAYS,
    }
    assert result["days"] == 1
    after_open = snapshot(leads, "Open")
    assert [r[1] for r in after_open] == [r[1] - 1 for r in before_open]
    assert [r[1] for r in snapshot(leads, "Qualified")] == [1] * COMPUTED_DAYS
    assert differing(leads) == 0


def test_a_new_lead_and_a_deleted_one_move_only_their_sources(leads: dict[str, str]) -> None:
    run_ordinary(leads)
    trade_show = funnel(leads, "Trade Show")
    etl(
        leads,
        "INSERT INTO crm.leads (lead_id, lead_source, status, created_at, last_modified_at)"
        " VALUES ('NEW', 'Web', 'Qualified', %s, %s)",
        (noon(YESTERDAY), noon(YESTERDAY)),
    )
    etl(leads, "UPDATE crm.leads SET is_deleted = true WHERE lead_id = 'N0'")  # Partner
    result = run_ordinary(leads)
    assert result["lead_state"]["leads"] == 2 and not result["lead_state"]["rebuilt"]
    assert funnel(leads, "Web")[-1] == (YESTERDAY, 3, 1, 1)  # new, and an SQL from the start
    partner = funnel(leads, "Partner")
    assert partner[-1] == (YESTERDAY, 2, 0, 0)
    # N0 was created on FIRST: Partner had it on every day, and nothing else that day
    assert partner[0][0] > FIRST
    assert funnel(leads, "Trade Show") == trade_show  # untouched
    assert differing(leads) == 0


def test_a_rebuild_after_a_truncate_gives_the_same_facts(leads: dict[str, str]) -> None:
    run_ordinary(leads)
    with owner_connection(leads) as owner:
        before = owner.execute(
            "SELECT * FROM metrics.fact_rows(%s, %s) ORDER BY 1, 2, 3", (FIRST, YESTERDAY)
        ).fetchall()
    with role_connection(leads, "revops_etl", config.source_db_name(leads)) as conn:
        rows = conn.execute(
            "SELECT lead_id, lead_source, status, created_at, last_modified_at, is_deleted"
            " FROM crm.leads"
        ).fetchall()
        history = conn.execute(
            "SELECT history_id, lead_id, changed_at, old_status, new_status"
            " FROM crm.lead_status_history"
        ).fetchall()
        conn.execute("TRUNCATE crm.lead_status_history, crm.leads CASCADE")
        columns = ("lead_id", "lead_source", "status", "created_at", "last_modified_at")
        insert_rows(
            conn, "leads", [dict(zip((*columns, "is_deleted"), r, strict=True)) for r in rows]
        )
        history_columns = ("history_id", "lead_id", "changed_at", "old_status", "new_status")
        insert_rows(
            conn,
            "lead_status_history",
            [dict(zip(history_columns, r, strict=True)) for r in history],
        )
    result = run_ordinary(leads)
    assert result["lead_state"]["rebuilt"] is True
    with owner_connection(leads) as owner:
        after = owner.execute(
            "SELECT * FROM metrics.fact_rows(%s, %s) ORDER BY 1, 2, 3", (FIRST, YESTERDAY)
        ).fetchall()
    assert after == before
    assert differing(leads) == 0


def test_an_upgraded_installation_builds_the_state_on_its_first_run(
    leads: dict[str, str],
) -> None:
    """What migration metrics/0007 leaves behind: snapshot rows without created_day_sum and a
    state never built. The first run builds it and recomputes the lead facts of every computed
    day, so later runs can move them by steps."""
    run_ordinary(leads)
    with owner_connection(leads) as owner:
        owner.execute("UPDATE metrics.lead_stage_snapshot SET created_day_sum = NULL")
        owner.execute("TRUNCATE metrics.lead_state, metrics.lead_segment_state")
        owner.execute(
            "UPDATE metrics.lead_state_sync SET settings_fingerprint = NULL, built_at = NULL"
        )
    result = run_ordinary(leads)
    assert result["lead_state"]["rebuilt"] is True
    assert result["lead_state"]["leads"] == 6  # OLD, N1..N4 and NEW (N0 is deleted)
    with owner_connection(leads) as owner:
        missing = owner.execute(
            "SELECT count(*) FROM metrics.lead_stage_snapshot WHERE created_day_sum IS NULL"
        ).fetchone()
    assert missing == (0,)
    assert differing(leads) == 0


# -- the property: any lead writes, then the ordinary run -------------------------------------
AGE = st.integers(min_value=-1, max_value=800)  # days before today: today .. two years back


def ago(days: int, minute: int) -> dt.datetime:
    return noon(TODAY - dt.timedelta(days=days)) + dt.timedelta(minutes=minute - 12 * 60)


UPSERT_LEAD = (
    "INSERT INTO crm.leads (lead_id, status, lead_source, created_at, last_modified_at,"
    " is_deleted) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (lead_id) DO UPDATE SET"
    " status = excluded.status, lead_source = excluded.lead_source,"
    " created_at = excluded.created_at, last_modified_at = excluded.last_modified_at,"
    " is_deleted = excluded.is_deleted"
)
UPSERT_HISTORY = (
    "INSERT INTO crm.lead_status_history (history_id, lead_id, changed_at, old_status,"
    " new_status, is_deleted) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (history_id)"
    " DO UPDATE SET lead_id = excluded.lead_id, changed_at = excluded.changed_at,"
    " old_status = excluded.old_status, new_status = excluded.new_status,"
    " is_deleted = excluded.is_deleted"
)
LEAD_WRITE = st.builds(
    lambda i, status, source, age, minute, modified, deleted: (
        UPSERT_LEAD,
        (i, status, source, ago(age, minute), ago(max(modified, -1), minute), deleted),
    ),
    st.sampled_from(["P0", "P1", "P2", "OLD", "N1"]),
    st.sampled_from(["Open", "Working", "Qualified", "Nurture", None]),
    st.sampled_from(["Web", "Partner", "Trade Show", None]),
    AGE,
    st.sampled_from([0, 12 * 60, 23 * 60 + 59]),
    AGE,
    st.booleans(),
)
HISTORY_WRITE = st.builds(
    lambda h, i, age, old, new, deleted: (
        UPSERT_HISTORY,
        (h, i, ago(age, 9 * 60), old, new, deleted),
    ),
    st.sampled_from(["HX0", "HX1", "HX2"]),
    st.sampled_from(["P0", "P1", "OLD", "N2"]),
    AGE,
    st.sampled_from(["Open", "Working", None]),
    st.sampled_from(["Qualified", "Working", "Nurture"]),
    st.booleans(),
)


@settings(
    max_examples=int(os.environ.get("REVOPS_CAPTURE_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(st.one_of(LEAD_WRITE, HISTORY_WRITE), max_size=4))
def test_any_lead_writes_then_the_ordinary_run_equals_a_full_recompute(
    leads: dict[str, str], batch: list[tuple[str, tuple[Any, ...]]]
) -> None:
    with role_connection(leads, "revops_etl", config.source_db_name(leads)) as conn:
        for statement, params in batch:
            conn.execute(statement, params)
    result = run_ordinary(leads)
    assert not result["lead_state"]["rebuilt"]  # the steps path, not a rebuild
    assert differing(leads) == 0


def test_facts_that_disagree_with_the_state_fail_the_run_and_the_hint_repairs_them(
    leads: dict[str, str],
) -> None:
    """A stored count the state cannot explain (here: edited by hand) is never papered over: the
    run fails with nothing written and the watermark kept, and the repair the error names (a
    rebuilt state and a backfill) brings verify back to 0."""
    created = noon(TODAY - dt.timedelta(days=10))
    etl(
        leads,
        "INSERT INTO crm.leads (lead_id, lead_source, status, created_at, last_modified_at)"
        " VALUES ('DX', 'Referral', 'Open', %s, %s)",
        (created, created),
    )
    run_ordinary(leads)
    assert funnel(leads, "Referral")[-1] == (YESTERDAY, 1, 0, 0)
    with owner_connection(leads) as owner:
        owner.execute("UPDATE metrics.daily_lead_funnel SET total_leads_to_date = 0")
        (watermark,) = owner.execute("SELECT consumed_xmin FROM metrics.capture_state").fetchone()
    etl(leads, "UPDATE crm.leads SET lead_source = 'Partner' WHERE lead_id = 'DX'")
    with role_connection(leads, "revops_runner", config.metrics_db_name(leads)) as conn:
        (result,) = conn.execute("SELECT metrics.run_due('manual')").fetchone()
    assert result["status"] == "failed"
    assert "disagree" in result["error"], result
    with owner_connection(leads) as owner:
        assert owner.execute("SELECT consumed_xmin FROM metrics.capture_state").fetchone() == (
            watermark,
        )
        # nothing of the failed run was kept: Referral still holds its (edited) rows
        assert owner.execute(
            "SELECT count(*) FROM metrics.daily_lead_funnel WHERE lead_source = 'Referral'"
        ).fetchone() == (10,)
        owner.execute("SELECT metrics.sync_lead_state(true)")
        owner.execute("SELECT metrics.backfill_date_range(%s, %s)", (FIRST, YESTERDAY))
    run_ordinary(leads)
    assert funnel(leads, "Referral") == []
    assert differing(leads) == 0
    etl(leads, "DELETE FROM crm.leads WHERE lead_id = 'DX'")
    run_ordinary(leads)
    assert differing(leads) == 0
