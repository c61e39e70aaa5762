"""Bootstrap, a run, a backfill and the key security properties with a non-superuser admin.

This is the Amazon RDS path proven locally: there the bootstrap admin is the master user
(``rds_superuser``), not a superuser. The fixture creates such an admin on the test server (LOGIN
CREATEROLE CREATEDB, nothing else) and bootstraps two databases of its own (``REVOPS_SOURCE_DB``/
``REVOPS_METRICS_DB``), dropped afterwards, with the same roles and passwords as the session's.

What the fixture does as the real superuser, and why (each stands for something RDS provides):
- roles are cluster-wide and the session's bootstrap already created them, so the admin gets
  ADMIN OPTION on each (on RDS the master user creates them itself and holds it on 16+);
- the metrics database is created for the admin with ``postgres_fdw`` in it and USAGE on the
  wrapper granted: on RDS the master user may create that extension itself, here only a
  superuser may (it is not a trusted extension). The source database is created by bootstrap.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from test_security import ENTRY_POINTS

from pgtest import admin_connection, role_connection
from revops import config
from revops.bootstrap import BootstrapReport, bootstrap, scram_verifier
from revops.config import Target
from revops.db import connect
from revops.local_secrets import new_password

pytestmark = pytest.mark.db

ADMIN = "revops_test_rds_admin"
DAY = dt.date(2025, 6, 2)


@dataclass
class RdsLike:
    env: dict[str, str]
    admin: Target
    first: BootstrapReport
    again: BootstrapReport

    def connect(self, dbname: str) -> psycopg.Connection[Any]:
        return connect(self.admin, dbname)


def _drop(env: dict[str, str], names: tuple[str, ...]) -> None:
    with admin_connection(env, "postgres") as su:
        for name in names:
            su.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = su.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ADMIN,)).fetchone()
        if exists:
            su.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(ADMIN)))
            su.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(ADMIN)))


@pytest.fixture(scope="module")
def rds(pg_env: dict[str, str]) -> Iterator[RdsLike]:
    suffix = os.getpid()
    env = {
        **pg_env,
        "REVOPS_SOURCE_DB": f"revops_rds_training_{suffix}",
        "REVOPS_METRICS_DB": f"revops_rds_metrics_{suffix}",
        # what RDS gets is `require`; the test server has no certificate
        "REVOPS_FDW_SSLMODE": "prefer",
    }
    names = (config.metrics_db_name(env), config.source_db_name(env))
    _drop(pg_env, names)
    password = new_password()
    admin_name = sql.Identifier(ADMIN)
    with admin_connection(pg_env, "postgres") as su:
        su.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                admin_name, sql.Literal(scram_verifier(password))
            )
        )
        for role in (*config.ROLES, "revops_owner"):
            su.execute(
                sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(role), admin_name)
            )
        su.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(names[0]), admin_name)
        )
    with admin_connection(pg_env, names[0]) as su:
        su.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
        su.execute(
            sql.SQL("GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {}").format(admin_name)
        )
    base = config.admin_target(pg_env)
    admin = Target(base.kind, {**base.params, "user": ADMIN, "password": password}, base.dsn)
    try:
        first = bootstrap(env=env, admin=admin)
        again = bootstrap(env=env, admin=admin)
        yield RdsLike(env, admin, first, again)
    finally:
        _drop(pg_env, names)


def test_the_admin_is_no_superuser_and_cannot_read_pg_authid(rds: RdsLike) -> None:
    with rds.connect("postgres") as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, True, True)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT rolpassword FROM pg_authid")


def test_bootstrap_applied_everything_then_changed_nothing(rds: RdsLike) -> None:
    assert any(m.startswith("source/") for m in rds.first.applied_migrations)
    assert any(m.startswith("metrics/") for m in rds.first.applied_migrations)
    assert rds.again.applied_migrations == []
    assert rds.again.changed == [], rds.again.changed


def test_fdw_server_carries_sslmode_and_belongs_to_the_admin(rds: RdsLike) -> None:
    with rds.connect(config.metrics_db_name(rds.env)) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(srvowner), srvoptions FROM pg_foreign_server"
            " WHERE srvname = 'revops_source'"
        ).fetchone()
    assert row is not None and row[0] == ADMIN
    assert "sslmode=prefer" in row[1]


def test_run_and_backfill_as_the_runner(rds: RdsLike) -> None:
    with role_connection(rds.env, "revops_etl", config.source_db_name(rds.env)) as etl:
        etl.execute(
            "INSERT INTO crm.leads (lead_id, lead_source, status, created_at)"
            " VALUES ('L1', 'Web', 'Open', %s), ('L2', 'Web', 'Open', %s)",
            (
                dt.datetime.combine(DAY, dt.time(12), dt.UTC),
                dt.datetime.combine(DAY - dt.timedelta(days=1), dt.time(12), dt.UTC),
            ),
        )
    metrics_db = config.metrics_db_name(rds.env)
    with role_connection(rds.env, "revops_runner", metrics_db) as runner:
        row = runner.execute("SELECT metrics.run_daily_metrics(%s)", (DAY,)).fetchone()
        assert row is not None and row[0]["status"] == "succeeded", row
        rows = runner.execute(
            "SELECT metrics.backfill_date_range(%s, %s)", (DAY - dt.timedelta(days=3), DAY)
        ).fetchall()
        assert rows, "backfill returned nothing"
    with role_connection(rds.env, "revops_bi", metrics_db) as bi:
        funnel = bi.execute(
            "SELECT metric_date, new_leads, total_leads_to_date FROM metrics.daily_lead_funnel"
            " WHERE lead_source = 'Web' AND metric_date >= %s ORDER BY 1",
            (DAY - dt.timedelta(days=1),),
        ).fetchall()
    assert funnel == [(DAY - dt.timedelta(days=1), 1, 1), (DAY, 1, 2)]


def test_security_properties_hold(rds: RdsLike) -> None:
    metrics_db = config.metrics_db_name(rds.env)
    with rds.connect(metrics_db) as conn:
        rows = conn.execute(
            "SELECT replace(p.oid::regprocedure::text, 'metrics.', ''),"
            " pg_get_userbyid(p.proowner), p.prosecdef,"
            " has_function_privilege('revops_runner', p.oid, 'EXECUTE')"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'metrics'"
        ).fetchall()
        foreign = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('metrics', 'crm_remote')"
            " AND pg_get_userbyid(c.relowner) <> 'revops_owner'"
        ).fetchone()
    assert {r[0].replace(" ", "") for r in rows if r[3]} == ENTRY_POINTS
    assert all(owner == "revops_owner" for _s, owner, _d, _x in rows)
    assert all(secdef for _s, _o, secdef, can in rows if can)
    assert foreign == (0,)
    with role_connection(rds.env, "revops_runner", metrics_db) as runner:
        for attack in (
            "SET ROLE revops_owner",
            "SELECT count(*) FROM crm_remote.leads",
            "ALTER SERVER revops_source OPTIONS (SET host 'evil.example')",
            "CREATE TABLE metrics.evil (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                runner.execute(attack)
        options = runner.execute(
            "SELECT umoptions FROM pg_user_mappings WHERE srvname = 'revops_source'"
        ).fetchall()
        assert options and all(o is None for (o,) in options)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        role_connection(rds.env, "revops_runner", config.source_db_name(rds.env))


def test_unsetting_the_sslmode_removes_the_option(rds: RdsLike) -> None:
    without = {k: v for k, v in rds.env.items() if k != "REVOPS_FDW_SSLMODE"}
    try:
        report = bootstrap(env=without, admin=rds.admin)
        assert report.changed == ["FDW server options updated"]
        with rds.connect(config.metrics_db_name(rds.env)) as conn:
            row = conn.execute(
                "SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'revops_source'"
            ).fetchone()
        assert row is not None and not any(o.startswith("sslmode=") for o in row[0])
    finally:
        assert bootstrap(env=rds.env, admin=rds.admin).changed == ["FDW server options updated"]
