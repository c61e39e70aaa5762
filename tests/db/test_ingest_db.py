"""`revops ingest` against a real PostgreSQL: envelopes, fixtures, upsert rules, quarantine.

The module starts from an empty crm and leaves it empty (other modules share the server).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from conftest import reset_crm, role_connection
from revops import config
from revops.ingest.load import FileResult, Loader
from revops.ingest.sources import expand

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parents[1] / ".."
FIXTURES = REPO / ".." / "shared" / "fixtures" / "salesforce"
DATA_TABLES = (
    "reps",
    "accounts",
    "leads",
    "opportunities",
    "activities",
    "interactions",
    "lead_status_history",
)
Conn = psycopg.Connection[Any]


@pytest.fixture(scope="module")
def conn(pg_env: dict[str, str]) -> Iterator[Conn]:
    with role_connection(pg_env, "revops_etl", config.source_db_name(pg_env)) as connection:
        reset_crm(connection)
        try:
            yield connection
        finally:
            reset_crm(connection)


@pytest.fixture
def db(conn: Conn) -> Iterator[Conn]:
    reset_crm(conn)
    yield conn
    reset_crm(conn)


def ingest(conn: Conn, *paths: Path | str, object_type: str | None = None) -> list[FileResult]:
    expansion = expand([str(p) for p in paths])
    assert not expansion.not_found
    return Loader(conn, object_type=object_type).load(expansion.work)


def write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2))
    return path


def write_lines(path: Path, values: list[Any]) -> Path:
    path.write_text("".join(json.dumps(v) + "\n" for v in values))
    return path


def count(conn: Conn, table: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("crm", table))
    ).fetchone()
    assert row is not None
    return int(row[0])


def snapshot(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table as text rows, system columns included: "unchanged" means byte for byte."""
    out = {}
    for table in DATA_TABLES:
        rows = conn.execute(
            sql.SQL("SELECT t.xmin::text, t.ctid::text, t::text FROM {} AS t ORDER BY 3").format(
                sql.Identifier("crm", table)
            )
        ).fetchall()
        out[table] = rows
    return out


def batches(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("SELECT * FROM crm.ingest_batches ORDER BY batch_id").fetchall()


def errors(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("SELECT * FROM crm.load_errors ORDER BY load_error_id").fetchall()


def records_in_file(path: Path) -> int:
    value = json.loads(path.read_text())
    return len(value["records"])


# -- the public fixtures --------------------------------------------------------------------
def test_fixtures_are_present() -> None:
    assert FIXTURES.is_dir(), f"public Salesforce fixtures missing at {FIXTURES.resolve()}"
    assert len(list(FIXTURES.rglob("*.json"))) >= 15


def test_every_fixture_loads_with_counts_equal_to_its_records(db: Conn) -> None:
    results = ingest(db, FIXTURES)
    data_files = {p.resolve() for p in FIXTURES.rglob("*.json") if "plan" not in p.name.lower()}
    by_source = {Path(r.source).resolve(): r for r in results}
    assert data_files <= set(by_source), "every data file is loaded"
    for path in data_files:
        result = by_source[path]
        expected = records_in_file(path)
        assert result.records_in == expected, path
        assert result.loaded + result.skipped == expected, path
        assert result.rejected == 0, (path, result.reject_reasons)
    # each data file once, even though two plans in different directories are identical
    loaded_sources = [r.source for r in results if r.shape != "sf_tree_plan"]
    assert len(loaded_sources) == len(set(loaded_sources)) == len(data_files)
    for batch in batches(db):
        assert batch["records_in"] == (
            batch["records_loaded"] + batch["records_rejected"] + batch["records_skipped"]
        )
    # accounts: 10 lwc + 50 apex + 10 dcarroll + 2 plugin-data, none merged across exports
    assert count(db, "accounts") == 72
    assert count(db, "opportunities") == 20 + 50 + 9 + 1
    assert count(db, "leads") == 10
    assert count(db, "activities") == 2


def test_plans_are_resolved_and_missing_files_reported(db: Conn) -> None:
    results = ingest(db, FIXTURES)
    plans = {
        Path(r.source).name + ":" + Path(r.source).parent.parent.name: r
        for r in results
        if r.shape == "sf_tree_plan"
    }
    assert len(plans) == 4
    missing = {(Path(e["source_name"]).parent.parent.name, e["reason"]) for e in errors(db)}
    assert ("trailheadapps__lwc-recipes", "plan names a missing file: Contacts.json") in missing
    assert ("trailheadapps__apex-recipes", "plan names a missing file: Contacts.json") in missing
    dcarroll = {r for (d, r) in missing if d == "dcarroll__data-import-test-org"}
    assert dcarroll == {
        f"plan names a missing file: {n}"
        for n in ("Car__c.json", "Color__c.json", "CarColor__c.json", "Contact.json", "Case.json")
    }
    # @AccountRef lookups resolve to the accounts loaded from the same export
    row = db.execute(
        "SELECT count(*) FILTER (WHERE a.account_id IS NULL), count(*) FROM crm.opportunities AS o"
        " LEFT JOIN crm.accounts AS a USING (account_id)"
    ).fetchone()
    assert row == (0, 80)
    # ref<Id> referenceIds give the Ids back
    lead_ids = {r[0] for r in db.execute("SELECT lead_id FROM crm.leads").fetchall()}
    assert "00Q0S000002QgjUUAS" in lead_ids
    # the Task pointing at a Case (a skipped type) still resolves to the Case's key
    what_ids = {r[0] for r in db.execute("SELECT what_id FROM crm.activities").fetchall()}
    assert len(what_ids) == 2 and all(w.startswith("tree:") for w in what_ids)
    # a date given as a datetime takes its date and is flagged
    apex = next(
        b for b in batches(db) if b["source_name"].endswith("apex-recipes/data/Opportunities.json")
    )
    assert apex["details"]["flags"] == {"date_from_datetime:closedate": 50}
    closes = db.execute(
        "SELECT close_date::text FROM crm.opportunities WHERE raw->>'name' = 'Cape starling'"
    ).fetchone()
    assert closes == ("2020-12-22",)


def test_naughty_strings_round_trip_into_raw(db: Conn) -> None:
    path = FIXTURES / "trailheadapps__apex-recipes" / "data" / "Opportunities.json"
    ingest(db, path)
    original = json.loads(path.read_text())["records"]
    stored = {
        r[0]: r[1]
        for r in db.execute("SELECT raw->'attributes'->>'referenceId', raw FROM crm.opportunities")
    }
    assert len(stored) == len(original) == 50
    for record in original:
        assert stored[record["attributes"]["referenceId"]] == record


def test_reingesting_the_fixtures_changes_nothing(db: Conn) -> None:
    ingest(db, FIXTURES)
    before = snapshot(db)
    results = ingest(db, FIXTURES)
    assert snapshot(db) == before
    assert sum(r.inserted + r.updated for r in results) == 0
