"""Issue 13 against a real PostgreSQL: hostile files, oversized keys, interrupted batches.

Every test ends by checking the batch invariant for every file: records in = loaded + rejected
+ skipped, and rejected = the number of crm.load_errors rows of that batch. The module starts
from an empty crm and leaves it empty (other modules share the server).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from pgtest import owner_connection, reset_crm, role_connection, set_setting
from revops import config
from revops.ingest.ids import to_18
from revops.ingest.load import FileResult, Loader
from revops.ingest.retry import retry_failed
from revops.ingest.sources import expand

pytestmark = pytest.mark.db

Conn = psycopg.Connection[Any]
# a hostile 1 MB file must not take ingest (the whole process) above this (README: Loading)
PEAK_RSS_BOUND_MB = 100


@pytest.fixture(scope="module")
def conn(ingest_conn: Conn) -> Conn:
    return ingest_conn


@pytest.fixture
def db(conn: Conn) -> Iterator[Conn]:
    reset_crm(conn)
    yield conn
    assert_every_batch_balances(conn)
    reset_crm(conn)


def assert_every_batch_balances(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT b.batch_id, b.batch_status, b.records_in, b.records_loaded,"
        " b.records_rejected, b.records_skipped,"
        " (SELECT count(*) FROM crm.load_errors AS e WHERE e.batch_id = b.batch_id)"
        " FROM crm.ingest_batches AS b"
    ).fetchall()
    for batch_id, status, records_in, loaded, rejected, skipped, errors in rows:
        if status == "running":
            continue  # an interrupted batch: nothing of it was written
        assert records_in == loaded + rejected + skipped, (batch_id, rows)
        assert rejected == errors, (batch_id, rows)


def ingest(conn: Conn, *paths: Path | str, object_type: str | None = None) -> list[FileResult]:
    expansion = expand([str(p) for p in paths])
    assert not expansion.not_found
    return Loader(conn, object_type=object_type).load(expansion.work)


def lead(lead_id: str, **more: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, "Id": lead_id, "Status": "Open", **more}


def page_text(*records: dict[str, Any] | str, one_line: bool = False) -> str:
    parts = [r if isinstance(r, str) else json.dumps(r) for r in records]
    separator = ", " if one_line else ",\n"
    head = f'{{"totalSize": {len(parts)}, "done": true, "records": ['

    return head + ("" if one_line else "\n") + separator.join(parts) + "]}"


def batches(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM crm.ingest_batches ORDER BY batch_id").fetchall()


def errors(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM crm.load_errors ORDER BY load_error_id").fetchall()


def lead_ids(conn: Conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT lead_id FROM crm.leads ORDER BY 1")]


def cli(env: dict[str, str], *args: str, stdin: Any = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "revops.cli", *args],
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- 1. a deep value: its record is quarantined, the file and the next ones load ---------------
def test_deep_value_is_quarantined_and_later_files_load(db: Conn, tmp_path: Path) -> None:
    nested = "[" * 5000 + "]" * 5000  # the reproduction
    deep = f'{{"attributes": {{"type": "Lead"}}, "Id": "00Q000000000002", "Deep__c": {nested}}}'
    (tmp_path / "a.json").write_text(
        page_text(lead("00Q000000000001"), deep, lead("00Q000000000003"))
    )
    (tmp_path / "b.jsonl").write_text(json.dumps(lead("00Q000000000004")) + "\n" + deep + "\n")
    results = ingest(db, tmp_path)
    assert [(r.status, r.loaded, r.rejected) for r in results] == [
        ("succeeded", 2, 1),
        ("succeeded", 1, 1),
    ]
    assert len(lead_ids(db)) == 3
    rows = errors(db)
    # the JSON Lines line is too deep for the parser: no object type can be read from it
    assert [(e["record_position"], e["object_type"]) for e in rows] == [(2, "Lead"), (2, None)]
    assert all(e["reason"].startswith("value nested too deep: more than 64") for e in rows)
    assert rows[0]["raw_text"].startswith('{"attributes": {"type": "Lead"}, "Id": "00Q0000')


def test_a_file_that_fails_closes_its_batch_and_the_next_loads(
    db: Conn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.json").write_text(page_text(lead("00Q000000000001")))
    (tmp_path / "b.json").write_text(page_text(lead("00Q000000000002")))
    real = Loader._apply

    def broken_once(self: Loader, batch_id: int, result: FileResult) -> None:
        if result.source.endswith("a.json"):
            raise RecursionError("maximum recursion depth exceeded")  # what item 1 raised
        real(self, batch_id, result)

    monkeypatch.setattr(Loader, "_apply", broken_once)
    results = ingest(db, tmp_path)
    assert [r.status for r in results] == ["failed", "succeeded"]
    assert lead_ids(db) == [to_18("00Q000000000002")]
    failed = batches(db)[0]
    assert failed["batch_status"] == "failed" and failed["finished_at"] is not None
    assert failed["details"]["error"] == "RecursionError: maximum recursion depth exceeded"
    assert (failed["records_in"], failed["records_rejected"]) == (1, 1)
    assert errors(db)[0]["reason"].startswith("file not loaded: RecursionError")


# -- 2. peak memory of a hostile 1 MB file --------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        b"[" * 1_000_000,
        b"[" * 500_000 + b"]" * 500_000,
        b'{"records": [{"Id": "1"},' + b'{"a":' * 200_000,
        b'{"totalSize": 1, "records": [{"Id": "1", "Deep__c": '
        + b"[" * 450_000
        + b"]" * 450_000
        + b"}]}",
        b'{"Id": "1"}\n' + b"[" * 1_000_000 + b"\n",
    ],
    ids=["open_array", "closed_array", "objects", "deep_value", "jsonl"],
)
def test_hostile_1mb_files_stay_under_the_memory_bound(
    pg_env: dict[str, str], db: Conn, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    assert 0.8e6 < len(content) <= 1.01e6
    # VmHWM is the peak RSS of the process's own memory since exec; ru_maxrss is not: Linux
    # carries over the RSS the forked copy of this (large) pytest process had before exec
    probe = (
        "import re, sys\n"
        "from revops.cli import main\n"
        "code = main(['ingest', sys.argv[1], '--object', 'Lead'])\n"
        "status = open('/proc/self/status').read()\n"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) // 1024\n"
        "print(f'PEAK_RSS_MB={peak}', file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(path)],
        env=pg_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # something was rejected
    peak = int(proc.stderr.rsplit("PEAK_RSS_MB=", 1)[1].split()[0])
    assert peak < PEAK_RSS_BOUND_MB, f"peak RSS {peak} MB"
    [batch] = batches(db)
    assert batch["batch_status"] in ("succeeded", "failed") and batch["records_rejected"] >= 1


# -- 3. a FIFO in a directory is listed, never opened ------------------------------------------
def test_fifo_in_a_directory_is_skipped(pg_env: dict[str, str], db: Conn, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(page_text(lead("00Q000000000001")))
    os.mkfifo(tmp_path / "pipe")
    expansion = expand([str(tmp_path)])
    assert expansion.reasons == {str(tmp_path / "pipe"): "not a regular file: a named pipe (FIFO)"}
    assert expansion.looks_like_export == []
    proc = cli(pg_env, "ingest", str(tmp_path))
    out, err = proc.communicate(timeout=60)  # used to hang for ever
    assert proc.returncode == 0, err
    assert f"ignored (not a regular file: a named pipe (FIFO)): {tmp_path / 'pipe'}" in err
    os.mkfifo(tmp_path / "leads.json")  # named like an export: not loading it is an error
    proc = cli(pg_env, "ingest", str(tmp_path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert (
        f"ignored, yet looks like an export (not a regular file: a named pipe (FIFO)): {tmp_path / 'leads.json'}"
        in out
    )
    assert lead_ids(db) == [to_18("00Q000000000001")]


# -- 4. an oversized Id quarantines its record; the report tells the truth ---------------------
def test_oversized_ids_are_quarantined_and_the_rest_loads(db: Conn, tmp_path: Path) -> None:
    noise = os.urandom(6000).hex()  # incompressible: over the btree limit even when toasted
    path = tmp_path / "page.json"
    path.write_text(
        page_text(
            lead("00Q000000000001"),
            lead("X" * 12_000),
            lead("00Q000000000003", OwnerId=noise),
            lead("00Q000000000004", Status=noise, LeadSource="Web"),
            lead("00Q000000000005", ConvertedOpportunityId=noise[:256]),
            lead("k" * 255),
        )
    )
    [result] = ingest(db, path)
    assert (result.status, result.records_in, result.loaded, result.rejected) == (
        "succeeded",
        6,
        2,
        4,
    )
    assert lead_ids(db) == [to_18("00Q000000000001"), "k" * 255]
    reasons = [(e["record_position"], e["reason"].split(":")[0]) for e in errors(db)]
    assert reasons == [
        (2, "Id too long in Id"),
        (3, "Id too long in OwnerId"),
        (4, "value too long in Status"),
        (5, "Id too long in ConvertedOpportunityId"),
    ]
    [batch] = batches(db)
    assert (batch["records_in"], batch["records_loaded"], batch["records_rejected"]) == (6, 2, 4)


# -- 5. one-line REST pages: positions are indexes; the later of equal stamps wins -------------
def test_equal_stamps_store_the_last_version_of_a_one_line_page(db: Conn, tmp_path: Path) -> None:
    stamp = "2025-01-01T00:00:00.000+0000"
    versions = [
        lead("00Q000000000001", LastName=f"v{i}", SystemModstamp=stamp) for i in range(1, 41)
    ]
    versions.insert(20, {"LastName": "no id"})
    path = tmp_path / "page.json"
    path.write_text(page_text(*versions, one_line=True))
    assert path.read_text().count("\n") == 0
    [result] = ingest(db, path)
    assert (result.loaded, result.rejected) == (40, 1)
    assert db.execute("SELECT last_name FROM crm.leads").fetchall() == [("v40",)]
    assert [e["record_position"] for e in errors(db)] == [21]


# -- 6. batches left running: reported by revops check, retried by --retry-failed --------------
def data_quality(env: dict[str, str]) -> dict[str, tuple[int, list[str]]]:
    with role_connection(env, "revops_runner", config.metrics_db_name(env)) as runner:
        rows = runner.execute(
            "SELECT check_name, affected_count, sample_ids FROM metrics.data_quality_report()"
            " WHERE check_name LIKE '%%ingest_batches'"
        ).fetchall()
    return {r[0]: (int(r[1]), list(r[2] or [])) for r in rows}


def wait_until_gone(conn: Conn, pid: int) -> None:
    for _ in range(100):
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
        if row is not None and row[0] == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"backend {pid} still connected")


def test_killed_ingest_is_reported_and_retried(
    pg_env: dict[str, str], db: Conn, tmp_path: Path
) -> None:
    # a real kill -9 in the middle of a file: the batch stays running, nothing of it is written
    proc = cli(pg_env, "ingest", "-", "--object", "Lead", stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write('{"Id": "00Q000000000009"}\n')
    proc.stdin.flush()
    for _ in range(100):
        if batches(db):
            break
        time.sleep(0.1)
    [killed] = batches(db)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    wait_until_gone(db, int(killed["details"]["backend_pid"]))
    assert killed["batch_status"] == "running" and lead_ids(db) == []
    # a file whose batch was left running 2 hours ago by a session that is gone
    path = tmp_path / "leads.json"
    path.write_text(page_text(lead("00Q000000000001")))
    origin = json.dumps({"backend_pid": 0, "source_path": str(path), "object_type": None})
    db.execute(
        "INSERT INTO crm.ingest_batches (source_name, source_shape, details, started_at)"
        " VALUES (%s, 'reading', %s::jsonb, now() - interval '2 hours')",
        ("leads.json", origin),
    )
    # and a failed one whose file was fixed since
    fixed = tmp_path / "fixed.json"
    fixed.write_text("not json yet")
    [failed] = ingest(db, fixed)
    assert failed.status == "failed"
    fixed.write_text(page_text(lead("00Q000000000002")))

    found = data_quality(pg_env)
    assert found["failed_ingest_batches"][0] == 1
    assert found["unfinished_ingest_batches"] == (1, [f"batch {batches(db)[1]['batch_id']}"])
    # the stdin batch is younger than an hour: with the threshold at 0 minutes it is reported
    with owner_connection(pg_env) as owner:
        set_setting(owner, "ingest_unfinished_minutes", 0)
        try:
            assert data_quality(pg_env)["unfinished_ingest_batches"][0] == 2
        finally:
            set_setting(owner, "ingest_unfinished_minutes", 60)

    report = retry_failed(db, 0)
    old = {b["batch_id"]: b for b in batches(db)}
    stdin_batch, file_batch, failed_batch = sorted(old)[:3]
    assert report.not_retried == {stdin_batch: "read from stdin: cannot be read again"}
    assert set(report.retried) == {file_batch, failed_batch}
    assert lead_ids(db) == [to_18("00Q000000000001"), to_18("00Q000000000002")]
    for batch_id in (file_batch, failed_batch):
        assert old[batch_id]["batch_status"] == "failed"
        assert old[batch_id]["details"]["retried_by"] == report.retried[batch_id]
        assert old[report.retried[batch_id]]["batch_status"] == "succeeded"  # type: ignore[index]
    assert "unfinished" in old[file_batch]["details"]["error"]
    assert data_quality(pg_env) == {
        "failed_ingest_batches": (0, []),
        "unfinished_ingest_batches": (0, []),
    }
    assert retry_failed(db, 0).retried == {}  # nothing left to retry


def test_retry_failed_from_the_command_line(
    pg_env: dict[str, str], db: Conn, tmp_path: Path
) -> None:
    path = tmp_path / "leads.json"
    path.write_text("oops")
    proc = cli(pg_env, "ingest", str(path))
    assert proc.communicate(timeout=60) and proc.returncode == 1
    proc = cli(pg_env, "ingest", "--retry-failed", "--json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err  # unchanged since it failed: not retried, still an error
    report = json.loads(out)
    assert list(report["not_retried"].values()) == [
        "unchanged since it failed: fix the file, then run revops ingest on it"
    ]
    path.write_text(page_text(lead("00Q000000000001")))
    proc = cli(pg_env, "ingest", "--retry-failed")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "retried as batch" in out and lead_ids(db) == [to_18("00Q000000000001")]
    proc = cli(pg_env, "ingest")
    assert proc.communicate(timeout=60) and proc.returncode == 2


# -- 7. UTF-16/32 inside a directory; an ignored export fails the run -----------------------------
def test_utf16_and_utf32_files_in_a_directory_load(
    pg_env: dict[str, str], db: Conn, tmp_path: Path
) -> None:
    text = page_text(lead("00Q000000000001", LastName="Müller"))
    (tmp_path / "a.json").write_bytes(text.encode("utf-16"))
    (tmp_path / "b.json").write_bytes(page_text(lead("00Q000000000002")).encode("utf-32"))
    (tmp_path / "c.json").write_bytes(page_text(lead("00Q000000000003")).encode("utf-16-be"))
    proc = cli(pg_env, "ingest", str(tmp_path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert "ignored" not in err
    assert len(lead_ids(db)) == 3
    assert db.execute(
        "SELECT last_name FROM crm.leads WHERE lead_id = %s", (to_18("00Q000000000001"),)
    ).fetchone() == ("Müller",)
    (tmp_path / "d.json").write_bytes(b"\x00\x01garbage")
    (tmp_path / "notes.txt").write_text("not an export")
    proc = cli(pg_env, "ingest", str(tmp_path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err  # d.json looks like an export and was not loaded
    assert f"ignored, yet looks like an export (not JSON): {tmp_path / 'd.json'}" in out
    assert "notes.txt" not in out and f"ignored (not JSON): {tmp_path / 'notes.txt'}" in err


# -- 10. dates outside the plausible range -----------------------------------------------------
def test_implausible_dates_are_quarantined(db: Conn, tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text(
        page_text(
            lead("00Q000000000001", CreatedDate="2024-05-01T10:00:00Z"),
            lead("00Q000000000002", CreatedDate="0001-01-01T00:00:00Z"),
            lead("00Q000000000003", CreatedDate="9999-12-31T23:59:59-05:00"),
            lead("00Q000000000004", ConvertedDate="2150-01-01"),
        )
    )
    [result] = ingest(db, path)
    assert (result.loaded, result.rejected) == (1, 3)
    assert [e["reason"] for e in errors(db)] == [
        "implausible datetime in CreatedDate: '0001-01-01T00:00:00Z' (outside the years 1970-2100)",
        (
            "implausible datetime in CreatedDate: '9999-12-31T23:59:59-05:00'"
            " (outside the years 1970-2100)"
        ),
        "implausible date in ConvertedDate: '2150-01-01' (outside the years 1970-2100)",
    ]
