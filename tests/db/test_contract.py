"""The SQL entry points' contract: roles and grants, bad arguments, concurrency, bootstrap.

Small data: a handful of leads is enough to see rows appear or not.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgtest import (
    admin_connection,
    insert_rows,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
)
from revops import config
from revops.bootstrap import bootstrap

pytestmark = pytest.mark.db

DAY = dt.date(2025, 6, 2)


@pytest.fixture(scope="module")
def small_data(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(owner)
    insert_rows(
        etl,
        "leads",
        [
            {
                "lead_id": f"L{i}",
                "lead_source": "Web",
                "status": "Open",
                "created_at": dt.datetime(2025, 6, 1 + i % 3, 12, tzinfo=dt.UTC),
            }
            for i in range(9)
        ],
    )
    insert_rows(
        etl,
        "activities",
        [
            {
                "activity_id": "A1",
                "source_object": "Task",
                "owner_id": None,
                "type": "Call",
                "activity_date": DAY,
            }
        ],
    )
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(owner)
        etl.close()
        owner.close()


def fact_rows(conn: psycopg.Connection[Any], day: dt.date) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for table in (
        "daily_lead_funnel",
        "rep_daily_activity",
        "rep_daily_pipeline",
        "lead_stage_snapshot",
    ):
        cur = conn.execute(
            f"SELECT * FROM metrics.{table} WHERE metric_date = %s ORDER BY 1, 2",
            (day,),
        )
        names = [c.name for c in cur.description or ()]
        keep = [i for i, name in enumerate(names) if name != "computed_at"]
        out += [(table, *(r[i] for i in keep)) for r in cur.fetchall()]
    return out


# -- roles ---------------------------------------------------------------------------------
def test_no_application_role_is_superuser(pg_env: dict[str, str]) -> None:
    with admin_connection(pg_env) as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles"
            " WHERE rolname LIKE 'revops%%' ORDER BY 1"
        ).fetchall()
    assert [r[0] for r in rows] == [
        "revops_bi",
        "revops_etl",
        "revops_fdw_reader",
        "revops_owner",
        "revops_runner",
    ]
    assert all(r[1:4] == (False, False, False) for r in rows)
    # every role logs in except the owner, which only bootstrap becomes (SET ROLE)
    assert {r[0]: r[4] for r in rows} == {
        "revops_bi": True,
        "revops_etl": True,
        "revops_fdw_reader": True,
        "revops_owner": False,
        "revops_runner": True,
    }


def test_bi_reads_facts_but_not_crm_remote_or_writers(small_data: dict[str, str]) -> None:
    with role_connection(small_data, "revops_bi", config.metrics_db_name(small_data)) as bi:
        bi.execute("SELECT count(*) FROM metrics.daily_lead_funnel").fetchone()
        bi.execute("SELECT count(*) FROM metrics.freshness").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("SELECT count(*) FROM crm_remote.leads")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("DELETE FROM metrics.daily_lead_funnel")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("SELECT count(*) FROM metrics.run_log")


def test_bi_and_etl_cannot_reach_the_other_database(small_data: dict[str, str]) -> None:
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        role_connection(small_data, "revops_bi", config.source_db_name(small_data))
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        role_connection(small_data, "revops_etl", config.metrics_db_name(small_data))


def test_runner_cannot_reach_crm(small_data: dict[str, str]) -> None:
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        role_connection(small_data, "revops_runner", config.source_db_name(small_data))
    with role_connection(small_data, "revops_runner", config.metrics_db_name(small_data)) as runner:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runner.execute("DELETE FROM crm_remote.leads")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runner.execute("SELECT count(*) FROM crm_remote.leads")
    with owner_connection(small_data) as owner:
        assert owner.execute("SELECT count(*) FROM crm_remote.leads").fetchone() == (9,)
        # the server is read-only whatever a foreign table says
        with pytest.raises(psycopg.Error, match="permission denied|does not allow|read-only"):
            owner.execute("DELETE FROM crm_remote.leads")


def test_fdw_reader_is_read_only(small_data: dict[str, str]) -> None:
    with role_connection(
        small_data, "revops_fdw_reader", config.source_db_name(small_data)
    ) as reader:
        assert reader.execute("SELECT count(*) FROM crm.leads").fetchone() == (9,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("UPDATE crm.leads SET status = 'x'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("CREATE TABLE crm.evil (x int)")
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        role_connection(small_data, "revops_fdw_reader", config.metrics_db_name(small_data))


def test_fdw_mapping_checks_a_password(small_data: dict[str, str]) -> None:
    """The FDW logs in as revops_fdw_reader over 127.0.0.1 with a password, not trust/peer,
    and only the owner (as which the entry points run) has a mapping."""
    with admin_connection(small_data) as conn:
        options = conn.execute(
            "SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'revops_source'"
        ).fetchone()
        mappings = conn.execute(
            "SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'revops_source'"
        ).fetchall()
    assert options is not None and "host=127.0.0.1" in options[0]
    assert "updatable=false" in options[0]
    assert [m[0] for m in mappings] == ["revops_owner"]
    assert "user=revops_fdw_reader" in mappings[0][1]
    assert any(o.startswith("password=") for o in mappings[0][1])


# -- bad arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "params", "message"),
    [
        ("SELECT metrics.run_daily_metrics(NULL)", (), "must not be NULL"),
        (
            "SELECT metrics.backfill_date_range(%s, %s)",
            (DAY, DAY - dt.timedelta(days=1)),
            "is after",
        ),
        ("SELECT metrics.backfill_date_range(NULL, %s)", (DAY,), "must not be NULL"),
        ("SELECT metrics.run_daily_metrics(current_date + 5)", (), "after today"),
        ("SELECT metrics.backfill_last_n_days(0)", (), "between 1 and"),
        ("SELECT metrics.backfill_last_n_days(NULL)", (), "between 1 and"),
        ("SELECT metrics.run_daily_metrics(%s, 'cron')", (DAY,), "trigger must be"),
        (
            "SELECT metrics.refresh_daily_lead_funnel(%s, %s)",
            (DAY, DAY - dt.timedelta(days=2)),
            "is after",
        ),
    ],
)
def test_bad_arguments_raise_and_change_nothing(
    small_data: dict[str, str],
    runner_conn: psycopg.Connection[Any],
    owner_conn: psycopg.Connection[Any],
    call: str,
    params: tuple[Any, ...],
    message: str,
) -> None:
    runner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,))
    before_rows = fact_rows(owner_conn, DAY)
    before_log = owner_conn.execute("SELECT count(*) FROM metrics.run_log").fetchone()
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
        runner_conn.execute(call, params)
    assert fact_rows(owner_conn, DAY) == before_rows
    assert owner_conn.execute("SELECT count(*) FROM metrics.run_log").fetchone() == before_log


# -- idempotency and concurrency -------------------------------------------------------------
def test_run_twice_gives_identical_rows(
    small_data: dict[str, str],
    runner_conn: psycopg.Connection[Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    runner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,))
    first = fact_rows(owner_conn, DAY)
    runner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,))
    assert fact_rows(owner_conn, DAY) == first
    assert first, "the day has rows"


def test_concurrent_runs_of_one_day(
    small_data: dict[str, str],
    runner_conn: psycopg.Connection[Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    runner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,))
    expected = fact_rows(owner_conn, DAY)
    before = owner_conn.execute("SELECT max(run_id) FROM metrics.run_log").fetchone()
    assert before is not None
    sessions = 6
    barrier = threading.Barrier(sessions)
    errors: list[BaseException] = []
    results: list[str] = []

    def worker() -> None:
        try:
            with role_connection(
                small_data, "revops_runner", config.metrics_db_name(small_data)
            ) as conn:
                barrier.wait(timeout=30)
                row = conn.execute(
                    "SELECT metrics.run_daily_metrics(%s, 'systemd')", (DAY,)
                ).fetchone()
                assert row is not None
                results.append(row[0]["status"])
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert results == ["succeeded"] * sessions
    assert fact_rows(owner_conn, DAY) == expected
    logged = owner_conn.execute(
        "SELECT status, trigger, count(*) FROM metrics.run_log WHERE run_id > %s GROUP BY 1, 2",
        (before[0],),
    ).fetchall()
    assert logged == [("succeeded", "systemd", sessions)]


def test_failure_is_logged_and_keeps_old_rows(
    small_data: dict[str, str],
    runner_conn: psycopg.Connection[Any],
    owner_conn: psycopg.Connection[Any],
    pg_env: dict[str, str],
) -> None:
    runner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,))
    expected = fact_rows(owner_conn, DAY)
    with owner_connection(pg_env) as admin:
        # break the qualified_statuses setting so the computation fails mid-way
        admin.execute(
            "UPDATE metrics.settings SET setting_value = '\"not an array\"'"
            " WHERE setting_name = 'qualified_statuses'"
        )
        try:
            row = runner_conn.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,)).fetchone()
        finally:
            admin.execute(
                "UPDATE metrics.settings SET setting_value ="
                ' \'["Qualified", "SQL", "Sales Qualified", "Closed - Converted"]\''
                " WHERE setting_name = 'qualified_statuses'"
            )
    assert row is not None and row[0]["status"] == "failed"
    assert "scalar" in row[0]["error"]
    assert fact_rows(owner_conn, DAY) == expected
    last = owner_conn.execute(
        "SELECT status, error_text FROM metrics.run_log ORDER BY run_id DESC LIMIT 1"
    ).fetchone()
    assert last is not None and last[0] == "failed" and "scalar" in last[1]


# -- bootstrap -------------------------------------------------------------------------------
def schema_fingerprint(env: dict[str, str]) -> list[Any]:
    out: list[Any] = []
    for db in (config.source_db_name(env), config.metrics_db_name(env)):
        with admin_connection(env, db) as conn:
            out += conn.execute(
                "SELECT n.nspname, c.relname, c.relkind, c.oid, c.relacl::text FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname IN ('crm', 'crm_remote', 'metrics', 'revops_meta') ORDER BY 1, 2"
            ).fetchall()
            out += conn.execute(
                "SELECT p.proname, p.oid, p.proacl::text, md5(p.prosrc) FROM pg_proc p"
                " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'metrics'"
                " ORDER BY 1"
            ).fetchall()
    with admin_connection(env) as conn:
        out += conn.execute(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'revops%%' ORDER BY 1"
        ).fetchall()
        out += conn.execute("SELECT umoptions FROM pg_user_mappings ORDER BY usename").fetchall()
    return out


def test_bootstrap_again_changes_nothing(pg_env: dict[str, str]) -> None:
    before = schema_fingerprint(pg_env)
    report = bootstrap(env=pg_env)
    assert report.applied_migrations == []
    assert report.changed == []
    assert schema_fingerprint(pg_env) == before


def test_bootstrap_rejects_unknown_timezone(pg_env: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError, match="unknown time zone"):
        bootstrap(timezone="Mars/Olympus_Mons", env=pg_env)
