"""Daily runs, backfills and status: thin calls of the SQL entry points in db/metrics."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from revops import code_version, config
from revops.db import connect, fetch_one

Conn = psycopg.Connection[tuple[object, ...]]
TRIGGERS = ("systemd", "github", "manual", "backfill")


@dataclass
class RunOutcome:
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("status") != "succeeded"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def skipped(self) -> bool:
        """Some day was skipped (another writer held the metrics lock) and none failed."""
        statuses = {r.get("status") for r in self.results}
        return "skipped" in statuses and statuses <= {"succeeded", "skipped"}


def runner_connection(env: Mapping[str, str] | None = None) -> Conn:
    return connect(
        config.role_target("revops_runner", env), config.metrics_db_name(env), application="revops"
    )


def _as_dict(value: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    parsed: dict[str, Any] = json.loads(str(value))
    return parsed


def run_due(
    conn: Conn,
    trigger: str,
    *,
    lookback: int | None = None,
    horizon: int | None = None,
    days: list[dt.date] | None = None,
    wait_seconds: float = 300.0,
    poll_seconds: float = 5.0,
    progress: Callable[[str], None] = lambda _m: None,
) -> RunOutcome:
    """The ordinary run (metrics.run_due): the due days and every day captured CRM changes
    touched, in one transaction. While an ingest is loading, ask again every ``poll_seconds``
    for up to ``wait_seconds`` (its files commit one by one: the run waits for all of them);
    the last attempt logs the skip."""
    host = socket.gethostname()
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        last = time.monotonic() + poll_seconds > deadline
        row = fetch_one(
            conn,
            "SELECT metrics.run_due(%s, %s, %s, %s, %s, %s, %s)",
            (trigger, code_version(), host, days or None, lookback, horizon, last),
        )
        result = _as_dict(row[0])
        waiting = result.get("status") == "skipped" and "ingest" in str(result.get("error"))
        if not waiting or last:
            break
        progress(f"waiting: {result.get('error')}")
        time.sleep(poll_seconds)
    for part in result.get("ranges") or []:
        progress(
            f"{part.get('from_date')}..{part.get('to_date')}: {part.get('status')} "
            f"{_rows_text(part)}"
        )
    progress(
        f"{result.get('status')}: {result.get('days', 0)} days, "
        f"{result.get('changes_consumed', 0)} captured changes consumed"
        + (
            f" (days {result.get('changed_from') or 'all'}..{result.get('changed_to')})"
            if result.get("changes_consumed")
            else ""
        )
        + (f"; {result.get('error')}" if result.get("error") else "")
    )
    return RunOutcome(results=[result])


def verify(conn: Conn, first: dt.date, last: dt.date, limit: int = 50) -> dict[str, Any]:
    """metrics.verify_range: recompute first..last and compare with the stored facts."""
    row = fetch_one(conn, "SELECT metrics.verify_range(%s, %s, %s)", (first, last, limit))
    return _as_dict(row[0])


def pending(conn: Conn) -> dict[str, Any]:
    """metrics.pending_report: captured changes not yet in the facts."""
    return _as_dict(fetch_one(conn, "SELECT metrics.pending_report()")[0])


def _rows_text(result: Mapping[str, Any]) -> str:
    if result.get("status") != "succeeded":
        return str(result.get("error", ""))
    rows = result.get("rows_written") or {}
    return " ".join(f"{k}={v}" for k, v in rows.items())


def chunks(days: list[dt.date], chunk_days: int) -> Iterator[tuple[dt.date, dt.date]]:
    """Contiguous runs of days, cut into (from, to) pieces of at most chunk_days."""
    if not days:
        return
    start = prev = days[0]
    count = 1
    for day in days[1:]:
        if day == prev + dt.timedelta(days=1) and count < chunk_days:
            prev = day
            count += 1
            continue
        yield start, prev
        start = prev = day
        count = 1
    yield start, prev


def backfill_range(
    conn: Conn, days: int | None, from_date: dt.date | None, to_date: dt.date | None
) -> tuple[dt.date, dt.date]:
    if days is not None:
        if days < 1:
            raise config.ConfigError("--days must be at least 1")
        (yesterday,) = fetch_one(conn, "SELECT metrics.business_today() - 1")
        if not isinstance(yesterday, dt.date):
            raise TypeError("metrics.business_today() returned no date")
        return yesterday - dt.timedelta(days=days - 1), yesterday
    if from_date is None or to_date is None:
        raise config.ConfigError("give --days N, or both --from and --to")
    if from_date > to_date:
        raise config.ConfigError(f"--from {from_date} is after --to {to_date}")
    return from_date, to_date


def backfill(
    conn: Conn,
    first: dt.date,
    last: dt.date,
    *,
    chunk_days: int = 31,
    resume: bool = False,
    trigger: str = "backfill",
    progress: Callable[[str], None] = lambda _m: None,
) -> RunOutcome:
    """Backfill first..last in chunks, one transaction per chunk (committed as it goes).

    With ``resume``, days that already have a successful run are skipped, so an interrupted
    backfill started again picks up where it stopped.
    """
    conn.execute("SELECT metrics.check_date_range(%s, %s)", (first, last))
    all_days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if resume:
        done = {r[0] for r in conn.execute("SELECT metrics.days_succeeded(%s, %s)", (first, last))}
        todo = [d for d in all_days if d not in done]
        progress(f"resume: {len(all_days) - len(todo)} of {len(all_days)} days already done")
    else:
        todo = all_days
    pieces = list(chunks(todo, max(1, chunk_days)))
    outcome = RunOutcome()
    host = socket.gethostname()
    started = time.monotonic()
    finished_days = 0
    for index, (a, b) in enumerate(pieces, start=1):
        row = fetch_one(
            conn,
            "SELECT metrics.backfill_date_range(%s, %s, %s, %s, %s)",
            (a, b, trigger, code_version(), host),
        )
        result = _as_dict(row[0])
        outcome.results.append(result)
        finished_days += (b - a).days + 1
        elapsed = time.monotonic() - started
        eta = elapsed / finished_days * (len(todo) - finished_days) if finished_days else 0.0
        progress(
            f"[{index}/{len(pieces)}] {a}..{b}: {result.get('status')} "
            f"({finished_days}/{len(todo)} days, {elapsed:.1f}s elapsed, ~{eta:.0f}s left)"
        )
        if result.get("status") != "succeeded":
            progress(f"stopping: {result.get('error')}")
            break
    return outcome


def status(conn: Conn, limit: int = 10, max_lag_days: int | None = None) -> dict[str, Any]:
    tz_row = fetch_one(conn, "SELECT metrics.business_timezone(), metrics.business_today()")
    lag_row = fetch_one(
        conn, "SELECT (metrics.setting('freshness_max_lag_days') #>> '{}')::integer"
    )
    threshold = max_lag_days if max_lag_days is not None else int(str(lag_row[0]))
    freshness = [
        {
            "table_name": r[0],
            "last_metric_date": r[1].isoformat() if isinstance(r[1], dt.date) else None,
            "last_computed_at": r[2].isoformat() if isinstance(r[2], dt.datetime) else None,
            "lag_days": r[3],
        }
        for r in conn.execute(
            "SELECT table_name, last_metric_date, last_computed_at, lag_days"
            " FROM metrics.freshness_report()"
        )
    ]
    runs = [
        {
            "run_id": r[0],
            "metric_date": str(r[1]),
            "status": r[2],
            "trigger": r[3],
            "host": r[4],
            "started_at": r[5].isoformat() if isinstance(r[5], dt.datetime) else None,
            "finished_at": r[6].isoformat() if isinstance(r[6], dt.datetime) else None,
            "rows_written": r[7],
            "error_text": r[8],
            "code_version": r[9],
        }
        for r in conn.execute(
            "SELECT run_id, metric_date, status, trigger, host, started_at, finished_at,"
            " rows_written, error_text, code_version FROM metrics.recent_runs(%s)",
            (limit,),
        )
    ]
    waiting = pending(conn)
    batches = {
        str(r[0]): {
            "count": int(str(r[1])),
            "sample_ids": list(r[2]) if isinstance(r[2], list) else [],
        }
        for r in conn.execute(
            "SELECT check_name, affected_count, sample_ids FROM metrics.data_quality_report()"
            " WHERE check_name IN ('failed_ingest_batches', 'unfinished_ingest_batches')"
        )
    }
    run_log_row = next((f for f in freshness if f["table_name"] == "run_log"), None)
    lag = run_log_row["lag_days"] if run_log_row else None
    fresh = isinstance(lag, int) and lag <= threshold
    return {
        "business_timezone": tz_row[0],
        "business_today": str(tz_row[1]),
        "last_successful_day": run_log_row["last_metric_date"] if run_log_row else None,
        "lag_days": lag,
        "max_lag_days": threshold,
        "fresh": fresh,
        "tables": freshness,
        "recent_runs": runs,
        "pending": waiting,
        "ingest_batches": batches,
    }


def data_quality(conn: Conn, trigger: str = "manual") -> list[dict[str, Any]]:
    """Run and record the data-quality checks (metrics.record_data_quality): one dict per check,
    the view's checks and the recent reconciliations with the source."""
    return [
        {
            "check_name": r[0],
            "severity": r[1],
            "affected_count": int(str(r[2])),
            "sample_ids": list(r[3]) if isinstance(r[3], list) else [],
            "description": r[4],
        }
        for r in conn.execute(
            "SELECT check_name, severity, affected_count, sample_ids, description"
            " FROM metrics.record_data_quality(%s)",
            (trigger,),
        )
    ]
