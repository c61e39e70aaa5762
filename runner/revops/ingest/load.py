"""Load work into ``crm``: COPY into temporary staging tables, one set-based upsert per table.

Per file: an ``ingest_batches`` row is opened (committed, so a crash leaves a visible
``running`` batch), records stream through :class:`~revops.ingest.pipeline.Processor` into
per-table staging buffers flushed with COPY, and one transaction then applies one upsert per
table, copies the quarantine into ``crm.load_errors`` and closes the batch with its counts.

Last writer wins, and "unchanged" means unchanged: a stored row is replaced only when the
incoming version (``SystemModstamp``, else ``LastModifiedDate``) is newer; when neither side
has a version (tree exports, hand-made files) only when its content differs. Otherwise nothing
is written, not even ``loaded_at``/``batch_id``, so re-ingesting the same or overlapping
exports leaves the tables byte for byte as they were. Within one file the newest version of an
Id wins, and the later record on a tie.

A lead whose stored status differs from the newer incoming one gets a ``lead_status_history``
row (``history_source = 'ingest'``, ``changed_at`` = the record's LastModifiedDate, else
SystemModstamp, else the load time; ``history_id`` derived from lead, time and statuses). A
lead's first load adds none.

A file that cannot be loaded at all (a database error, a bug: any exception) rolls back as a
whole and is recorded as one entry: its batch is closed ``failed`` with the error, one
``load_errors`` row says why (so records in = loaded + rejected + skipped and rejected = its
``load_errors`` rows hold for every batch), and the next file is loaded. Only an interrupt
(Ctrl-C) or a lost connection ends the invocation; a batch it leaves ``running`` is found by
``revops ingest --retry-failed`` (:mod:`revops.ingest.retry`) and by ``revops check``.

Values only ever travel as COPY data or query parameters; names are ``sql.Identifier``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
from psycopg import postgres, sql
from psycopg.adapt import Dumper
from psycopg.pq import Format

from revops.ingest import fields, sources
from revops.ingest.ahead import Ahead
from revops.ingest.limits import DEFAULT, Limits
from revops.ingest.pipeline import Item, Loaded, Options, Processor, Rejected, Skipped, Tally
from revops.ingest.rawjson import clean_text, quarantine_text

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
CHUNK_ROWS = 5000
PROGRESS_SECONDS = 2.0
ERRORS_STAGE = "ingest_stage_errors"


def stage_name(table: str) -> str:
    return f"ingest_stage_{table}"


class RawJsonbDumper(Dumper):
    """``raw`` (JSON text that :func:`~revops.ingest.rawjson.to_json` found storable) in the
    binary COPY format of ``jsonb``: a version byte, then the text."""

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode("utf-8")


def stage_types(spec: fields.TableSpec) -> list[str]:
    """The staging columns' types, for a binary COPY (see :meth:`Loader._copy_rows`)."""
    return ["bigint", *(fields.PG_TYPES[c.kind] for c in spec.columns), "jsonb"]


@dataclass
class FileResult:
    """What happened to one file (or one plan), as the CLI reports it."""

    source: str
    batch_id: int | None
    shape: str
    records_in: int = 0
    loaded: int = 0
    rejected: int = 0
    skipped: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    status_changes: int = 0
    object_types: dict[str, int] = field(default_factory=dict)
    skipped_types: dict[str, int] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    rejected_positions: list[int | None] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "succeeded"
    tally: Tally | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "tally"}


# -- SQL ---------------------------------------------------------------------------------------
def _version(spec: fields.TableSpec, alias: str) -> sql.Composable:
    if "last_modified_at" in spec.column_names:
        return sql.SQL("coalesce({}.system_modstamp, {}.last_modified_at)").format(
            sql.Identifier(alias), sql.Identifier(alias)
        )
    return sql.SQL("{}.system_modstamp").format(sql.Identifier(alias))


def _newer(spec: fields.TableSpec, stored: str, incoming: str) -> sql.Composable:
    """True when the incoming row must replace the stored one (see the module doc)."""
    columns = [*spec.column_names[1:], "raw"]

    def row(alias: str) -> sql.Composable:
        return sql.SQL("ROW({})").format(
            sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns)
        )

    v_old, v_new = _version(spec, stored), _version(spec, incoming)
    return sql.SQL(
        "({new} > {old} OR ({old} IS NULL AND {new} IS NOT NULL)"
        " OR ({old} IS NULL AND {new} IS NULL AND {row_old} IS DISTINCT FROM {row_new}))"
    ).format(new=v_new, old=v_old, row_old=row(stored), row_new=row(incoming))


