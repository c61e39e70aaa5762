"""load_synthetic against a real PostgreSQL, as revops_etl: counts, batch, determinism, messiness.

The module loads scale 0.01 once; the reload test leaves the same data behind, and the CLI test
(last) replaces it through `revops generate`.
Cleanup uses generate.truncate_crm: conftest.reset_crm's RESTART IDENTITY needs ownership of
the identity sequences, which revops_etl does not have.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgtest import role_connection
from revops import config
from revops.synthetic.load import load_synthetic, truncate_crm
from revops.synthetic.schema import COLUMNS, TABLES

pytestmark = pytest.mark.db

SCALE, SEED = 0.01, 11
END = dt.date(2025, 3, 31)  # the two years hold four DST changes
DST_DAYS = ("2023-11-05", "2024-03-10", "2024-11-03", "2025-03-09")


@pytest.fixture(scope="module")
def loaded(pg_env: dict[str, str]) -> Iterator[tuple[psycopg.Connection[Any], dict[str, int]]]:
    conn = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    try:
        counts = load_synthetic(conn, scale=SCALE, seed=SEED, end_date=END)
        yield conn, counts
    finally:
        truncate_crm(conn)
        conn.close()


def scalar(conn: psycopg.Connection[Any], query: str | sql.Composable) -> Any:
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def digest(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """md5 of each table's rows in key order, without loaded_at/batch_id/history_seq."""
    out = {}
    for table in TABLES:
        columns = [c for c in COLUMNS[table] if c != "batch_id"]
        query = sql.SQL(
            "SELECT md5(coalesce(string_agg(ROW({})::text, E'\\n' ORDER BY {}), '')) FROM {}"
        ).format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Identifier(columns[0]),
            sql.Identifier("crm", table),
        )
        out[table] = scalar(conn, query)
    return out


def test_counts_match_the_tables_and_the_batch(
    loaded: tuple[psycopg.Connection[Any], dict[str, int]],
) -> None:
    conn, counts = loaded
    assert set(counts) == set(TABLES)
    assert counts["leads"] == 2_000
    assert counts["activities"] == 10_000
    assert counts["opportunities"] == 500
    assert counts["accounts"] == 200
    assert counts["reps"] == 5
    for table in TABLES:
        n = scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("crm", table)))
        assert n == counts[table], table
    batches = conn.execute(
        "SELECT batch_id, source_name, source_shape, batch_status, records_in, records_loaded,"
        " records_rejected, finished_at IS NOT NULL FROM crm.ingest_batches"
    ).fetchall()
    assert len(batches) == 1
    batch_id, name, shape, status, records_in, loaded_n, rejected, finished = batches[0]
    assert (name, shape, status) == (
        f"generator scale={SCALE} seed={SEED}",
        "generator",
        "succeeded",
    )
    assert records_in == loaded_n == sum(counts.values())
    assert rejected == 0
    assert finished
    for table in TABLES:
        other = scalar(
            conn,
            sql.SQL("SELECT count(*) FROM {} WHERE batch_id IS DISTINCT FROM {}").format(
                sql.Identifier("crm", table), sql.Literal(batch_id)
            ),
        )
        assert other == 0, table
    assert scalar(conn, "SELECT count(*) FROM crm.load_errors") == 0


