"""`revops ingest s3://...` from a moto bucket into a real PostgreSQL, in-process.

moto's `mock_aws` patches boto3 inside this process, so the CLI function is called here (not as a
subprocess). The module starts from an empty crm and leaves it empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from pgtest import reset_crm

pytestmark = pytest.mark.db

Conn = psycopg.Connection[Any]
REGION = "us-east-1"
BUCKET = "revops-db-landing"
ENVELOPES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "envelopes"
GOOD = ("rest_page.json", "sf_cli.json", "singer.jsonl")
BAD = "sf_cli_error.json"  # an sf CLI error envelope: quarantined as a whole file
PREFIX = "incoming/2026-12-04/"


@pytest.fixture
def db(ingest_conn: Conn) -> Iterator[Conn]:
    reset_crm(ingest_conn)
    yield ingest_conn
    reset_crm(ingest_conn)


@pytest.fixture
def bucket(pg_env: dict[str, str], db: Conn, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in pg_env.items():
        monkeypatch.setenv(key, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for name in GOOD:
            client.put_object(
                Bucket=BUCKET, Key=PREFIX + name, Body=(ENVELOPES / name).read_bytes()
            )
        yield client


def ingest(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    from revops.cli import main

    code = main(["ingest", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def batches(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT batch_id, source_name, batch_status, records_loaded, source_sha256,"
        " details ->> 's3_key', details ->> 's3_version_id', details ->> 's3_etag',"
        " details ->> 's3_marked'"
        " FROM crm.ingest_batches ORDER BY batch_id"
    ).fetchall()


def crm_rows(conn: Conn) -> int:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM crm.leads) + (SELECT count(*) FROM crm.opportunities)"
        " + (SELECT count(*) FROM crm.accounts) + (SELECT count(*) FROM crm.reps)"
        " + (SELECT count(*) FROM crm.activities) + (SELECT count(*) FROM crm.interactions)"
        " + (SELECT count(*) FROM crm.lead_status_history)"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_loads_each_object_once_and_tags_it(
    bucket: Any, db: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = ingest(capsys, f"s3://{BUCKET}/incoming/")
    assert code == 0, report
    assert report["rejected"] == 0 and report["loaded"] > 0
    assert report["loaded"] + report["skipped"] == report["records_in"]
    loaded_rows = crm_rows(db)
    assert loaded_rows > 0
    rows = batches(db)
    assert [r[1] for r in rows] == [f"s3://{BUCKET}/{PREFIX}{n}" for n in GOOD]
    for (batch_id, _source, status, _n, sha, key, version, etag, marked), name in zip(
        rows, GOOD, strict=True
    ):
        head = bucket.head_object(Bucket=BUCKET, Key=PREFIX + name)
        assert (status, key, version, etag, marked) == (
            "succeeded",
            PREFIX + name,
            head["VersionId"],
            head["ETag"],
            "tag",
        )
        assert len(sha) == 64
        tags = bucket.get_object_tagging(Bucket=BUCKET, Key=PREFIX + name)["TagSet"]
        assert {t["Key"]: t["Value"] for t in tags}["revops-ingested"] == str(batch_id)

    code, again = ingest(capsys, f"s3://{BUCKET}/incoming/")
    assert code == 0
    assert again["files"] == [] and len(again["s3_already_loaded"]) == 3
    assert len(batches(db)) == 3 and crm_rows(db) == loaded_rows

    from revops.cli import main

    assert main(["ingest", f"s3://{BUCKET}/incoming/"]) == 0
    assert "already loaded, skipped: 3 S3 object(s)" in capsys.readouterr().out


def test_bad_object_is_quarantined_once_and_mixes_with_local_paths(
    bucket: Any, db: Conn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket.put_object(Bucket=BUCKET, Key=PREFIX + BAD, Body=(ENVELOPES / BAD).read_bytes())
    local = tmp_path / "bulk_array.json"
    local.write_bytes((ENVELOPES / "bulk_array.json").read_bytes())
    code, report = ingest(capsys, str(local), f"s3://{BUCKET}/{PREFIX}")
    assert code == 1  # the error envelope is rejected
    assert report["failed_files"] == [f"s3://{BUCKET}/{PREFIX}{BAD}"]
    assert len(report["files"]) == 5
    errors = db.execute(
        "SELECT count(*) FROM crm.load_errors WHERE source_name = %s",
        (f"s3://{BUCKET}/{PREFIX}{BAD}",),
    ).fetchone()
    assert errors is not None and errors[0] >= 1
    untagged = bucket.get_object_tagging(Bucket=BUCKET, Key=PREFIX + BAD)["TagSet"]
    assert untagged == []
    code, again = ingest(capsys, f"s3://{BUCKET}/{PREFIX}")
    assert code == 0 and again["files"] == [] and len(again["s3_already_loaded"]) == 4


def test_an_object_left_running_is_loaded_again(
    bucket: Any, db: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    """The host died mid-object: its batch is `running` (its rows rolled back), not loaded."""
    key = PREFIX + GOOD[0]
    etag = bucket.head_object(Bucket=BUCKET, Key=key)["ETag"]
    db.execute(
        "INSERT INTO crm.ingest_batches (source_name, source_shape, started_at, details)"
        " VALUES (%s, 'reading', now() - interval '2 hours', %s::jsonb)",
        (
            f"s3://{BUCKET}/{key}",
            json.dumps(
                {"backend_pid": 2_000_000_000, "s3_bucket": BUCKET, "s3_key": key, "s3_etag": etag}
            ),
        ),
    )
    code, retry = ingest(capsys, "--retry-failed")  # leaves s3:// sources to the S3 ingest
    assert code == 0 and retry["not_retried"] == {} and retry["files"] == []
    code, report = ingest(capsys, f"s3://{BUCKET}/incoming/")
    assert code == 0 and len(report["files"]) == 3
    statuses = [(r[1].rsplit("/", 1)[1], r[2]) for r in batches(db)]
    assert statuses[0] == (GOOD[0], "running")
    assert (GOOD[0], "succeeded") in statuses[1:]
    pending = db.execute(
        "SELECT count(*) FROM crm.ingest_batches AS b WHERE b.batch_status = 'running'"
        " AND NOT EXISTS (SELECT FROM crm.ingest_batches AS later WHERE later.batch_id > b.batch_id"
        " AND later.batch_status = 'succeeded' AND later.source_name = b.source_name)"
    ).fetchone()
    assert pending == (0,)  # settled for revops check and --retry-failed
