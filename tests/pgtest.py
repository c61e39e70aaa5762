"""Helpers for database tests (importable as `pgtest`; fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from revops import config
from revops.bootstrap import set_business_timezone
from revops.db import as_owner, connect

CRM_TABLES = (
    "lead_status_history",
    "interactions",
    "activities",
    "opportunities",
    "leads",
    "accounts",
    "reps",
    "load_errors",
    "ingest_batches",
)
FACT_TABLES = (
    "daily_lead_funnel",
    "rep_daily_activity",
    "rep_daily_pipeline",
    "lead_stage_snapshot",
    "run_log",
    "computed_days",
    "data_quality_history",
    "dim_rep",
)


def admin_connection(env: Mapping[str, str], dbname: str | None = None) -> psycopg.Connection[Any]:
    return connect(config.admin_target(env), dbname or config.metrics_db_name(env))


def owner_connection(env: Mapping[str, str]) -> psycopg.Connection[Any]:
    """The metrics database as revops_owner (the admin's SET ROLE), as bootstrap works on it:
    tests seed settings, empty the facts and read them through it."""
    conn = admin_connection(env)
    as_owner(conn)
    return conn


def set_timezone(env: Mapping[str, str], zone: str) -> None:
    """Change the business time zone the way `revops bootstrap --timezone` does."""
    set_business_timezone(zone, env)


def role_connection(env: Mapping[str, str], role: str, dbname: str) -> psycopg.Connection[Any]:
    return connect(config.role_target(role, env), dbname)


def reset_crm(conn: psycopg.Connection[Any]) -> None:
    """Empty every crm table (as revops_etl, committed)."""
    conn.execute(
        sql.SQL("TRUNCATE {} CASCADE").format(
            sql.SQL(", ").join(sql.Identifier("crm", t) for t in CRM_TABLES)
        )
    )


def reset_metrics(conn: psycopg.Connection[Any]) -> None:
    """Empty the fact tables and run_log (as revops_owner: see owner_connection)."""
    conn.execute(
        sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(sql.Identifier("metrics", t) for t in FACT_TABLES)
        )
    )


def set_setting(conn: psycopg.Connection[Any], name: str, value: Any) -> None:
    """Change one metrics setting (as revops_owner); the time zone goes through set_timezone."""
    if name == "business_timezone":
        raise ValueError("use set_timezone: the zone also lives in the foreign server option")
    conn.execute(
        "UPDATE metrics.settings SET setting_value = %s::jsonb WHERE setting_name = %s",
        (json.dumps(value), name),
    )


def insert_rows(
    conn: psycopg.Connection[Any], table: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert dicts into crm.<table>; a key a row leaves out takes the column default."""
    with conn.cursor() as cur:
        for row in rows:
            columns = list(row)
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier("crm", table),
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                sql.SQL(", ").join(sql.Placeholder() for _ in columns),
            )
            cur.execute(query, tuple(row[c] for c in columns))


def seed_recent_leads(conn: psycopg.Connection[Any], days: int) -> None:
    """One 'Web' lead per day for the `days` days before today (UTC noon), as revops_etl."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    insert_rows(
        conn,
        "leads",
        [
            {
                "lead_id": f"L{i}",
                "lead_source": "Web",
                "status": "Open",
                "created_at": dt.datetime.combine(
                    today - dt.timedelta(days=i), dt.time(12), dt.UTC
                ),
            }
            for i in range(1, days + 1)
        ],
    )


def cli(env: Mapping[str, str], *args: str) -> Any:
    """`revops ARGS` as a subprocess with this environment (as users run it)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "revops.cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