def upsert_sql(spec: fields.TableSpec) -> sql.Composed:
    """One statement: dedupe staging, insert new Ids, update newer ones, count, track status."""
    key = sql.Identifier(spec.key)
    table = sql.Identifier("crm", spec.table)
    cols = [*spec.column_names, "raw"]
    col_list = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    c_cols = sql.SQL(", ").join(sql.Identifier("c", c) for c in cols)
    updates = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
        for c in [*cols[1:], "batch_id", "loaded_at"]
    )
    is_leads = spec.table == "leads"
    stored_status = sql.SQL(", t.status AS stored_status") if is_leads else sql.SQL("")
    history = sql.SQL("")
    history_count = sql.SQL("0")
    if is_leads:
        history = sql.SQL(
            """,
history AS (
    INSERT INTO crm.lead_status_history
        (history_id, lead_id, changed_at, old_status, new_status, history_source, raw, batch_id)
    SELECT
        'ingest:' || h.lead_id || ':' || md5(concat_ws(E'\\x1f', h.changed_at::text,
            h.stored_status, h.status)),
        h.lead_id, h.changed_at, h.stored_status, h.status, 'ingest',
        jsonb_build_object('derived_from', 'lead', 'batch_id', %(batch_id)s::bigint),
        %(batch_id)s
    FROM (
        SELECT c.lead_id, c.stored_status, c.status,
            coalesce(c.last_modified_at, c.system_modstamp, now()) AS changed_at
        FROM candidates AS c
        WHERE NOT c.is_new AND c.stored_status IS DISTINCT FROM c.status
    ) AS h
    ON CONFLICT (history_id) DO NOTHING
    RETURNING 1
)"""
        )
        history_count = sql.SQL("(SELECT count(*) FROM history)")
    return sql.SQL(
        """
WITH incoming AS (
    SELECT DISTINCT ON (s.{key}) s.*
    FROM {stage} AS s
    ORDER BY s.{key}, {version} DESC NULLS LAST, s.record_position DESC
),
candidates AS (
    SELECT i.*, t.{key} IS NULL AS is_new{stored_status}
    FROM incoming AS i
    LEFT JOIN {table} AS t ON t.{key} = i.{key}
    WHERE t.{key} IS NULL OR {newer_join}
){history},
upserted AS (
    INSERT INTO {table} AS t ({col_list}, batch_id, loaded_at)
    SELECT {c_cols}, %(batch_id)s, now()
    FROM candidates AS c
    ON CONFLICT ({key}) DO UPDATE SET {updates}
    WHERE {newer_conflict}
    RETURNING (t.xmax = 0) AS inserted
)
SELECT
    (SELECT count(*) FROM incoming) AS distinct_ids,
    count(*) FILTER (WHERE u.inserted) AS inserted,
    count(*) FILTER (WHERE NOT u.inserted) AS updated,
    {history_count} AS status_changes
FROM upserted AS u
"""
    ).format(
        key=key,
        stage=sql.Identifier(stage_name(spec.table)),
        version=_version(spec, "s"),
        stored_status=stored_status,
        table=table,
        newer_join=_newer(spec, "t", "i"),
        history=history,
        col_list=col_list,
        c_cols=c_cols,
        updates=updates,
        newer_conflict=_newer(spec, "t", "excluded"),
        history_count=history_count,
    )


def _create_staging(conn: Conn) -> None:
    for spec in fields.SPECS.values():
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(fields.PG_TYPES[c.kind]))
            for c in spec.columns
        ]
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} (record_position bigint, {}, raw jsonb)"
            ).format(sql.Identifier(stage_name(spec.table)), sql.SQL(", ").join(columns))
        )
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (record_position bigint, object_type text,"
            " reason text, raw_text text)"
        ).format(sql.Identifier(ERRORS_STAGE))
    )


# -- loading ------------------------------------------------------------------------------------
@dataclass
class _ReadAhead:
    """The next file, opened and being read ahead (see :mod:`revops.ingest.ahead`)."""

    work: sources.FileWork
    stream: BinaryIO
    ahead: Ahead

    def discard(self) -> None:
        self.ahead.close()
        self.stream.close()


