"""Least privilege, tried as an attacker who holds revops_runner's password would.

The runner owns nothing and executes only the entry points (SECURITY DEFINER as the NOLOGIN
revops_owner, search_path pinned). Each way it could once become superuser, read the source
directly or see the FDW password must now fail with a permission error; an admin-side bootstrap
after such a session must not run anything the runner chose; an installation of the old model
(the runner owned metrics.*) is cleaned up in place by bootstrap.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgtest import admin_connection, owner_connection, reset_metrics, role_connection
from revops import config
from revops.bootstrap import BootstrapReport, apply_migrations, bootstrap
from revops.db import db_dir

pytestmark = pytest.mark.db

DAY = dt.date(2025, 6, 2)
ENTRY_POINTS = {
    "backfill_date_range(date,date,text,text,text)",
    "backfill_last_n_days(integer,text,text,text)",
    "business_timezone()",
    "business_today()",
    "check_date_range(date,date)",
    "data_quality_report()",
    "days_due(integer,integer)",
    "days_succeeded(date,date)",
    "freshness_report()",
    "recent_runs(integer)",
    "refresh_daily_lead_funnel(date,date)",
    "refresh_lead_stage_snapshot(date,date)",
    "refresh_rep_daily_activity(date,date)",
    "refresh_rep_daily_pipeline(date,date)",
    "run_daily_metrics(date,text,text,text)",
    "run_due(text,text,text,date[],integer,integer,boolean)",
    "verify_range(date,date,integer)",
    "pending_report()",
    "record_data_quality(text)",
    "setting(text)",
}
# one function of the attack in the issue: it makes the runner superuser when anyone runs it
ESCALATE = (
    "CREATE FUNCTION {}() RETURNS text LANGUAGE plpgsql AS"
    " $f$BEGIN EXECUTE 'ALTER ROLE revops_runner SUPERUSER'; RETURN 'UTC'; END$f$"
)


def runner_is_superuser(env: dict[str, str]) -> bool:
    with admin_connection(env, "postgres") as conn:
        row = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = 'revops_runner'"
        ).fetchone()
    assert row is not None
    return bool(row[0])


@pytest.fixture
def runner(pg_env: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as conn:
        yield conn


# -- what the runner may do ------------------------------------------------------------------
def test_runner_executes_exactly_the_entry_points(pg_env: dict[str, str]) -> None:
    with admin_connection(pg_env) as conn:
        rows = conn.execute(
            "SELECT replace(p.oid::regprocedure::text, 'metrics.', ''),"
            " p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner),"
            " has_function_privilege('revops_runner', p.oid, 'EXECUTE')"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'metrics'"
        ).fetchall()
    executable = {r[0].replace(" ", "") for r in rows if r[4]}
    assert executable == ENTRY_POINTS
    for signature, secdef, proconfig, owner, can_execute in rows:
        assert owner == "revops_owner", signature
        if secdef or can_execute:
            assert secdef, f"{signature} is an entry point but not SECURITY DEFINER"
            assert proconfig and "search_path=pg_catalog, pg_temp" in proconfig, signature


def test_owner_owns_everything_in_the_metrics_database(pg_env: dict[str, str]) -> None:
    with admin_connection(pg_env) as conn:
        schemas = conn.execute(
            "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
            " WHERE nspname IN ('metrics', 'crm_remote') ORDER BY 1"
        ).fetchall()
        relations = conn.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('metrics', 'crm_remote')"
            " AND pg_get_userbyid(c.relowner) <> 'revops_owner'"
        ).fetchall()
        owned_by_runner = conn.execute(
            "SELECT count(*) FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid"
            " WHERE r.rolname = 'revops_runner' AND d.deptype = 'o'"
        ).fetchone()
    assert schemas == [("crm_remote", "revops_owner"), ("metrics", "revops_owner")]
    assert relations == []
    assert owned_by_runner == (0,)


def test_runner_session_settings(runner: psycopg.Connection[Any]) -> None:
    row = runner.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    assert row == ("10min",)


# -- attacks ---------------------------------------------------------------------------------
ATTACKS = [
    pytest.param(
        "CREATE OR REPLACE FUNCTION metrics.business_timezone() RETURNS text"
        " LANGUAGE sql AS $f$SELECT 'UTC'$f$",
        id="replace-function",
    ),
    pytest.param("DROP FUNCTION metrics.business_timezone()", id="drop-function"),
    pytest.param(ESCALATE.format("metrics.evil"), id="create-function"),
    pytest.param(ESCALATE.format("public.evil"), id="create-function-in-public"),
    pytest.param(ESCALATE.format("pg_temp.evil"), id="create-temp-function"),
    pytest.param(
        "CREATE TRIGGER evil BEFORE UPDATE ON metrics.settings"
        " FOR EACH ROW EXECUTE FUNCTION metrics.business_timezone()",
        id="trigger-on-settings",
    ),
    pytest.param(
        "CREATE RULE evil AS ON UPDATE TO metrics.settings DO ALSO NOTIFY evil",
        id="rule-on-settings",
    ),
    pytest.param("CREATE POLICY evil ON metrics.settings USING (true)", id="policy-on-settings"),
    pytest.param("ALTER TABLE metrics.settings ADD COLUMN evil text", id="alter-table"),
    pytest.param("ALTER TABLE metrics.run_log OWNER TO revops_runner", id="take-ownership"),
    pytest.param("CREATE TABLE metrics.evil (x int)", id="create-table"),
    pytest.param("CREATE VIEW metrics.evil AS SELECT 1 AS x", id="create-view"),
    pytest.param("CREATE SCHEMA evil", id="create-schema"),
    pytest.param("CREATE TEMP TABLE evil (x int)", id="temp-table"),
    pytest.param(
        "UPDATE metrics.settings SET setting_value = '\"Asia/Tokyo\"'"
        " WHERE setting_name = 'business_timezone'",
        id="write-settings",
    ),
    pytest.param("DELETE FROM metrics.daily_lead_funnel", id="write-facts"),
    pytest.param("SELECT count(*) FROM metrics.run_log", id="read-run-log"),
    pytest.param("SELECT count(*) FROM crm_remote.leads", id="read-foreign-table"),
    pytest.param(
        "SELECT metrics.run_metrics_range(current_date - 1, current_date - 1)", id="helper"
    ),
    pytest.param("SELECT metrics.lock_metrics(0)", id="helper-lock"),
    pytest.param(
        "CREATE FOREIGN TABLE public.evil (x int) SERVER revops_source", id="use-foreign-server"
    ),
    pytest.param(
        "CREATE USER MAPPING FOR revops_runner SERVER revops_source"
        " OPTIONS (user 'revops_fdw_reader')",
        id="create-user-mapping",
    ),
    pytest.param("ALTER SERVER revops_source OPTIONS (SET host 'evil.example')", id="alter-server"),
    pytest.param("ALTER ROLE revops_runner SUPERUSER", id="alter-role"),
    pytest.param("SET ROLE revops_owner", id="become-owner"),
]


@pytest.mark.parametrize("statement", ATTACKS)
def test_runner_attack_fails_with_a_permission_error(
    runner: psycopg.Connection[Any], statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        runner.execute(statement)


def test_runner_cannot_read_the_mapping_password(runner: psycopg.Connection[Any]) -> None:
    rows = runner.execute(
        "SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'revops_source'"
    ).fetchall()
    assert rows, "the mapping exists (for revops_owner)"
    assert all(options is None for _user, options in rows), rows


def test_runner_cannot_connect_to_the_source(pg_env: dict[str, str]) -> None:
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        role_connection(pg_env, "revops_runner", config.source_db_name(pg_env))


def test_admin_bootstrap_after_a_runner_session_is_not_subverted(pg_env: dict[str, str]) -> None:
    """The issue's reproduction, then a bootstrap as the admin that updates metrics.settings
    (the trigger path) and reads it: nothing the runner tried runs, nothing escalates."""
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as runner:
        runner.execute("BEGIN")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runner.execute("DROP FUNCTION metrics.business_timezone()")
        runner.execute("ROLLBACK")
        for attack in (ESCALATE.format("metrics.business_timezone_v2"),):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                runner.execute(attack)
    bootstrap(timezone="America/Chicago", env=pg_env)
    try:
        assert not runner_is_superuser(pg_env)
        with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as runner:
            assert runner.execute("SELECT metrics.business_timezone()").fetchone() == (
                "America/Chicago",
            )
    finally:
        bootstrap(timezone="UTC", env=pg_env)


# -- the old model, upgraded in place ---------------------------------------------------------
@pytest.fixture
def old_model_metrics_db(pg_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """A second metrics database as the first release left it (migrations 0001-0002: the runner
    owns metrics.*), with the runner's traps planted in it."""
    name = "revops_upgrade_probe"
    env = {**pg_env, "REVOPS_METRICS_DB": name}
    old = tmp_path / "migrations"
    old.mkdir()
    for path in sorted((db_dir() / "metrics" / "migrations").glob("000[12]_*.sql")):
        (old / path.name).write_bytes(path.read_bytes())
    with admin_connection(pg_env, "postgres") as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with admin_connection(env, name) as met:
        apply_migrations(met, old, BootstrapReport(), "metrics")
    try:
        yield env
    finally:
        with admin_connection(pg_env, "postgres") as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            admin.execute("ALTER ROLE revops_runner NOSUPERUSER")


