"""``revops ingest --retry-failed``: load again what failed or never finished.

A batch is *pending* when it is

- ``failed`` (the file could not be loaded, or it was not JSON, an sf CLI error envelope, ...),
- or ``running`` for longer than ``--older-than`` minutes (default 60) while the session that
  opened it is gone (``details.backend_pid`` is no longer connected): the ingest was killed or
  the server stopped, and the file's transaction rolled back,

and no later batch of the same source succeeded (a manual re-run settles it) and it has not
been retried already. Each pending source is loaded again exactly as the first time (its path,
plan step and ``--object`` are kept in ``details``); a plan is loaded through its plan again.
The old batch is then closed ``failed`` with ``details.retried_by`` = the new batch, so it is
reported once. Objects read from S3 are left to the next ``revops ingest s3://...`` (see
:mod:`revops.ingest.s3`), whose success settles them. Not retried, and said why: stdin, a source that no longer exists, and a failed
file whose content (sha256) is unchanged since it failed (it would fail the same way).

Loading is idempotent (upsert by Id, last writer wins), so retrying a source that did load in
the meantime changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from revops.ingest import sources
from revops.ingest.limits import DEFAULT, Limits
from revops.ingest.load import FileResult, Loader

Conn = psycopg.Connection[Any]
UNFINISHED = "unfinished: the loading session ended (killed, or the server stopped)"

PENDING_SQL = """
SELECT
    b.batch_id,
    b.source_name,
    b.batch_status,
    b.source_sha256,
    b.details,
    coalesce(b.details ->> 'source_path', b.source_name) AS source_path
FROM crm.ingest_batches AS b
WHERE
    NOT b.details ? 'retried_by'
    AND (
        b.batch_status = 'failed'
        OR (
            b.batch_status = 'running'
            AND b.started_at < now() - make_interval(mins => %(older_than)s)
            AND NOT EXISTS (
                SELECT FROM pg_catalog.pg_stat_activity AS a
                WHERE
                    a.pid = (b.details ->> 'backend_pid')::integer
                    AND a.backend_start <= b.started_at
            )
        )
    )
    AND NOT EXISTS (
        SELECT FROM crm.ingest_batches AS later
        WHERE
            later.batch_id > b.batch_id
            AND later.batch_status = 'succeeded'
            AND coalesce(later.details ->> 'source_path', later.source_name)
            = coalesce(b.details ->> 'source_path', b.source_name)
    )
ORDER BY b.batch_id
"""


@dataclass
class Pending:
    batch_id: int
    source_name: str
    status: str
    sha256: str | None
    details: dict[str, Any]
    path: str


@dataclass
class RetryReport:
    results: list[FileResult] = field(default_factory=list)
    retried: dict[int, int | None] = field(default_factory=dict)  # old batch -> new batch
    not_retried: dict[int, str] = field(default_factory=dict)  # old batch -> why


def find_pending(conn: Conn, older_than_minutes: int) -> list[Pending]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(PENDING_SQL, {"older_than": older_than_minutes}).fetchall()
    return [
        Pending(
            int(r["batch_id"]),
            str(r["source_name"]),
            str(r["batch_status"]),
            r["source_sha256"],
            dict(r["details"] or {}),
            str(r["source_path"]),
        )
        for r in rows
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def _why_not(item: Pending, path: Path) -> str | None:
    if item.path == "<stdin>":
        return "read from stdin: cannot be read again"
    if not path.exists():
        return f"source no longer exists: {item.path}"
    problem = sources.not_regular(path)
    if problem is not None:
        return problem
    if item.status == "failed" and item.sha256 and item.sha256 == _sha256(path):
        return "unchanged since it failed: fix the file, then run revops ingest on it"
    return None


def retry_failed(
    conn: Conn,
    older_than_minutes: int,
    *,
    limits: Limits = DEFAULT,
    progress: Callable[[str], None] | None = None,
) -> RetryReport:
    """Load every pending batch's source again (see the module doc)."""
    report = RetryReport()
    say = progress or (lambda _message: None)
    plans: dict[Path, tuple[sources.PlanWork, str | None, list[int]]] = {}
    files: dict[Path, tuple[sources.FileWork, str | None, list[int]]] = {}
    for item in find_pending(conn, older_than_minutes):
        if item.path.startswith("s3://"):  # not marked loaded: the next S3 ingest loads it
            say(
                f"ingest: batch {item.batch_id} ({item.source_name}) is loaded again by"
                " `revops ingest s3://...` of its prefix"
            )
            continue
        path = Path(item.path)
        why = _why_not(item, path)
        if why is not None:
            report.not_retried[item.batch_id] = why
            say(f"ingest: batch {item.batch_id} ({item.source_name}) not retried: {why}")
            continue
        resolved = path.resolve()
        object_type = item.details.get("object_type")
        steps = sources.read_plan(resolved)
        if steps is not None:
            if resolved not in plans:
                plan = sources.plan_work(resolved, steps, set())
                plan.display = item.source_name
                plans[resolved] = (plan, object_type, [])
            plans[resolved][2].append(item.batch_id)
            continue
        if resolved not in files:
            step_type = item.details.get("step_type")
            work = sources.FileWork(
                resolved,
                item.source_name,
                str(resolved.parent),
                step_type if isinstance(step_type, str) else None,
            )
            files[resolved] = (work, object_type, [])
        files[resolved][2].append(item.batch_id)
    plan_of = {f.path: key for key, (plan, _o, _b) in plans.items() for f in plan.files}
    for resolved in [r for r in files if r in plan_of]:  # loaded again through its plan
        plans[plan_of[resolved]][2].extend(files.pop(resolved)[2])
    for plan, object_type, batch_ids in plans.values():
        say(f"ingest: retrying {plan.display} (batches {', '.join(map(str, batch_ids))})")
        results = _loader(conn, object_type, limits, progress).load([plan])
        report.results.extend(results)
        report.retried.update(dict.fromkeys(batch_ids, results[0].batch_id))
    for work, object_type, batch_ids in files.values():
        say(f"ingest: retrying {work.display} (batches {', '.join(map(str, batch_ids))})")
        results = _loader(conn, object_type, limits, progress).load([work])
        report.results.extend(results)
        report.retried.update(dict.fromkeys(batch_ids, results[0].batch_id))
    for old, new in report.retried.items():
        mark_retried(conn, old, new)
    return report


def _loader(
    conn: Conn, object_type: Any, limits: Limits, progress: Callable[[str], None] | None
) -> Loader:
    kind = object_type if isinstance(object_type, str) else None
    return Loader(conn, object_type=kind, progress=progress, limits=limits)


def mark_retried(conn: Conn, batch_id: int, new_batch_id: int | None) -> None:
    """Close an old batch as failed (it was: nothing of it stayed) and point to its retry."""
    conn.execute(
        "UPDATE crm.ingest_batches SET batch_status = 'failed',"
        " finished_at = coalesce(finished_at, now()),"
        " details = details || jsonb_build_object('retried_by', %s::bigint,"
        " 'error', coalesce(details ->> 'error', %s::text))"
        " WHERE batch_id = %s AND batch_status <> 'succeeded'",
        (new_batch_id, UNFINISHED, batch_id),
    )