class Loader:
    """Loads work items over one connection (autocommit, as revops.db.connect opens it)."""

    def __init__(
        self,
        conn: Conn,
        *,
        object_type: str | None = None,
        progress: Callable[[str], None] | None = None,
        limits: Limits = DEFAULT,
    ) -> None:
        self.conn = conn
        self.object_type = object_type
        self.limits = limits
        self.progress = progress or (lambda _message: None)
        self._staged: dict[str, int] = {}
        self._upserts = {t: upsert_sql(spec) for t, spec in fields.SPECS.items()}
        self._upcoming: deque[sources.FileWork] = deque()  # files load() will load next, in order
        self._read_ahead: _ReadAhead | None = None
        _create_staging(conn)

    # batches
    def _open_batch(self, source: str, origin: dict[str, Any] | None = None) -> int:
        """A ``running`` batch; ``details`` says which session loads it (a batch whose session
        is gone was interrupted) and how to load the source again (``origin``)."""
        row = self.conn.execute(
            "INSERT INTO crm.ingest_batches (source_name, source_shape, details)"
            " VALUES (%s, 'reading', jsonb_build_object('backend_pid', pg_backend_pid())"
            " || %s::jsonb) RETURNING batch_id",
            (clean_text(source), json.dumps(origin or {})),
        ).fetchone()
        if row is None:  # pragma: no cover - INSERT ... RETURNING always returns a row
            raise RuntimeError("ingest_batches insert returned nothing")
        return int(row[0])

    def _close_batch(self, result: FileResult, sha256: str | None, object_types: list[str]) -> None:
        self.conn.execute(
            "UPDATE crm.ingest_batches SET source_sha256 = %s, source_shape = %s,"
            " object_types = %s, records_in = %s, records_loaded = %s, records_rejected = %s,"
            " records_skipped = %s, batch_status = %s, details = %s::jsonb, finished_at = now()"
            " WHERE batch_id = %s",
            (
                sha256,
                result.shape,
                object_types,
                result.records_in,
                result.loaded,
                result.rejected,
                result.skipped,
                result.status,
                json.dumps(result.details, default=str),
                result.batch_id,
            ),
        )

    # one source
    def load_stream(
        self,
        stream: BinaryIO,
        source: str,
        options: Options,
        ahead: Ahead | None = None,
        origin: dict[str, Any] | None = None,
    ) -> FileResult:
        batch_id = self._open_batch(source, origin)
        result = FileResult(source, batch_id, "reading", details=dict(origin or {}))
        processor = ahead.processor if ahead is not None else Processor(stream, options)
        try:
            self._stage(ahead if ahead is not None else processor, source, result)
            self._start_read_ahead()  # the next file is read while the server applies this one
            with self.conn.transaction():
                self._apply(batch_id, result)
                self._finish(processor.tally, result, processor.reader.info.sha256)
        except Exception as exc:  # noqa: BLE001 - one file must never stop the others
            self._fail(result, exc, processor.tally)
        except BaseException as exc:  # Ctrl-C: close the batch if the server still answers
            with contextlib.suppress(Exception):
                self._fail(result, exc, processor.tally)
            raise
        return result

    def record_unreadable(
        self, source: str, origin: dict[str, Any], exc: BaseException
    ) -> FileResult:
        """A source that could not even be opened: a batch closed ``failed`` with the error."""
        result = FileResult(
            source, self._open_batch(source, origin), "unreadable", details=dict(origin)
        )
        self._fail(result, exc, Tally())
        return result

    def _fail(self, result: FileResult, exc: BaseException, tally: Tally) -> None:
        """Close the batch of a file that was not loaded (nothing of it was): one entry,
        rejected, with the error in ``load_errors`` and ``details``."""
        error = clean_text(f"{type(exc).__name__}: {exc}".strip())[:2000]
        log.error("%s: not loaded: %s", result.source, error)
        result.status = "failed"
        result.shape = tally.shape if tally.shape != "empty" else result.shape
        result.records_in, result.loaded, result.rejected, result.skipped = 1, 0, 1, 0
        result.inserted = result.updated = result.unchanged = result.status_changes = 0
        result.reject_reasons = {"file not loaded": 1}
        result.rejected_positions = [None]
        result.details.update({"error": error, "records_read": tally.records_in})
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO crm.load_errors"
                " (batch_id, source_name, record_position, object_type, reason, raw_text)"
                " VALUES (%s, %s, NULL, NULL, %s, '')",
                (result.batch_id, clean_text(result.source), f"file not loaded: {error}"),
            )
            self._close_batch(result, None, [])

    def _stage(self, processor: Iterable[Item], source: str, result: FileResult) -> None:
        self.conn.execute(
            sql.SQL("TRUNCATE {}").format(
                sql.SQL(", ").join(
                    sql.Identifier(n)
                    for n in [*(stage_name(t) for t in fields.SPECS), ERRORS_STAGE]
                )
            )
        )
        buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in fields.SPECS}
        errors: list[tuple[Any, ...]] = []
        self._staged = dict.fromkeys(fields.SPECS, 0)
        last = time.monotonic()
        for count, item in enumerate(processor, start=1):
            if isinstance(item, Loaded):
                buffer = buffers[item.row.table]
                buffer.append((item.position, *item.row.values, item.row.raw))
                if len(buffer) >= CHUNK_ROWS:
                    self._copy_rows(item.row.table, buffer)
            elif isinstance(item, Rejected):
                if len(result.rejected_positions) < 20:
                    result.rejected_positions.append(item.position)
                errors.append(
                    (
                        item.position,
                        item.object_type,
                        clean_text(item.reason),
                        clean_text(item.raw_text),
                    )
                )
                if len(errors) >= CHUNK_ROWS:
                    self._copy_errors(errors)
            elif not isinstance(item, Skipped):  # pragma: no cover - exhaustive
                raise TypeError(item)
            if count % 10000 == 0 and time.monotonic() - last >= PROGRESS_SECONDS:
                last = time.monotonic()
                self.progress(f"{source}: {count} records read")
        for table, buffer in buffers.items():
            if buffer:
                self._copy_rows(table, buffer)
        if errors:
            self._copy_errors(errors)

    def _copy_rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Binary COPY: cheaper to format than text. Every value is already one its column
        stores (mapped by :mod:`~revops.ingest.fields`, NULs and lone surrogates rejected)."""
        spec = fields.SPECS[table]
        columns = ["record_position", *spec.column_names, "raw"]
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(stage_name(table)),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        )
        with self.conn.cursor() as cur:
            cur.adapters.register_dumper(None, RawJsonbDumper)  # by oid: for set_types only
            with cur.copy(statement) as copy:
                copy.set_types(stage_types(spec))
                for row in rows:
                    copy.write_row(row)
        self._staged[table] += len(rows)
        rows.clear()

    def _copy_errors(self, rows: list[tuple[Any, ...]]) -> None:
        statement = sql.SQL(
            "COPY {} (record_position, object_type, reason, raw_text) FROM STDIN"
        ).format(sql.Identifier(ERRORS_STAGE))
        with self.conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        rows.clear()

    def _apply(self, batch_id: int, result: FileResult) -> None:
        distinct = 0
        for table, staged in self._staged.items():
            if not staged:
                continue
            if staged >= 1000:
                self.conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(stage_name(table))))
            row = self.conn.execute(self._upserts[table], {"batch_id": batch_id}).fetchone()
            if row is None:  # pragma: no cover - an aggregate always returns a row
                raise RuntimeError(f"upsert into {table} returned nothing")
            distinct += int(row[0])
            result.inserted += int(row[1])
            result.updated += int(row[2])
            result.status_changes += int(row[3])
        result.unchanged = distinct - result.inserted - result.updated
        result.details["duplicate_ids_in_file"] = sum(self._staged.values()) - distinct

    def _finish(self, tally: Tally, result: FileResult, sha256: str) -> None:
        self.conn.execute(
            sql.SQL(
                "INSERT INTO crm.load_errors"
                " (batch_id, source_name, record_position, object_type, reason, raw_text)"
                " SELECT %s, %s, record_position, object_type, reason, raw_text FROM {}"
                " ORDER BY record_position NULLS FIRST"
            ).format(sql.Identifier(ERRORS_STAGE)),
            (result.batch_id, clean_text(result.source)),
        )
        result.shape = tally.shape
        result.records_in = tally.records_in
        result.loaded = tally.loaded
        result.rejected = tally.rejected
        result.skipped = tally.skipped
        result.object_types = dict(tally.object_types)
        result.skipped_types = dict(tally.skipped_types)
        result.reject_reasons = dict(tally.reject_reasons)
        result.status = "failed" if tally.file_error else "succeeded"
        unresolved = sorted(tally.refs_used - tally.refs_defined)
        result.details.update(
            {
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "status_changes": result.status_changes,
                "skipped_types": result.skipped_types,
                "reject_reasons": result.reject_reasons,
                "flags": dict(tally.flags),
                "tree_records": tally.tree_records,
                "refs_defined": sorted(tally.refs_defined)[:1000],
                "refs_unresolved_in_file": unresolved[:1000],
            }
        )
        self._close_batch(result, sha256, sorted(tally.object_types))
        result.tally = tally

    # reading ahead
    def _options(self, work: sources.FileWork) -> Options:
        return Options(self.object_type, work.step_type, work.scope, self.limits)

    def _origin(self, work: sources.FileWork) -> dict[str, Any]:
        """What :mod:`revops.ingest.retry` needs to load this file again."""
        return {
            "source_path": None if work.path is None else clean_text(str(work.path)),
            "step_type": work.step_type,
            "object_type": self.object_type,
        }

    def _start_read_ahead(self) -> None:
        """Open the next file of :meth:`load` and start reading it (files only, not stdin)."""
        if self._read_ahead is not None or not self._upcoming:
            return
        work = self._upcoming[0]
        if work.path is None:
            return
        try:
            stream = work.path.open("rb")
        except OSError:
            return  # raised in its turn, by load_file
        ahead = Ahead(Processor(stream, self._options(work)))
        self._read_ahead = _ReadAhead(work, stream, ahead)

    def _take_read_ahead(self, work: sources.FileWork) -> _ReadAhead | None:
        if self._upcoming and self._upcoming[0] is work:
            self._upcoming.popleft()
        read_ahead, self._read_ahead = self._read_ahead, None
        if read_ahead is not None and read_ahead.work is not work:
            read_ahead.discard()
            return None
        return read_ahead

    def _end_read_ahead(self) -> None:
        self._upcoming.clear()
        if self._read_ahead is not None:
            self._read_ahead.discard()
            self._read_ahead = None

    # work items
    def load_file(self, work: sources.FileWork) -> FileResult:
        read_ahead = self._take_read_ahead(work)
        with ExitStack() as stack:
            if read_ahead is not None:
                stack.callback(read_ahead.discard)
                stream: BinaryIO = read_ahead.stream
            elif work.path is None:
                import sys

                stream = sys.stdin.buffer
            else:
                try:
                    stream = stack.enter_context(work.path.open("rb"))
                except OSError as exc:  # gone or unreadable since it was listed
                    return self.record_unreadable(work.display, self._origin(work), exc)
            ahead = read_ahead.ahead if read_ahead is not None else None
            options = self._options(work)
            return self.load_stream(stream, work.display, options, ahead, self._origin(work))

    def load_plan(self, plan: sources.PlanWork) -> list[FileResult]:
        """The plan's batch (missing files quarantined), then each of its data files."""
        origin = {"source_path": clean_text(str(plan.path.resolve())), "plan": True}
        batch_id = self._open_batch(plan.display, {**origin, "object_type": self.object_type})
        plan_result = FileResult(plan.display, batch_id, "sf_tree_plan")
        results = []
        defined: set[str] = set()
        used: set[str] = set()
        for work in plan.files:
            result = self.load_file(work)
            result.details["plan"] = plan.display
            results.append(result)
            if result.tally is not None:
                defined |= result.tally.refs_defined
                used |= result.tally.refs_used
        try:
            with self.conn.transaction():
                for missing in plan.missing:
                    self.conn.execute(
                        "INSERT INTO crm.load_errors"
                        " (batch_id, source_name, record_position, object_type, reason, raw_text)"
                        " VALUES (%s, %s, NULL, %s, %s, %s)",
                        (
                            batch_id,
                            clean_text(plan.display),
                            missing.step_type,
                            clean_text(f"plan names a missing file: {missing.name}"),
                            quarantine_text(missing.step),
                        ),
                    )
                    plan_result.rejected_positions.append(None)
                plan_result.records_in = plan_result.rejected = len(plan.missing)
                plan_result.reject_reasons = (
                    {"plan names a missing file": len(plan.missing)} if plan.missing else {}
                )
                plan_result.details = {
                    **origin,
                    "object_type": self.object_type,
                    "steps": len(plan.steps),
                    "files_loaded": [w.display for w in plan.files],
                    "missing_files": [m.name for m in plan.missing],
                    "already_loaded": plan.already_loaded,
                    "file_batches": [r.batch_id for r in results],
                    "refs_unresolved": sorted(used - defined)[:1000],
                }
                plan_result.status = "succeeded"
                self._close_batch(plan_result, _sha256(plan.path), [])
        except Exception as exc:  # noqa: BLE001 - as for a file (see load_stream)
            self._fail(plan_result, exc, Tally())
        return [plan_result, *results]

    def load(self, work: Sequence[sources.Work]) -> list[FileResult]:
        results: list[FileResult] = []
        self._upcoming = deque(
            file
            for item in work
            for file in (item.files if isinstance(item, sources.PlanWork) else [item])
        )
        try:
            for item in work:
                if isinstance(item, sources.PlanWork):
                    results.extend(self.load_plan(item))
                else:
                    results.append(self.load_file(item))
        finally:
            self._end_read_ahead()
        return results


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()
