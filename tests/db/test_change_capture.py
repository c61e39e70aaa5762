"""Every CRM change, however old, reaches the facts on the next ordinary run.

The source records what each write touched (crm.change_log, statement triggers); a run consumes
it up to the source snapshot's transaction horizon and recomputes those days; verify_range
recomputes a range and compares it with the stored facts. The properties here: after any
sequence of CRM mutations and one run, verify finds 0 differing rows (hypothesis, on generated
mutations of every kind, in America/New_York so DST days are in range); a transaction still open
during a run is consumed by the next one, never skipped; a run killed mid-way consumes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtest import (
    admin_connection,
    insert_rows,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
    set_setting,
    set_timezone,
)
from revops import config

pytestmark = pytest.mark.db

TZ = "America/New_York"
FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 4, 30)  # DST starts 2025-03-09
EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
QUALIFIED = ["Qualified", "SQL", "Sales Qualified", "Closed - Converted"]


def at(day: int, minute: int = 12 * 60) -> dt.datetime:
    """An instant `day` days after 2025-01-01 00:00 UTC (negative: before the range)."""
    return EPOCH + dt.timedelta(days=day, minutes=minute)


BASE_LEADS = [
    {
        "lead_id": f"L{i}",
        "lead_source": ["Web", "Partner", None][i % 3],
        "status": "Open",
        "created_at": at(3 * i, 600 + 37 * i),
        "last_modified_at": at(3 * i, 600 + 37 * i),
    }
    for i in range(6)
]
BASE_HISTORY = [
    {
        "history_id": "H0",
        "lead_id": "L1",
        "changed_at": at(20),
        "old_status": "Open",
        "new_status": "Qualified",
    },
    {
        "history_id": "H1",
        "lead_id": "L2",
        "changed_at": at(67, 6 * 60 + 30),
        "old_status": "Open",
        "new_status": "Working",
    },
]
BASE_OPPORTUNITIES = [
    {
        "opportunity_id": "O0",
        "owner_id": "R0",
        "amount": 1000,
        "created_at": at(10),
        "close_date": dt.date(2025, 2, 1),
        "is_won": True,
        "stage_name": "Closed Won",
    },
    {
        "opportunity_id": "O1",
        "owner_id": "R1",
        "amount": 250.5,
        "created_at": at(40),
        "close_date": None,
        "is_won": False,
        "stage_name": "Prospecting",
    },
]
BASE_ACTIVITIES = [
    {
        "activity_id": "A0",
        "source_object": "Task",
        "owner_id": "R0",
        "type": "Call",
        "activity_date": dt.date(2025, 3, 9),
    },
    {
        "activity_id": "A1",
        "source_object": "Event",
        "owner_id": "R1",
        "activity_at": at(67, 4 * 60 + 30),
    },  # 2025-03-09 04:30Z is Mar 8 23:30 EST
]
REPS = [{"rep_id": "R0", "name": "Ada"}, {"rep_id": "R1", "name": "Bo"}]


def run(env: dict[str, str]) -> dict[str, Any]:
    with role_connection(env, "revops_runner", config.metrics_db_name(env)) as conn:
        row = conn.execute(
            "SELECT metrics.run_due('manual', NULL, NULL, ARRAY[%s::date])", (LAST,)
        ).fetchone()
    assert row is not None
    result: dict[str, Any] = row[0]
    return result


def verify(env: dict[str, str]) -> dict[str, Any]:
    with role_connection(env, "revops_runner", config.metrics_db_name(env)) as conn:
        row = conn.execute("SELECT metrics.verify_range(%s, %s, 5)", (FIRST, LAST)).fetchone()
    assert row is not None
    result: dict[str, Any] = row[0]
    return result


def watermark(env: dict[str, str]) -> int:
    with owner_connection(env) as conn:
        row = conn.execute("SELECT consumed_xmin FROM metrics.capture_state").fetchone()
    assert row is not None
    return int(row[0])


def change_count(env: dict[str, str]) -> int:
    with admin_connection(env, config.source_db_name(env)) as conn:
        row = conn.execute("SELECT count(*) FROM crm.change_log").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def crm(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Base data, backfilled over FIRST..LAST, every seed change consumed."""
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(owner)
    set_timezone(pg_env, TZ)
    insert_rows(etl, "reps", REPS)
    insert_rows(etl, "leads", BASE_LEADS)
    insert_rows(etl, "lead_status_history", BASE_HISTORY)
    insert_rows(etl, "opportunities", BASE_OPPORTUNITIES)
    insert_rows(etl, "activities", BASE_ACTIVITIES)
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as runner:
        runner.execute("SELECT metrics.backfill_date_range(%s, %s)", (FIRST, LAST))
    assert run(pg_env)["status"] == "succeeded"
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(owner)
        set_setting(owner, "qualified_statuses", QUALIFIED)
        set_timezone(pg_env, "UTC")
        etl.close()
        owner.close()


