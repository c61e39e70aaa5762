"""Export -> ingest round trip on a real PostgreSQL, as revops_etl, for every format.

The reference is the direct load (``load_synthetic``) of the same scale, seed and end date. Each
format's export is ingested with the real ingest code into an emptied crm, and every crm table
must hold the same rows: every column the generator writes except ``raw``, ``batch_id``,
``loaded_at`` and two that an export cannot carry (``lead_status_history.history_source`` names
the loader; ``interactions.interaction_type`` is the campaign type, which a CampaignMember record
does not hold). Whitespace-only strings compare as NULL: ingest stores ``''``/``'  '`` as NULL by
contract, and the metrics report both as ``Unknown``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgtest import role_connection
from revops import config
from revops.synthetic.export import FORMATS, export, load_export
from revops.synthetic.load import load_synthetic, truncate_crm
from revops.synthetic.schema import COLUMNS, TABLES

pytestmark = pytest.mark.db

SCALE, SEED = 0.005, 7
END = dt.date(2025, 3, 31)
NOT_EXPORTED = {"raw", "batch_id", "history_source", "interaction_type"}

Snapshot = dict[str, list[tuple[Any, ...]]]


def _blank_is_null(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
    """Every crm table's compared columns, in key order."""
    out: Snapshot = {}
    for table in TABLES:
        columns = [c for c in COLUMNS[table] if c not in NOT_EXPORTED]
        query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Identifier("crm", table),
            sql.Identifier(columns[0]),
        )
        out[table] = [tuple(_blank_is_null(v) for v in row) for row in conn.execute(query)]
    return out


@pytest.fixture(scope="module")
def conn(pg_env: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    connection = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    try:
        yield connection
    finally:
        truncate_crm(connection)
        connection.close()


@pytest.fixture(scope="module")
def direct(conn: psycopg.Connection[Any]) -> Snapshot:
    load_synthetic(conn, scale=SCALE, seed=SEED, end_date=END)
    return snapshot(conn)


def _assert_same(direct: Snapshot, ingested: Snapshot) -> None:
    for table in TABLES:
        want, got = direct[table], ingested[table]
        assert len(got) == len(want), table
        for before, after in zip(want, got, strict=True):
            assert after == before, (table, COLUMNS[table][0])
    assert ingested == direct


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_gives_the_direct_load(
    fmt: str, conn: psycopg.Connection[Any], direct: Snapshot, tmp_path: Path
) -> None:
    assert direct["leads"] and direct["lead_status_history"]
    result = export(tmp_path / fmt, fmt=fmt, scale=SCALE, seed=SEED, end_date=END, page_size=300)
    truncate_crm(conn)
    results = load_export(conn, result.out)

    assert sum(r.rejected for r in results) == 0, [r.reject_reasons for r in results]
    assert all(r.status == "succeeded" for r in results)
    assert sum(r.loaded for r in results) == sum(result.counts.values())
    _assert_same(direct, snapshot(conn))

    batches = conn.execute(
        "SELECT records_in, records_loaded, records_rejected, records_skipped, batch_status"
        " FROM crm.ingest_batches ORDER BY batch_id"
    ).fetchall()
    data_files = sum(len(paths) for paths in result.files.values())
    assert len(batches) == data_files + (1 if fmt == "tree" else 0)  # + the plan's batch
    for records_in, loaded, rejected, skipped, status in batches:
        assert records_in == loaded + rejected + skipped
        assert (rejected, skipped, status) == (0, 0, "succeeded")
    assert sum(b[0] for b in batches) == sum(result.counts.values())
    errors = conn.execute("SELECT count(*) FROM crm.load_errors").fetchone()
    assert errors == (0,)


def test_reingesting_the_export_changes_nothing(
    conn: psycopg.Connection[Any], direct: Snapshot, tmp_path: Path
) -> None:
    result = export(tmp_path / "rest", fmt="rest", scale=SCALE, seed=SEED, end_date=END)
    truncate_crm(conn)
    load_export(conn, result.out)
    again = load_export(conn, result.out)
    assert sum(r.inserted + r.updated for r in again) == 0
    assert sum(r.unchanged for r in again) == sum(result.counts.values())
    assert snapshot(conn) == direct