# Each query is true when the feature is present (or the invariant holds).
MESSINESS = {
    "NULL lead source": "SELECT bool_or(lead_source IS NULL) FROM crm.leads",
    "blank lead sources": "SELECT count(DISTINCT lead_source) = 2 FROM crm.leads"
    " WHERE lead_source IN ('', '  ')",
    "stray whitespace": "SELECT bool_or(lead_source = ' Web ') FROM crm.leads",
    "several sources": "SELECT count(DISTINCT btrim(lead_source)) >= 7 FROM crm.leads"
    " WHERE btrim(lead_source) <> ''",
    "queue-owned leads": "SELECT bool_or(owner_id LIKE '00G%') FROM crm.leads",
    "activity without owner": "SELECT bool_or(owner_id IS NULL) FROM crm.activities",
    "activity with unknown owner": "SELECT bool_or(owner_id IS NOT NULL AND NOT EXISTS"
    " (SELECT FROM crm.reps AS r WHERE r.rep_id = a.owner_id)) FROM crm.activities AS a",
    "inactive rep owns activities": "SELECT count(*) > 0 FROM crm.activities AS a"
    " JOIN crm.reps AS r ON r.rep_id = a.owner_id WHERE NOT r.is_active AND NOT r.is_deleted",
    "NULL amount": "SELECT bool_or(amount IS NULL) FROM crm.opportunities",
    "amounts with cents": "SELECT bool_and(scale(amount) = 2) AND bool_or(amount <> trunc(amount))"
    " FROM crm.opportunities",
    "won without close date": "SELECT bool_or(is_won AND close_date IS NULL) FROM crm.opportunities",
    "is_won NULL Closed Won": "SELECT bool_or(is_won IS NULL AND stage_name = 'Closed Won')"
    " FROM crm.opportunities",
    "is_won NULL Closed/Won": "SELECT bool_or(is_won IS NULL AND stage_name = 'Closed/Won')"
    " FROM crm.opportunities",
    "lead statuses": "SELECT count(DISTINCT status) = 6 AND bool_or(status IS NULL) FROM crm.leads"
    " WHERE status IN ('Open - Not Contacted', 'Working - Contacted', 'Qualified', 'qualified ',"
    " 'Unqualified', 'Closed - Converted') OR status IS NULL",
    "history from the generator": "SELECT count(*) > 1000 AND bool_and(history_source = 'generator')"
    " FROM crm.lead_status_history",
    "last change is the current status": "SELECT count(*) = 0 FROM ("
    " SELECT DISTINCT ON (lead_id) lead_id, new_status FROM crm.lead_status_history"
    " ORDER BY lead_id, changed_at DESC) AS h JOIN crm.leads AS l USING (lead_id)"
    " WHERE h.new_status IS DISTINCT FROM l.status",
    "converted leads point at opportunities": "SELECT count(*) = 0 FROM crm.leads AS l"
    " LEFT JOIN crm.opportunities AS o ON o.opportunity_id = l.converted_opportunity_id"
    " WHERE l.is_converted AND (o.opportunity_id IS NULL OR l.converted_date IS NULL)",
    "converted opportunity without source": "SELECT count(*) > 0 FROM crm.leads AS l"
    " JOIN crm.opportunities AS o ON o.opportunity_id = l.converted_opportunity_id"
    " WHERE o.lead_source IS NULL AND btrim(l.lead_source) <> ''",
    "around local midnight": "SELECT count(*) > 0 FROM crm.activities WHERE"
    " (activity_at AT TIME ZONE 'America/New_York')::time NOT BETWEEN '00:30' AND '23:30'",
    "leads created around local midnight": "SELECT count(*) > 0 FROM crm.leads WHERE"
    " (created_at AT TIME ZONE 'America/New_York')::time NOT BETWEEN '00:30' AND '23:30'",
    "night hours on DST days": "SELECT count(*) > 0 FROM crm.activities WHERE"
    " (activity_at AT TIME ZONE 'America/New_York')::date::text IN ("
    + ", ".join(f"'{d}'" for d in DST_DAYS)
    + ") AND extract(hour FROM activity_at AT TIME ZONE 'America/New_York') BETWEEN 1 AND 3",
    "tasks with and without activity_date": "SELECT bool_or(activity_date IS NULL)"
    " AND bool_or(activity_date IS NOT NULL) FROM crm.activities WHERE source_object = 'Task'",
    "events with activity_at, all-day events": "SELECT bool_or(activity_at IS NOT NULL)"
    " AND bool_or(activity_at IS NULL AND activity_date IS NOT NULL)"
    " FROM crm.activities WHERE source_object = 'Event'",
    "child events": "SELECT bool_or(is_child) AND NOT bool_or(is_child AND source_object = 'Task')"
    " FROM crm.activities",
    "task subtypes": "SELECT count(DISTINCT task_subtype) = 4 FROM crm.activities"
    " WHERE task_subtype IN ('Call', 'Email', 'List Email', 'Task')",
    "types in mixed case": "SELECT count(DISTINCT type) = 5 FROM crm.activities"
    " WHERE type IN ('Call', 'call', 'Email', 'email', 'Meeting')",
    "call types": "SELECT bool_or(call_type IS NOT NULL AND task_subtype = 'Call')"
    " AND bool_or(call_type IS NOT NULL AND task_subtype = 'Task') FROM crm.activities",
    "18-character Ids with key prefixes": "SELECT bool_and(length(lead_id) = 18 AND lead_id LIKE '00Q%')"
    " AND (SELECT bool_and(length(activity_id) = 18 AND left(activity_id, 3)"
    " = CASE source_object WHEN 'Task' THEN '00T' ELSE '00U' END) FROM crm.activities)"
    " AND (SELECT bool_and(opportunity_id LIKE '006%') FROM crm.opportunities)"
    " AND (SELECT bool_and(rep_id LIKE '005%') FROM crm.reps)"
    " AND (SELECT bool_and(account_id LIKE '001%') FROM crm.accounts)"
    " AND (SELECT bool_and(history_id LIKE '017%') FROM crm.lead_status_history)"
    " AND (SELECT bool_and(interaction_id LIKE '00v%') FROM crm.interactions) FROM crm.leads",
    "raw records": "SELECT bool_and(raw ->> 'Id' = lead_id AND raw -> 'attributes' ->> 'type' = 'Lead')"
    " FROM crm.leads",
    "data inside the two years": "SELECT bool_and(created_at >= '2023-04-01 00:00 America/New_York'"
    " AND created_at < '2025-04-01 00:00 America/New_York') FROM crm.leads",
}