def etl_execute(env: dict[str, str], statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    with role_connection(env, "revops_etl", config.source_db_name(env)) as etl:
        for query, params in statements:
            etl.execute(query, params)


# -- small, exact cases ---------------------------------------------------------------------
def test_a_deal_won_two_months_back_reaches_the_facts(crm: dict[str, str]) -> None:
    before = watermark(crm)
    etl_execute(
        crm,
        [
            (
                (
                    "UPDATE crm.opportunities SET is_won = true, stage_name = 'Closed Won',"
                    " close_date = %s, amount = 777 WHERE opportunity_id = 'O1'"
                ),
                (dt.date(2025, 2, 14),),
            )
        ],
    )
    result = run(crm)
    assert result["status"] == "succeeded", result
    assert result["changes_consumed"] >= 1
    # its created instant (Feb 10 12:00Z), folded to its UTC day, overlaps local Feb 9 and 10;
    # its new close date is Feb 14
    assert result["changed_from"] == "2025-02-09" and result["changed_to"] == "2025-02-14"
    assert watermark(crm) > before
    with owner_connection(crm) as owner:
        row = owner.execute(
            "SELECT closed_won_opportunities, revenue_won FROM metrics.rep_daily_pipeline"
            " WHERE metric_date = '2025-02-14' AND rep_id = 'R1'"
        ).fetchone()
        log = owner.execute(
            "SELECT changes_consumed, changed_from, changed_to FROM metrics.run_log"
            " WHERE metric_date = '2025-02-14' ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
    assert row == (1, 777)
    assert log is not None and log[0] >= 1 and log[1] == dt.date(2025, 2, 9)
    assert verify(crm)["differing"] == 0


def funnel_row(env: dict[str, str], day: dt.date, source: str) -> tuple[Any, ...] | None:
    with owner_connection(env) as owner:
        row = owner.execute(
            "SELECT total_leads_to_date, new_leads, sqls, opportunities_created"
            " FROM metrics.daily_lead_funnel WHERE metric_date = %s AND lead_source = %s",
            (day, source),
        ).fetchone()
    return None if row is None else tuple(row)


def test_late_deals_recount_their_days_in_one_pass_per_table(crm: dict[str, str]) -> None:
    """Deals and an activity on days months apart: each fact table is recomputed once over its
    own days (the funnel recounts only its opportunities: its lead columns stay exact), and a
    funnel row left with nothing goes."""
    feb20, apr1 = dt.date(2025, 2, 20), dt.date(2025, 4, 1)
    deal = (
        "INSERT INTO crm.opportunities (opportunity_id, owner_id, amount, created_at,"
        " is_won, stage_name, lead_source) VALUES (%s, 'R0', 10, %s, false, 'Open', %s)"
    )
    etl_execute(
        crm,
        [
            (deal, ("O7", at(50), "Event")),  # Feb 20 12:00Z: the UTC day overlaps Feb 19-20
            (deal, ("O8", at(90), "Web")),  # Apr 1 12:00Z: Mar 31 - Apr 1
            (
                (
                    "INSERT INTO crm.activities (activity_id, source_object, owner_id, type,"
                    " activity_date) VALUES ('A7', 'Task', 'R1', 'Call', %s)"
                ),
                (dt.date(2025, 3, 3),),
            ),
        ],
    )
    try:
        result = run(crm)
        assert result["status"] == "succeeded", result
        # the asked day recomputed whole, then one pass per table over its own days
        assert [r["from_date"] for r in result["ranges"]] == [str(LAST), "2025-02-19"]
        assert result["ranges"][1]["tables"] == {
            "daily_lead_funnel": 4,
            "rep_daily_pipeline": 4,
            "rep_daily_activity": 1,
        }
        # 'Event' has no lead: its row holds the deal alone; Web keeps its two leads to date
        # (L0 on Jan 1, L3 on Jan 10) beside its deal
        assert funnel_row(crm, feb20, "Event") == (0, 0, 0, 1)
        assert funnel_row(crm, apr1, "Web") == (2, 0, 0, 1)

        etl_execute(
            crm,
            [("UPDATE crm.opportunities SET lead_source = 'Web' WHERE opportunity_id = 'O7'", ())],
        )
        assert run(crm)["status"] == "succeeded"
        assert funnel_row(crm, feb20, "Event") is None
        assert funnel_row(crm, feb20, "Web") == (2, 0, 0, 1)

        etl_execute(
            crm,
            [("UPDATE crm.opportunities SET is_deleted = true WHERE opportunity_id = 'O7'", ())],
        )
        assert run(crm)["status"] == "succeeded"
        assert funnel_row(crm, feb20, "Web") == (2, 0, 0, 0)
        assert verify(crm)["differing"] == 0
    finally:
        etl_execute(
            crm,
            [
                ("DELETE FROM crm.opportunities WHERE opportunity_id IN ('O7', 'O8')", ()),
                ("DELETE FROM crm.activities WHERE activity_id = 'A7'", ()),
            ],
        )
        assert run(crm)["status"] == "succeeded"


def test_an_identical_rewrite_records_nothing(crm: dict[str, str]) -> None:
    before = change_count(crm)
    etl_execute(
        crm,
        [
            ("UPDATE crm.leads SET status = status, raw = '{\"touched\": 1}'", ()),
            ("UPDATE crm.activities SET subject = 'not a metric column'", ()),
            ("UPDATE crm.reps SET email = 'x@example.com'", ()),
        ],
    )
    assert change_count(crm) == before


def test_a_rename_names_every_day(crm: dict[str, str]) -> None:
    etl_execute(crm, [("UPDATE crm.reps SET name = 'Ada Lovelace' WHERE rep_id = 'R0'", ())])
    result = run(crm)
    assert result["status"] == "succeeded" and result["rep_names_updated"] >= 2, result
    with owner_connection(crm) as owner:
        names = owner.execute(
            "SELECT DISTINCT rep_name FROM metrics.rep_daily_activity WHERE rep_id = 'R0'"
            " UNION SELECT DISTINCT rep_name FROM metrics.rep_daily_pipeline WHERE rep_id = 'R0'"
        ).fetchall()
    assert names == [("Ada Lovelace",)]
    assert verify(crm)["differing"] == 0


def test_a_settings_change_recuts_every_computed_day(crm: dict[str, str]) -> None:
    with owner_connection(crm) as owner:
        set_setting(owner, "qualified_statuses", ["Working"])
        try:
            done = owner.execute(
                "SELECT count(*) FROM metrics.days_succeeded(%s, %s)", (FIRST, LAST)
            )
            assert done.fetchone() == (0,)  # backfill --resume redoes them all
            result = run(crm)
            assert result["status"] == "succeeded"
            assert result["days"] == (LAST - FIRST).days + 1
            assert verify(crm)["differing"] == 0
        finally:
            set_setting(owner, "qualified_statuses", QUALIFIED)
    assert run(crm)["days"] == (LAST - FIRST).days + 1


def test_a_transaction_open_during_a_run_is_consumed_by_the_next(crm: dict[str, str]) -> None:
    """The sequence race: a change whose transaction began before a run and commits after it
    must not fall behind the watermark."""
    slow = role_connection(crm, "revops_etl", config.source_db_name(crm))
    try:
        slow.execute("BEGIN")
        slow.execute(
            "INSERT INTO crm.leads (lead_id, lead_source, status, created_at)"
            " VALUES ('LATE', 'Web', 'SQL', %s)",
            (at(5),),
        )
        # a later, quicker transaction commits first
        etl_execute(crm, [("UPDATE crm.leads SET status = 'Working' WHERE lead_id = 'L0'", ())])
        assert run(crm)["status"] == "succeeded"
        slow.execute("COMMIT")
    finally:
        slow.close()
    assert verify(crm)["differing"] > 0  # the late lead is not in the facts yet
    result = run(crm)
    assert result["status"] == "succeeded" and result["changes_consumed"] >= 1
    assert verify(crm)["differing"] == 0


def test_a_run_waits_for_an_ingest_in_progress(crm: dict[str, str]) -> None:
    holder = role_connection(crm, "revops_etl", config.source_db_name(crm))
    try:
        holder.execute("SELECT pg_advisory_lock_shared(7311003)")
        etl_execute(crm, [("UPDATE crm.leads SET lead_source = 'Fair' WHERE lead_id = 'L3'", ())])
        before = watermark(crm)
        result = run(crm)
        assert result["status"] == "skipped" and "ingest" in result["error"], result
        assert watermark(crm) == before
    finally:
        holder.close()
    assert run(crm)["status"] == "succeeded"
    assert verify(crm)["differing"] == 0


def test_a_killed_run_consumes_nothing(crm: dict[str, str]) -> None:
    etl_execute(
        crm,
        [("UPDATE crm.opportunities SET amount = 1234 WHERE opportunity_id = 'O0'", ())],
    )
    before = watermark(crm)
    blocker = owner_connection(crm)
    blocker.execute("BEGIN")
    blocker.execute("SELECT * FROM metrics.capture_state FOR UPDATE")  # the run stops there
    env = {**crm, "PGAPPNAME": "revops-kill-test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "revops.cli", "run", "--date", str(LAST)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with admin_connection(crm) as admin:
            for _ in range(300):
                waiting = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE usename = 'revops_runner'"
                    " AND wait_event_type = 'Lock'"
                ).fetchall()
                if waiting:
                    break
                time.sleep(0.1)
            assert waiting, "the run never reached the watermark update"
            os.kill(proc.pid, signal.SIGKILL)  # kill -9 of the run, mid-way
            proc.wait(timeout=30)
            admin.execute("SELECT pg_terminate_backend(%s)", (waiting[0][0],))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        if proc.poll() is None:
            proc.kill()
    assert watermark(crm) == before
    assert verify(crm)["differing"] > 0  # nothing of the killed run was kept
    assert run(crm)["status"] == "succeeded"
    assert verify(crm)["differing"] == 0


# -- the property -----------------------------------------------------------------------------
LEAD_IDS = [f"L{i}" for i in range(8)]
STATUSES = st.sampled_from(
    ["Open", "Working", "Qualified", " sql ", "Nurture", "Closed - Converted", None]
)
SOURCES = st.sampled_from(["Web", "Partner", " Web ", None, ""])
DAYS = st.integers(min_value=-40, max_value=135)  # before the range, inside it, after it
MINUTES = st.sampled_from([0, 59, 4 * 60 + 30, 5 * 60, 6 * 60 + 59, 12 * 60, 23 * 60 + 45])


def instants() -> st.SearchStrategy[dt.datetime]:
    return st.builds(at, DAYS, MINUTES)


def dates() -> st.SearchStrategy[dt.date]:
    return st.builds(lambda d: (EPOCH + dt.timedelta(days=d)).date(), DAYS)


UPSERT = (
    "INSERT INTO crm.{table} ({cols}) VALUES ({marks}) ON CONFLICT ({key}) DO UPDATE SET {sets}"
)


def upsert(table: str, key: str, row: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    cols = list(row)
    query = UPSERT.format(
        table=table,
        cols=", ".join(cols),
        marks=", ".join(["%s"] * len(cols)),
        key=key,
        sets=", ".join(f"{c} = excluded.{c}" for c in cols if c != key)
        or f"{key} = excluded.{key}",
    )
    return query, tuple(row[c] for c in cols)


MUTATIONS = st.one_of(
    st.builds(
        lambda i, s, src, c, conv, lm, dele: upsert(
            "leads",
            "lead_id",
            {
                "lead_id": i,
                "status": s,
                "lead_source": src,
                "created_at": c,
                "converted_date": conv,
                "is_converted": conv is not None,
                "last_modified_at": lm,
                "is_deleted": dele,
            },
        ),
        st.sampled_from(LEAD_IDS),
        STATUSES,
        SOURCES,
        instants(),
        st.none() | dates(),
        st.none() | instants(),
        st.booleans(),
    ),
    st.builds(
        lambda h, i, c, o, n, dele: upsert(
            "lead_status_history",
            "history_id",
            {
                "history_id": h,
                "lead_id": i,
                "changed_at": c,
                "old_status": o,
                "new_status": n,
                "is_deleted": dele,
            },
        ),
        st.sampled_from([f"H{i}" for i in range(6)]),
        st.sampled_from(LEAD_IDS),
        instants(),
        STATUSES,
        STATUSES,
        st.booleans(),
    ),
    st.builds(
        lambda o, owner, amt, c, close, won, dele, src: upsert(
            "opportunities",
            "opportunity_id",
            {
                "opportunity_id": o,
                "owner_id": owner,
                "amount": amt,
                "created_at": c,
                "close_date": close,
                "is_won": won,
                "stage_name": "Closed Won" if won else "Open",
                "is_deleted": dele,
                "lead_source": src,
            },
        ),
        st.sampled_from(["O0", "O1", "O2", "O3"]),
        st.sampled_from(["R0", "R1", "R9", None]),
        st.none() | st.integers(0, 5000),
        instants(),
        st.none() | dates(),
        st.none() | st.booleans(),
        st.booleans(),
        SOURCES,
    ),
    st.builds(
        lambda a, obj, owner, kind, d, t, c, allday, child, dele: upsert(
            "activities",
            "activity_id",
            {
                "activity_id": a,
                "source_object": obj,
                "owner_id": owner,
                "type": kind,
                "activity_date": d,
                "activity_at": t,
                "created_at": c,
                "is_all_day_event": allday,
                "is_child": child,
                "is_deleted": dele,
            },
        ),
        st.sampled_from([f"A{i}" for i in range(6)]),
        st.sampled_from(["Task", "Event"]),
        st.sampled_from(["R0", "R1", "R9", None]),
        st.sampled_from(["Call", "Email", None]),
        st.none() | dates(),
        st.none() | instants(),
        st.none() | instants(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    ),
    st.builds(
        lambda r, name: upsert("reps", "rep_id", {"rep_id": r, "name": name}),
        st.sampled_from(["R0", "R1", "R9"]),
        st.sampled_from(["Ada", "Bo", "Cy", None]),
    ),
    st.builds(
        lambda table, key, ident: (f"DELETE FROM crm.{table} WHERE {key} = %s", (ident,)),
        st.just("leads"),
        st.just("lead_id"),
        st.sampled_from(LEAD_IDS),
    ),
    st.builds(
        lambda ident: ("DELETE FROM crm.activities WHERE activity_id = %s", (ident,)),
        st.sampled_from([f"A{i}" for i in range(6)]),
    ),
    st.builds(
        lambda ident: ("DELETE FROM crm.reps WHERE rep_id = %s", (ident,)),
        st.sampled_from(["R1", "R9"]),
    ),
)


@settings(
    max_examples=int(os.environ.get("REVOPS_CAPTURE_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(MUTATIONS, max_size=5), requalify=st.booleans())
def test_any_mutations_then_one_run_equals_a_full_recompute(
    crm: dict[str, str], batch: list[tuple[str, tuple[Any, ...]]], requalify: bool
) -> None:
    etl_execute(crm, batch)
    if requalify:  # a change of a setting that defines a metric is a change too
        with owner_connection(crm) as owner:
            current = owner.execute(
                "SELECT setting_value FROM metrics.settings WHERE setting_name = 'qualified_statuses'"
            ).fetchone()
            assert current is not None
            flipped = QUALIFIED if current[0] != QUALIFIED else [*QUALIFIED, "Working"]
            set_setting(owner, "qualified_statuses", flipped)
    result = run(crm)
    assert result["status"] == "succeeded", result
    checked = verify(crm)
    assert checked["differing"] == 0, (batch, checked)


def test_an_ingest_session_holds_runs_off_and_prunes_the_log(crm: dict[str, str]) -> None:
    from revops.ingest.session import ingest_session

    def ingest_running() -> bool:
        with owner_connection(crm) as owner:
            row = owner.execute("SELECT metrics.pending_report() ->> 'ingest_running'").fetchone()
        assert row is not None
        return row[0] == "true"

    def old_change() -> None:  # a change recorded 400 days ago: past the 35 days kept
        with admin_connection(crm, config.source_db_name(crm)) as admin:
            admin.execute(
                "INSERT INTO crm.change_log (source_table, affected_date, recorded_at)"
                " VALUES ('test', '2025-01-05', now() - interval '400 days')"
            )

    def session() -> None:
        with role_connection(crm, "revops_etl", config.source_db_name(crm)) as etl:
            with ingest_session(etl):
                assert ingest_running()
            assert not ingest_running()

    old_change()
    assert not ingest_running()
    assert run(crm)["status"] == "succeeded"  # consumed
    session()  # ... then pruned
    with admin_connection(crm, config.source_db_name(crm)) as admin:
        left = admin.execute(
            "SELECT count(*) FROM crm.change_log WHERE source_table = 'test'"
        ).fetchone()
    assert left == (0,)
    result = run(crm)  # nothing was lost: an ordinary run
    assert result["status"] == "succeeded" and result["days"] == 1, result

    old_change()
    session()  # pruned before any run consumed it: the next run recomputes every day
    result = run(crm)
    assert result["status"] == "succeeded" and result["days"] == (LAST - FIRST).days + 1, result
    assert run(crm)["days"] == 1


def test_a_failed_run_keeps_the_watermark(crm: dict[str, str]) -> None:
    # a change whatever earlier examples left in the row (an identical rewrite records nothing)
    etl_execute(
        crm,
        [
            (
                (
                    "UPDATE crm.opportunities SET amount = coalesce(amount, 0) + 1"
                    " WHERE opportunity_id = 'O0'"
                ),
                (),
            )
        ],
    )
    before = watermark(crm)
    with owner_connection(crm) as owner:
        set_setting(owner, "qualified_statuses", "not a list")  # every run now fails
        try:
            result = run(crm)
        finally:
            set_setting(owner, "qualified_statuses", QUALIFIED)
        logged = owner.execute(
            "SELECT status, error_text FROM metrics.run_log ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
    assert result["status"] == "failed" and result["changes_consumed"] == 0, result
    assert logged is not None and logged[0] == "failed" and "scalar" in logged[1]
    assert watermark(crm) == before
    assert run(crm)["changes_consumed"] >= 1
    assert verify(crm)["differing"] == 0
