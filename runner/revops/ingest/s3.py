"""``revops ingest s3://bucket/prefix/``: load the exports under an S3 prefix, once each.

- **Listing**: ``list_objects_v2`` through a paginator (metadata only: key, ETag, size); keys
  ending in ``/`` (folder markers) are left out, and so is ``processed/`` (where ``--s3-mark
  move`` puts what it loaded) unless the URL itself names it. Listing happens before the database is touched,
  so missing boto3, missing credentials, a wrong bucket or a denied listing stop the command
  with a message (:class:`S3Error`, exit 2) and nothing is loaded.
- **Streaming**: each object's ``GetObject`` body goes straight into the loader, read in
  chunks; no object (let alone the bucket) is ever held in memory or written to disk.
- **Recorded**: every object gets its own ``crm.ingest_batches`` row, ``source_name`` =
  ``s3://bucket/key``, and ``details`` holds ``s3_bucket``, ``s3_key``, ``s3_version_id`` (the
  exact version read; ``null`` in an unversioned bucket), ``s3_etag`` and ``s3_size``; the
  content's sha256 is ``source_sha256`` as for files.
- **Once**: an object is skipped when a batch of the same bucket, key and ETag is ``succeeded``,
  or ``failed`` because of its content (not JSON, an sf error envelope: loading it again would
  quarantine it again). An object whose batch failed for another reason (the connection, the
  database) or was left ``running`` (the host died mid-object: its transaction rolled back) is
  simply loaded again by the next run; that later success settles the old batch for
  ``revops check`` and ``--retry-failed``, which leaves ``s3://`` sources to this command.
- **Marked**: after a successful load the version read is tagged ``revops:ingest=processed``
  (what the landing bucket's lifecycle expires) and ``revops-ingested=<batch id>`` (only
  ``s3:PutObjectTagging`` needed), or, with ``--s3-mark move``, copied under ``processed/`` and
  that version deleted (needs ``s3:PutObject`` on ``processed/*`` and
  ``s3:DeleteObjectVersion`` too). A mark that fails is reported (exit 1); the database still
  knows the object is loaded, so it is not loaded twice.

boto3 is the optional ``aws`` extra, imported on first use (:mod:`revops.aws`).
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from revops.ingest.load import FileResult, Loader
from revops.ingest.pipeline import Options

Conn = psycopg.Connection[Any]
SCHEME = "s3://"
MARKS = ("tag", "move")
PROCESSED_PREFIX = "processed/"
PROCESSED_TAG = ("revops:ingest", "processed")  # infra/landing.py's lifecycle expires these
BATCH_TAG = "revops-ingested"

DONE_SQL = """
SELECT b.batch_id
FROM crm.ingest_batches AS b
WHERE
    b.details ->> 's3_bucket' = %(bucket)s
    AND b.details ->> 's3_key' = %(key)s
    AND b.details ->> 's3_etag' = %(etag)s
    AND (b.batch_status = 'succeeded' OR (b.batch_status = 'failed' AND NOT b.details ? 'error'))
ORDER BY b.batch_id DESC
LIMIT 1
"""


class S3Error(RuntimeError):
    """S3 cannot be used at all (boto3 missing, no credentials, no such bucket, denied)."""


def is_s3(arg: str) -> bool:
    return arg.startswith(SCHEME)


def parse_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix); the prefix may be empty."""
    if not is_s3(uri):
        raise S3Error(f"not an s3:// URL: {uri}")
    bucket, _, prefix = uri[len(SCHEME) :].partition("/")
    if not bucket:
        raise S3Error(f"no bucket in {uri}")
    return bucket, prefix


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    etag: str
    size: int
    prefix: str = ""  # the prefix it was listed under (for --s3-mark move)

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    @property
    def scope(self) -> str:
        """The export it belongs to (tree Ids are scoped by it): its "directory"."""
        return f"{SCHEME}{self.bucket}/{posixpath.dirname(self.key)}"


@dataclass
class S3Report:
    results: list[FileResult] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # uri -> the batch that loaded it
    not_marked: dict[str, str] = field(default_factory=dict)  # uri -> why


def client(region: str | None = None) -> Any:
    """An S3 client (boto3 imported lazily; the region as :mod:`revops.aws` picks it)."""
    from revops import aws

    try:
        return aws._client("s3", region)
    except aws.AwsError as exc:
        raise S3Error(str(exc)) from None