def test_bootstrap_upgrades_the_old_model_and_removes_the_traps(
    old_model_metrics_db: dict[str, str],
) -> None:
    env = old_model_metrics_db
    with role_connection(env, "revops_runner", config.metrics_db_name(env)) as runner:
        # what the old model let the runner do: every trap escalates when it runs
        runner.execute(ESCALATE.format("metrics.business_timezone"))
        runner.execute(
            "CREATE FUNCTION metrics.evil_trigger() RETURNS trigger LANGUAGE plpgsql AS"
            " $f$BEGIN EXECUTE 'ALTER ROLE revops_runner SUPERUSER'; RETURN NEW; END$f$"
        )
        runner.execute(
            "CREATE TRIGGER evil BEFORE UPDATE ON metrics.settings"
            " FOR EACH ROW EXECUTE FUNCTION metrics.evil_trigger()"
        )
        runner.execute("CREATE POLICY evil ON metrics.settings USING (true)")
        runner.execute("GRANT ALL ON metrics.settings TO PUBLIC")
    report = bootstrap(timezone="America/Chicago", env=env)
    assert "metrics/0003_transfer_metrics_to_owner.sql" in report.applied_migrations
    assert not runner_is_superuser(env)
    with admin_connection(env) as conn:
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'metrics.settings'::regclass"
            " AND NOT tgisinternal"
        ).fetchall()
        policies = conn.execute(
            "SELECT polname FROM pg_policy WHERE polrelid = 'metrics.settings'::regclass"
        ).fetchall()
        body = conn.execute(
            "SELECT prosrc, pg_get_userbyid(proowner) FROM pg_proc"
            " WHERE oid = 'metrics.business_timezone()'::regprocedure"
        ).fetchone()
        leftovers = conn.execute(
            "SELECT count(*) FROM pg_proc WHERE proname = 'evil_trigger'"
        ).fetchone()
        acl = conn.execute(
            "SELECT relacl::text FROM pg_class WHERE oid = 'metrics.settings'::regclass"
        ).fetchone()
    assert triggers == [] and policies == [] and leftovers == (0,)
    assert body is not None and "ALTER ROLE" not in body[0] and body[1] == "revops_owner"
    assert acl is not None and not any(
        item.startswith("=") for item in (acl[0] or "{}").strip("{}").split(",")
    ), acl  # the runner's grant to PUBLIC is gone
    # and it runs: the upgraded database computes a day as the runner
    with role_connection(env, "revops_runner", config.metrics_db_name(env)) as runner:
        row = runner.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,)).fetchone()
    assert row is not None and row[0]["status"] == "succeeded", row
    assert not runner_is_superuser(env)


