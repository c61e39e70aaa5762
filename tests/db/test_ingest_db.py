"""`revops ingest` against a real PostgreSQL: envelopes, fixtures, upsert rules, quarantine.

The module starts from an empty crm and leaves it empty (other modules share the server).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgtest import reset_crm
from revops.ingest import ids
from revops.ingest.load import FileResult, Loader
from revops.ingest.sources import expand

pytestmark = pytest.mark.db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce"  # see its README
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
def conn(ingest_conn: Conn) -> Conn:
    return ingest_conn


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


# -- hand-made envelopes --------------------------------------------------------------------
ENVELOPES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "envelopes"


def test_every_envelope_loads(db: Conn) -> None:
    assert ENVELOPES.is_dir(), f"test fixtures missing at {ENVELOPES}"
    results = ingest(db, ENVELOPES)
    shapes = {
        Path(r.source).name: (r.shape, r.records_in, r.loaded, r.rejected, r.skipped)
        for r in results
    }
    assert shapes == {
        "rest_page.json": ("rest_query", 2, 2, 0, 0),
        "sf_cli.json": ("sf_cli_json", 2, 2, 0, 0),
        "sf_cli_error.json": ("sf_cli_error", 1, 0, 1, 0),
        "bulk_array.json": ("bulk_json_array", 2, 2, 0, 0),
        "singer.jsonl": ("jsonl:singer", 3, 3, 0, 0),
        "airbyte.jsonl": ("jsonl:airbyte", 3, 2, 0, 1),
        "campaign_members.jsonl": ("jsonl", 2, 2, 0, 0),
        "lead_history.json": ("rest_query", 3, 2, 0, 1),
    }
    assert count(db, "leads") == 4
    assert count(db, "opportunities") == 2
    assert count(db, "reps") == 1
    assert count(db, "activities") == 4
    assert count(db, "interactions") == 2
    assert count(db, "lead_status_history") == 2
    bulk = db.execute(
        "SELECT lead_id, owner_id, is_converted, converted_date, created_at, raw->>'Owner.Name'"
        " FROM crm.leads WHERE lead_id LIKE '00Q5000000BULK%' ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in bulk] == [ids.to_18("00Q5000000BULK1"), ids.to_18("00Q5000000BULK2")]
    assert bulk[0][1] == ids.to_18("0055000000OWNER")
    assert bulk[0][2] is True and bulk[1][2] is None and bulk[0][5] == "Ada Lovelace"
    error = next(e for e in errors(db) if e["source_name"].endswith("sf_cli_error.json"))
    assert error["reason"].startswith("sf CLI error envelope: INVALID_TYPE")
    assert error["record_position"] is None


def test_bare_array_takes_object_type(db: Conn, tmp_path: Path) -> None:
    path = write(tmp_path / "people", [{"id": 7, "name": "Ada", "email": "a@x", "is_active": "1"}])
    results = ingest(db, path, object_type="User")
    assert (results[0].loaded, results[0].rejected) == (1, 0)
    assert db.execute("SELECT rep_id, name, is_active FROM crm.reps").fetchall() == [
        ("7", "Ada", True)
    ]


# -- Ids, last writer wins, idempotency -----------------------------------------------------
def lead(lead_id: str, status: str, modstamp: str | None, **more: Any) -> dict[str, Any]:
    record = {"attributes": {"type": "Lead"}, "Id": lead_id, "Status": status, **more}
    if modstamp is not None:
        record["SystemModstamp"] = modstamp
        record["LastModifiedDate"] = modstamp
    return record


def page(*records: dict[str, Any]) -> dict[str, Any]:
    return {"totalSize": len(records), "done": True, "records": list(records)}


def test_15_and_18_character_ids_merge(db: Conn, tmp_path: Path) -> None:
    short, long = "00Q0S000002QgjU", "00Q0S000002QgjUUAS"
    write(tmp_path / "a.json", page(lead(short, "Open", "2024-01-01T00:00:00.000+0000")))
    write(
        tmp_path / "b.json",
        page(
            lead(long, "Working", "2024-01-02T00:00:00Z", ConvertedOpportunityId="0060S000006FFuE")
        ),
    )
    ingest(db, tmp_path)
    rows = db.execute("SELECT lead_id, status, converted_opportunity_id FROM crm.leads").fetchall()
    assert rows == [(long, "Working", "0060S000006FFuEQAW")]


def test_last_writer_wins_and_reingest_changes_nothing(db: Conn, tmp_path: Path) -> None:
    new = write(
        tmp_path / "new.json",
        page(
            lead("L1", "Working", "2024-02-01T00:00:00Z"),
            lead("L2", "Open", "2024-02-01T00:00:00Z"),
        ),
    )
    old = write(
        tmp_path / "old.json",
        page(lead("L1", "Open", "2024-01-01T00:00:00Z"), lead("L3", "Open", None)),
    )
    ingest(db, new)
    ingest(db, old)  # older L1 loses, L3 is new
    assert db.execute("SELECT lead_id, status FROM crm.leads ORDER BY 1").fetchall() == [
        ("L1", "Working"),
        ("L2", "Open"),
        ("L3", "Open"),
    ]
    before = snapshot(db)
    results = ingest(db, new) + ingest(db, old) + ingest(db, tmp_path)
    assert snapshot(db) == before, "re-ingesting the same or overlapping files changes nothing"
    assert all(r.inserted == r.updated == 0 for r in results)
    assert count(db, "lead_status_history") == 0
    # within one file the newest version wins, the later record on a tie
    both = write(
        tmp_path / "both.json",
        page(
            lead("L9", "B", "2024-03-02T00:00:00Z"),
            lead("L9", "A", "2024-03-01T00:00:00Z"),
            lead("L8", "first", "2024-03-01T00:00:00Z"),
            lead("L8", "second", "2024-03-01T00:00:00Z"),
        ),
    )
    ingest(db, both)
    assert dict(
        db.execute("SELECT lead_id, status FROM crm.leads WHERE lead_id IN ('L8', 'L9')").fetchall()
    ) == {"L8": "second", "L9": "B"}


def test_status_changes_are_captured(db: Conn, tmp_path: Path) -> None:
    ingest(db, write(tmp_path / "1.json", page(lead("L1", "Open", "2024-01-01T00:00:00Z"))))
    assert count(db, "lead_status_history") == 0, "a first load adds no history"
    ingest(db, write(tmp_path / "2.json", page(lead("L1", "Qualified", "2024-01-05T10:00:00Z"))))
    ingest(db, write(tmp_path / "3.json", page(lead("L1", "Qualified", "2024-01-06T10:00:00Z"))))
    rows = db.execute(
        "SELECT lead_id, changed_at, old_status, new_status, history_source"
        " FROM crm.lead_status_history"
    ).fetchall()
    assert len(rows) == 1
    lead_id, changed_at, old_status, new_status, source = rows[0]
    assert (lead_id, changed_at.isoformat(), old_status, new_status, source) == (
        "L1",
        "2024-01-05T10:00:00+00:00",
        "Open",
        "Qualified",
        "ingest",
    )
    before = snapshot(db)
    ingest(db, tmp_path)
    assert snapshot(db) == before


# -- quarantine -----------------------------------------------------------------------------
def test_each_quarantine_reason(db: Conn, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"Id": "A1", "Name": "fine"}\n'
        '{"Name": "no id"}\n'
        '{"Id": "A3", "CreatedDate": "2024-13-01T00:00:00Z"}\n'
        "[1, 2]\n"
        "{broken\n"
        '{"Id": "A6", "Name": "nul \\u0000 inside"}\n'
    )
    opp = write(
        tmp_path / "opp.json",
        [{"Id": "O1", "Amount": "12abc"}, {"Id": "O2", "CloseDate": "2024-02-30"}, {"Id": "O3"}],
    )
    (tmp_path / "notes.txt").write_text("this is not JSON at all\n")
    expansion = expand([str(bad), str(opp), str(tmp_path / "notes.txt")])
    results = Loader(db, object_type=None).load(expansion.work)
    by_name = {Path(r.source).name: r for r in results}
    assert (by_name["bad.jsonl"].loaded, by_name["bad.jsonl"].rejected) == (0, 6)  # no type
    reset_crm(db)
    results = Loader(db, object_type="Account").load(expansion.work[:1])
    results += Loader(db, object_type="Opportunity").load(expansion.work[1:])
    by_name = {Path(r.source).name: r for r in results}
    assert [(r.records_in, r.loaded, r.rejected) for r in by_name.values()] == [
        (6, 1, 5),
        (3, 1, 2),
        (1, 0, 1),
    ]
    reasons = [
        (
            Path(e["source_name"]).name,
            e["record_position"],
            e["object_type"],
            e["reason"].split(":")[0],
        )
        for e in errors(db)
    ]
    assert reasons == [
        ("bad.jsonl", 2, "Account", "no usable Id"),
        ("bad.jsonl", 3, "Account", "unparseable datetime in CreatedDate"),
        ("bad.jsonl", 4, "Account", "not an object"),
        ("bad.jsonl", 5, None, "invalid JSON"),
        ("bad.jsonl", 6, "Account", "unstorable value"),
        ("opp.json", 1, "Opportunity", "unparseable number in Amount"),
        ("opp.json", 2, "Opportunity", "unparseable date in CloseDate"),
        ("notes.txt", None, None, "not JSON"),
    ]
    raw = {
        e["record_position"]: e["raw_text"]
        for e in errors(db)
        if e["source_name"].endswith("bad.jsonl")
    }
    assert raw[5] == "{broken"
    assert json.loads(raw[2]) == {"Name": "no id"}
    for batch in batches(db):
        assert (
            batch["records_in"]
            == batch["records_loaded"] + batch["records_rejected"] + batch["records_skipped"]
        )
        assert (
            batch["source_sha256"]
            == hashlib.sha256(Path(batch["source_name"]).read_bytes()).hexdigest()
        )
    assert {b["batch_status"] for b in batches(db)} == {"succeeded", "failed"}


def test_hostile_values_never_become_sql(db: Conn, tmp_path: Path) -> None:
    name = "x'); DROP TABLE crm.accounts; --\\.\n\t"
    ingest(
        db,
        write(
            tmp_path / "a.json", page({"attributes": {"type": "Account"}, "Id": name, "Name": name})
        ),
    )
    rows = db.execute("SELECT account_id, name FROM crm.accounts").fetchall()
    assert rows == [(name.strip(), name)]  # Ids are trimmed, text is kept as given


# -- the command line -----------------------------------------------------------------------
def test_cli_exit_codes_and_json_report(
    pg_env: dict[str, str],
    db: Conn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from revops.cli import main

    for key, value in pg_env.items():
        monkeypatch.setenv(key, value)
    good = write(tmp_path / "good.json", page(lead("L1", "Open", None)))
    assert main(["ingest", str(good), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["records_in"], report["loaded"], report["rejected"]) == (1, 1, 0)
    bad = write(tmp_path / "bad.json", [{"Name": "no id"}])
    assert main(["ingest", str(tmp_path / "*.json"), "--object", "Lead"]) == 1
    out = capsys.readouterr().out
    assert "rejected 1 x no usable Id (positions: 1)" in out and str(bad) in out
    assert main(["ingest", str(tmp_path / "missing-*.json")]) == 2