@pytest.mark.parametrize("feature", list(MESSINESS))
def test_messiness_is_in_the_database(
    loaded: tuple[psycopg.Connection[Any], dict[str, int]], feature: str
) -> None:
    conn, _ = loaded
    assert scalar(conn, MESSINESS[feature]) is True, feature


@pytest.mark.parametrize("table", TABLES)
def test_deleted_rows_in_every_table(
    loaded: tuple[psycopg.Connection[Any], dict[str, int]], table: str
) -> None:
    conn, _ = loaded
    query = sql.SQL("SELECT count(*) FILTER (WHERE is_deleted) FROM {}").format(
        sql.Identifier("crm", table)
    )
    assert scalar(conn, query) > 0


def test_failed_load_changes_nothing(
    loaded: tuple[psycopg.Connection[Any], dict[str, int]],
) -> None:
    conn, _ = loaded
    before = digest(conn)

    def fail_after_leads(message: str) -> None:
        if "leads" in message:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        load_synthetic(conn, scale=SCALE, seed=SEED + 1, end_date=END, progress=fail_after_leads)
    assert digest(conn) == before
    assert scalar(conn, "SELECT count(*) FROM crm.ingest_batches") == 1


def test_reload_with_the_same_seed_is_identical(
    loaded: tuple[psycopg.Connection[Any], dict[str, int]],
) -> None:
    conn, counts = loaded
    first = digest(conn)
    assert load_synthetic(conn, scale=SCALE, seed=SEED, end_date=END) == counts
    assert digest(conn) == first
    assert scalar(conn, "SELECT count(*) FROM crm.ingest_batches") == 1  # replaced, not added
    load_synthetic(conn, scale=SCALE, seed=SEED + 1, end_date=END)
    other = digest(conn)
    assert all(other[t] != first[t] for t in TABLES)
    load_synthetic(conn, scale=SCALE, seed=SEED, end_date=END)  # leave the module's data
    assert digest(conn) == first


def test_cli_generate_replaces_the_data(
    loaded: tuple[psycopg.Connection[Any], dict[str, int]], pg_env: dict[str, str]
) -> None:
    conn, _ = loaded
    args = ["generate", "--scale", "0.001", "--seed", "3", "--end-date", END.isoformat()]
    result = subprocess.run(
        [sys.executable, "-m", "revops.cli", *args],
        env=pg_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["leads"] == scalar(conn, "SELECT count(*) FROM crm.leads") == 200
    assert counts["activities"] == scalar(conn, "SELECT count(*) FROM crm.activities") == 1_000
    assert (
        scalar(conn, "SELECT source_name FROM crm.ingest_batches") == "generator scale=0.001 seed=3"
    )