# -- a lock held too long ----------------------------------------------------------------------
def test_run_waits_a_bounded_time_then_logs_skipped(
    pg_env: dict[str, str], runner: psycopg.Connection[Any]
) -> None:
    with owner_connection(pg_env) as owner:
        reset_metrics(owner)
        owner.execute(
            "UPDATE metrics.settings SET setting_value = '1' WHERE setting_name = 'lock_wait_seconds'"
        )
        holder = owner_connection(pg_env)
        try:
            holder.execute("BEGIN")
            holder.execute("SELECT metrics.lock_metrics()")  # an idle open transaction
            row = runner.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,)).fetchone()
            assert row is not None and row[0]["status"] == "skipped", row
            assert "held the metrics lock" in row[0]["error"]
            with pytest.raises(psycopg.errors.LockNotAvailable, match="holds the metrics lock"):
                runner.execute("SELECT metrics.refresh_rep_daily_activity(%s)", (DAY,))
            logged = owner.execute(
                "SELECT metric_date, status, error_text FROM metrics.run_log"
            ).fetchall()
            assert [(d, s) for d, s, _ in logged] == [(DAY, "skipped")]
            holder.execute("ROLLBACK")
            # once the holder is gone the same call computes the day
            done: list[Any] = []
            thread = threading.Thread(
                target=lambda: done.append(
                    runner.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,)).fetchone()
                )
            )
            thread.start()
            thread.join(timeout=60)
            assert done and done[0][0]["status"] == "succeeded"
        finally:
            holder.close()
            owner.execute(
                "UPDATE metrics.settings SET setting_value = '300'"
                " WHERE setting_name = 'lock_wait_seconds'"
            )
            reset_metrics(owner)