def _describe(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code, message = error.get("Code", ""), error.get("Message", "")
        return f"{code}: {message}".strip(": ") or str(exc)
    return str(exc) or type(exc).__name__


def _errors() -> tuple[type[Exception], ...]:
    from revops import aws

    return aws._boto_errors()


def list_objects(s3: Any, uri: str, page_size: int | None = None) -> Iterator[S3Object]:
    """Every object under the prefix, page by page, in key order (folder markers left out)."""
    bucket, prefix = parse_uri(uri)
    paginator = s3.get_paginator("list_objects_v2")
    pages = {"PageSize": page_size} if page_size else {}
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=pages):
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key.endswith("/") or (
                    key.startswith(PROCESSED_PREFIX) and not prefix.startswith(PROCESSED_PREFIX)
                ):
                    continue
                yield S3Object(bucket, key, str(item["ETag"]), int(item["Size"]), prefix)
    except _errors() as exc:
        raise S3Error(f"cannot list {uri}: {_describe(exc)}") from None


def list_all(s3: Any, uris: Sequence[str]) -> list[S3Object]:
    """The objects under each URL (metadata only), each once, in the order given."""
    seen: set[tuple[str, str]] = set()
    out: list[S3Object] = []
    for uri in uris:
        for obj in list_objects(s3, uri):
            if (obj.bucket, obj.key) not in seen:
                seen.add((obj.bucket, obj.key))
                out.append(obj)
    return out


def loaded_batch(conn: Conn, obj: S3Object) -> int | None:
    """The batch that already loaded this object's content (see the module doc), if any."""
    row = conn.execute(
        DONE_SQL, {"bucket": obj.bucket, "key": obj.key, "etag": obj.etag}
    ).fetchone()
    return None if row is None else int(row[0])


def _origin(obj: S3Object, object_type: str | None) -> dict[str, Any]:
    return {
        "s3_bucket": obj.bucket,
        "s3_key": obj.key,
        "s3_etag": obj.etag,
        "s3_size": obj.size,
        "s3_version_id": None,
        "object_type": object_type,
    }


def mark(s3: Any, obj: S3Object, version_id: str | None, batch_id: int, how: str) -> str:
    """Mark the version read as loaded (see the module doc); returns the new key when moved."""
    version = {"VersionId": version_id} if version_id else {}
    if how == "tag":
        s3.put_object_tagging(
            Bucket=obj.bucket,
            Key=obj.key,
            **version,
            Tagging={
                "TagSet": [
                    {"Key": PROCESSED_TAG[0], "Value": PROCESSED_TAG[1]},
                    {"Key": BATCH_TAG, "Value": str(batch_id)},
                ]
            },
        )
        return obj.key
    if how != "move":
        raise ValueError(f"unknown mark {how!r}")
    relative = obj.key.removeprefix(obj.prefix)
    target = PROCESSED_PREFIX + relative.lstrip("/")
    s3.copy_object(
        Bucket=obj.bucket,
        Key=target,
        CopySource={"Bucket": obj.bucket, "Key": obj.key, **version},
        Tagging=f"{BATCH_TAG}={batch_id}",
        TaggingDirective="REPLACE",
    )
    s3.delete_object(Bucket=obj.bucket, Key=obj.key, **version)
    return target


def _record_mark(conn: Conn, batch_id: int, how: str, target: str) -> None:
    conn.execute(
        "UPDATE crm.ingest_batches SET details = details || jsonb_build_object("
        "'s3_marked', %s::text, 's3_processed_key', %s::text) WHERE batch_id = %s",
        (how, target, batch_id),
    )


def load_objects(
    conn: Conn,
    loader: Loader,
    s3: Any,
    objects: Sequence[S3Object],
    *,
    how: str = "tag",
    progress: Callable[[str], None] | None = None,
) -> S3Report:
    """Load each object not loaded yet, one batch each, and mark it (see the module doc)."""
    say = progress or (lambda _message: None)
    report = S3Report()
    for obj in objects:
        done = loaded_batch(conn, obj)
        if done is not None:
            report.skipped[obj.uri] = done
            continue
        origin = _origin(obj, loader.object_type)
        try:
            response = s3.get_object(Bucket=obj.bucket, Key=obj.key)
        except _errors() as exc:
            report.results.append(
                loader.record_unreadable(obj.uri, origin, S3Error(_describe(exc)))
            )
            continue
        version_id = response.get("VersionId")
        origin["s3_version_id"] = None if version_id in (None, "null") else str(version_id)
        origin["s3_etag"] = str(response.get("ETag", obj.etag))
        body = response["Body"]
        try:
            options = Options(loader.object_type, None, obj.scope, loader.limits)
            result = loader.load_stream(body, obj.uri, options, None, origin)
        finally:
            with contextlib.suppress(Exception):
                body.close()
        report.results.append(result)
        if result.status != "succeeded" or result.batch_id is None:
            continue
        try:
            target = mark(s3, obj, origin["s3_version_id"], result.batch_id, how)
        except _errors() as exc:
            why = f"loaded (batch {result.batch_id}) but not marked ({how}): {_describe(exc)}"
            report.not_marked[obj.uri] = why
            say(f"ingest: {obj.uri}: {why}")
            continue
        _record_mark(conn, result.batch_id, how, target)
        result.details.update({"s3_marked": how, "s3_processed_key": target})
    return report
