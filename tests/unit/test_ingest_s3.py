"""revops.ingest.s3 under moto, no database: listing, streaming, skipping, marking, resuming.

The loader and the connection are small fakes here (what they record is what the S3 side must
hand them); tests/db/test_ingest_s3_db.py loads from a moto bucket into a real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import pytest
from moto import mock_aws

from revops.ingest import s3
from revops.ingest.limits import DEFAULT
from revops.ingest.load import FileResult
from revops.ingest.pipeline import Options

REGION = "us-east-1"
BUCKET = "revops-test-landing"
ENVELOPES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "envelopes"
EXPORTS = ("rest_page.json", "sf_cli.json", "singer.jsonl")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for name in EXPORTS:
            client.put_object(
                Bucket=BUCKET,
                Key=f"incoming/2026-12-04/{name}",
                Body=(ENVELOPES / name).read_bytes(),
            )
        client.put_object(Bucket=BUCKET, Key="incoming/2026-12-04/", Body=b"")  # folder marker
        client.put_object(Bucket=BUCKET, Key="elsewhere/Lead.json", Body=b"[]")
        yield client


class FakeResult:
    def __init__(self, row: tuple[Any, ...] | None) -> None:
        self.row = row

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.row


class FakeConn:
    """Answers DONE_SQL from ``done`` ((bucket, key, etag) -> batch); records the updates."""

    def __init__(self) -> None:
        self.done: dict[tuple[str, str, str], int] = {}
        self.updates: list[tuple[Any, ...]] = []

    def execute(self, query: str, params: Any = None) -> FakeResult:
        if query == s3.DONE_SQL:
            batch = self.done.get((params["bucket"], params["key"], params["etag"]))
            return FakeResult(None if batch is None else (batch,))
        self.updates.append(params)
        return FakeResult(None)


class FakeLoader:
    """Reads each stream in small chunks, like the reader does; fails the sources named in
    ``fail`` (as a lost connection mid-object would)."""

    object_type: str | None = None
    limits = DEFAULT

    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = fail or set()
        self.loaded: dict[str, bytes] = {}
        self.origins: dict[str, dict[str, Any]] = {}
        self.scopes: dict[str, str] = {}
        self.largest_read = 0
        self.next_batch = 100

    def _batch(self) -> int:
        self.next_batch += 1
        return self.next_batch

    def load_stream(
        self,
        stream: BinaryIO,
        source: str,
        options: Options,
        ahead: Any = None,
        origin: dict[str, Any] | None = None,
    ) -> FileResult:
        chunks = []
        while chunk := stream.read(4096):
            self.largest_read = max(self.largest_read, len(chunk))
            chunks.append(chunk)
        self.origins[source] = dict(origin or {})
        self.scopes[source] = options.scope
        status = "failed" if source in self.fail else "succeeded"
        if status == "succeeded":
            self.loaded[source] = b"".join(chunks)
        return FileResult(source, self._batch(), "json", status=status, details=dict(origin or {}))

    def record_unreadable(
        self, source: str, origin: dict[str, Any], exc: BaseException
    ) -> FileResult:
        return FileResult(source, self._batch(), "unreadable", status="failed", details=origin)


def _uri(name: str) -> str:
    return f"s3://{BUCKET}/incoming/2026-12-04/{name}"


def _tags(client: Any, key: str) -> dict[str, str]:
    tagging = client.get_object_tagging(Bucket=BUCKET, Key=key)
    return {t["Key"]: t["Value"] for t in tagging["TagSet"]}


def _load(client: Any, conn: FakeConn, loader: FakeLoader, how: str = "tag") -> s3.S3Report:
    objects = s3.list_all(client, [f"s3://{BUCKET}/incoming/"])
    return s3.load_objects(conn, loader, client, objects, how=how)  # type: ignore[arg-type]


def test_parse_uri() -> None:
    assert s3.parse_uri("s3://b/incoming/") == ("b", "incoming/")
    assert s3.parse_uri("s3://b") == ("b", "")
    with pytest.raises(s3.S3Error, match="no bucket"):
        s3.parse_uri("s3:///x")


def test_lists_every_page_under_the_prefix_only(aws_env: Any) -> None:
    for i in range(7):
        aws_env.put_object(Bucket=BUCKET, Key=f"incoming/many/{i:02}.json", Body=b"{}")
    objects = list(s3.list_objects(aws_env, f"s3://{BUCKET}/incoming/", page_size=2))
    keys = [o.key for o in objects]
    assert keys == sorted(keys) and len(keys) == 10
    assert all(k.startswith("incoming/") and not k.endswith("/") for k in keys)
    assert all(o.etag.startswith('"') and o.size >= 0 for o in objects)
    twice = s3.list_all(aws_env, [f"s3://{BUCKET}/incoming/", f"s3://{BUCKET}/incoming/many/"])
    assert len(twice) == 10  # each object once


def test_processed_is_left_out_unless_named(aws_env: Any) -> None:
    aws_env.put_object(Bucket=BUCKET, Key="processed/2026-12-03/Lead.json", Body=b"[]")
    root = [o.key for o in s3.list_objects(aws_env, f"s3://{BUCKET}/")]
    assert "elsewhere/Lead.json" in root
    assert not [k for k in root if k.startswith("processed/")]
    named = [o.key for o in s3.list_objects(aws_env, f"s3://{BUCKET}/processed/")]
    assert named == ["processed/2026-12-03/Lead.json"]


def test_streams_records_and_tags_each_loaded_version(aws_env: Any) -> None:
    conn, loader = FakeConn(), FakeLoader()
    report = _load(aws_env, conn, loader)
    assert [r.source for r in report.results] == [_uri(n) for n in EXPORTS]
    for name in EXPORTS:
        assert loader.loaded[_uri(name)] == (ENVELOPES / name).read_bytes()
        origin = loader.origins[_uri(name)]
        head = aws_env.head_object(Bucket=BUCKET, Key=f"incoming/2026-12-04/{name}")
        assert origin["s3_bucket"] == BUCKET
        assert origin["s3_key"] == f"incoming/2026-12-04/{name}"
        assert origin["s3_version_id"] == head["VersionId"]
        assert origin["s3_etag"] == head["ETag"]
        assert loader.scopes[_uri(name)] == f"s3://{BUCKET}/incoming/2026-12-04"
    assert loader.largest_read <= 4096  # read in chunks, never the whole object at once
    batches = {r.source: r.batch_id for r in report.results}
    for name in EXPORTS:
        tags = _tags(aws_env, f"incoming/2026-12-04/{name}")
        assert tags == {"revops:ingest": "processed", "revops-ingested": str(batches[_uri(name)])}
    assert len(conn.updates) == 3 and not report.not_marked and not report.skipped


def test_objects_already_loaded_are_skipped(aws_env: Any) -> None:
    conn, loader = FakeConn(), FakeLoader()
    objects = s3.list_all(aws_env, [f"s3://{BUCKET}/incoming/"])
    conn.done[(BUCKET, objects[0].key, objects[0].etag)] = 7
    report = s3.load_objects(conn, loader, aws_env, objects)  # type: ignore[arg-type]
    assert report.skipped == {objects[0].uri: 7}
    assert objects[0].uri not in loader.loaded and len(loader.loaded) == 2


def test_a_failed_object_is_not_marked_and_loads_again(aws_env: Any) -> None:
    conn, loader = FakeConn(), FakeLoader(fail={_uri("sf_cli.json")})
    report = _load(aws_env, conn, loader)
    assert [r.status for r in report.results] == ["succeeded", "failed", "succeeded"]
    assert _tags(aws_env, "incoming/2026-12-04/sf_cli.json") == {}
    # the next run: the database knows the other two (as the loader's batches would say)
    for result in report.results:
        if result.status == "succeeded":
            d = result.details
            conn.done[(d["s3_bucket"], d["s3_key"], d["s3_etag"])] = int(result.batch_id or 0)
    again = _load(aws_env, conn, FakeLoader())
    assert [r.source for r in again.results] == [_uri("sf_cli.json")]
    assert set(again.skipped) == {_uri("rest_page.json"), _uri("singer.jsonl")}
    assert "revops-ingested" in _tags(aws_env, "incoming/2026-12-04/sf_cli.json")


def test_a_new_version_of_a_loaded_key_is_loaded(aws_env: Any) -> None:
    conn, loader = FakeConn(), FakeLoader()
    first = _load(aws_env, conn, loader)
    for result in first.results:
        d = result.details
        conn.done[(d["s3_bucket"], d["s3_key"], d["s3_etag"])] = int(result.batch_id or 0)
    key = "incoming/2026-12-04/singer.jsonl"
    aws_env.put_object(Bucket=BUCKET, Key=key, Body=(ENVELOPES / "airbyte.jsonl").read_bytes())
    again = _load(aws_env, conn, FakeLoader())
    assert [r.source for r in again.results] == [_uri("singer.jsonl")]
    assert len(again.skipped) == 2


def test_move_copies_under_processed_and_deletes_the_version_read(aws_env: Any) -> None:
    conn, loader = FakeConn(), FakeLoader()
    report = _load(aws_env, conn, loader, how="move")
    assert not report.not_marked
    left = aws_env.list_objects_v2(Bucket=BUCKET, Prefix="incoming/").get("Contents", [])
    assert [o["Key"] for o in left] == ["incoming/2026-12-04/"]
    moved = aws_env.list_objects_v2(Bucket=BUCKET, Prefix="processed/")["Contents"]
    assert sorted(o["Key"] for o in moved) == [f"processed/2026-12-04/{n}" for n in EXPORTS]
    body = aws_env.get_object(Bucket=BUCKET, Key="processed/2026-12-04/sf_cli.json")["Body"]
    assert body.read() == (ENVELOPES / "sf_cli.json").read_bytes()


def test_a_mark_that_fails_is_reported(aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    def denied(**_kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObjectTagging")

    monkeypatch.setattr(aws_env, "put_object_tagging", denied)
    report = _load(aws_env, FakeConn(), FakeLoader())
    assert len(report.not_marked) == 3
    assert all("AccessDenied" in why for why in report.not_marked.values())


def test_an_object_gone_since_listing_is_one_failed_batch(aws_env: Any) -> None:
    objects = s3.list_all(aws_env, [f"s3://{BUCKET}/incoming/"])
    aws_env.delete_object(Bucket=BUCKET, Key=objects[0].key)
    report = s3.load_objects(FakeConn(), FakeLoader(), aws_env, objects)  # type: ignore[arg-type]
    assert [r.status for r in report.results] == ["failed", "succeeded", "succeeded"]


def test_missing_bucket_is_an_s3_error(aws_env: Any) -> None:
    with pytest.raises(s3.S3Error, match="cannot list s3://no-such-bucket/: NoSuchBucket"):
        list(s3.list_objects(aws_env, "s3://no-such-bucket/"))


# -- the command line: S3 trouble is exit 2 with a message, before any database ---------------
def test_cli_without_credentials_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from revops.cli import main

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("PGHOST", str(tmp_path / "no-server"))  # never reached
    assert main(["ingest", f"s3://{BUCKET}/incoming/"]) == 2
    err = capsys.readouterr().err
    assert "cannot list s3://" in err and "credentials" in err and "Traceback" not in err


def test_cli_without_boto3_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from revops import aws
    from revops.cli import main

    def missing() -> Any:
        raise aws.AwsError("boto3 is not installed: install the aws extra")

    monkeypatch.setattr(aws, "_boto3", missing)
    assert main(["ingest", "s3://bucket/incoming/"]) == 2
    assert "boto3 is not installed" in capsys.readouterr().err
