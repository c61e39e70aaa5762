"""`revops bench`: how the metric functions scale, as numbers and ratios (never a timed test).

Measures, on whatever server is targeted (the embedded one by default):
- sizes of the source tables;
- one full read through the FDW of every source column the metrics need (the reference: 1x);
- the first run after a load (it builds the lead state from every lead);
- a 365-day `metrics.backfill_date_range`;
- a sampled day-by-day loop of `metrics.run_daily_metrics`, scaled to 365 days;
- the ordinary run (`metrics.run_due`, as `revops run`) with nothing captured, on the bench's
  session and in a new one (what a session's FDW connection and first plans add to any run);
- typical business days of CRM changes (`generate --next-day`, scale-1 volume at every
  scale), each ingested, then one ordinary run timed (the median of the days);
- one ordinary run after a single late CRM change (a status change logged two years late; a
  deal won ~200 days back; the status of a lead older than the range), i.e. what change
  capture makes the next morning do;
- `metrics.verify_range` over the backfilled range after all of it (0 differing rows expected);
each as the median of several runs, with the ratio to the full read, plus the runner process's
peak memory, and the `Remote SQL` postgres_fdw sends for each fact table (evidence of what is
pushed down). Results are printed and written as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from revops import config
from revops.db import as_owner, connect, fetch_one

# Every column of crm the metric functions read: the "one full read" reference.
NEEDED_COLUMNS = {
    "leads": (
        "lead_id",
        "owner_id",
        "status",
        "lead_source",
        "created_at",
        "is_converted",
        "converted_date",
        "converted_opportunity_id",
        "is_deleted",
    ),
    "lead_status_history": (
        "lead_id",
        "changed_at",
        "history_seq",
        "old_status",
        "new_status",
        "is_deleted",
    ),
    "opportunities": (
        "opportunity_id",
        "owner_id",
        "lead_source",
        "amount",
        "stage_name",
        "is_won",
        "close_date",
        "created_at",
        "is_deleted",
    ),
    "activities": (
        "owner_id",
        "source_object",
        "type",
        "task_subtype",
        "call_type",
        "activity_date",
        "activity_at",
        "created_at",
        "is_child",
        "is_deleted",
    ),
    "reps": ("rep_id", "name"),
}
REFRESH_FUNCTIONS = (
    "refresh_daily_lead_funnel",
    "refresh_rep_daily_activity",
    "refresh_rep_daily_pipeline",
    "refresh_lead_stage_snapshot",
)

Conn = psycopg.Connection[tuple[object, ...]]


def _median_seconds(action: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), samples


def full_fdw_read(conn: Conn) -> None:
    """Pull every needed column of every row through postgres_fdw into the local executor.

    EXPLAIN ANALYZE runs the foreign scans to completion and discards the rows, so the time is
    the FDW transfer itself, not Python's.
    """
    for table, columns in NEEDED_COLUMNS.items():
        query = sql.SQL("EXPLAIN (ANALYZE, TIMING OFF) SELECT {} FROM {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Identifier("crm_remote", table),
        )
        conn.execute(query).fetchall()


def remote_sql_evidence(
    admin: Conn, day: dt.date, to_day: dt.date | None = None
) -> dict[str, list[str]]:
    """The Remote SQL of every foreign scan each refresh function runs (auto_explain), for one
    day or the range day..to_day; the functions' writes are rolled back."""
    statements = {
        function: (
            sql.SQL("SELECT {}(%s, %s)").format(sql.Identifier("metrics", function)),
            (day, to_day),
        )
        for function in REFRESH_FUNCTIONS
    }
    return remote_sql_of(admin, statements)


def remote_sql_of(
    admin: Conn, statements: Mapping[str, tuple[sql.SQL | sql.Composed, tuple[object, ...]]]
) -> dict[str, list[str]]:
    """The Remote SQL lines (and pushed-down relations) of every foreign scan each statement
    runs, by name, as revops_owner with auto_explain; each statement's writes are rolled
    back."""
    messages: list[str] = []
    admin.add_notice_handler(lambda diag: messages.append(diag.message_primary or ""))
    admin.execute("LOAD 'auto_explain'")
    for name, value in (
        ("auto_explain.log_min_duration", "0"),
        ("auto_explain.log_nested_statements", "on"),
        ("auto_explain.log_verbose", "on"),
        ("client_min_messages", "log"),
    ):
        admin.execute("SELECT set_config(%s, %s, false)", (name, value))
    # the superuser-only settings are set; the functions themselves run as their owner
    as_owner(admin)
    evidence: dict[str, list[str]] = {}
    try:
        for name, (statement, params) in statements.items():
            messages.clear()
            with admin.transaction(force_rollback=True):
                admin.execute(statement, params)
            evidence[name] = [
                line.strip()
                for message in messages
                for line in message.splitlines()
                if "Remote SQL:" in line or "Relations:" in line
            ]
    finally:
        admin.execute("SELECT set_config('client_min_messages', 'notice', false)")
    return evidence


def run_due_seconds(
    env: Mapping[str, str] | None, conn: Conn | None = None
) -> tuple[float, dict[str, Any]]:
    """One ordinary run (metrics.run_due, as `revops run`) timed, on the bench's open session
    like every other measure here (conn), or in a new session (conn None) as the command opens
    one: then the seconds also hold the session's first FDW connection to the source and the
    first planning of every statement (not the client's own connection). Returns the seconds
    and the run's summary."""
    if conn is None:
        with connect(config.admin_target(env), config.metrics_db_name(env)) as fresh:
            as_owner(fresh)
            return run_due_seconds(env, fresh)
    started = time.perf_counter()
    (result,) = fetch_one(conn, "SELECT metrics.run_due('manual')")
    seconds = time.perf_counter() - started
    return seconds, result if isinstance(result, dict) else json.loads(str(result))


def typical_day(
    env: Mapping[str, str] | None, conn: Conn, seed: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    """One business day of CRM changes at scale-1 volume whatever the data's scale (about 275
    new leads, 400 status changes, 70 new and 70 closed deals, 1,370 activities, 10 late
    corrections: `revops generate --next-day`), loaded through the real ingest, then one
    ordinary run (metrics.run_due, as `revops run`) timed."""
    import tempfile

    from revops.ingest.cli import summarise
    from revops.synthetic.crm_state import default_day, read_state
    from revops.synthetic.export import load_export
    from revops.synthetic.next_day import plan_next_day, write_next_day

    with (
        tempfile.TemporaryDirectory(prefix="revops-bench-day-") as tmp,
        connect(config.role_target("revops_etl", env), config.source_db_name(env)) as etl,
    ):
        state = read_state(etl)
        day = default_day(state)
        plan = plan_next_day(state, day=day, scale=1.0, seed=seed)
        write_next_day(Path(tmp), plan, fmt="rest", scale=1.0, seed=seed)
        started = time.perf_counter()
        ingested = summarise(load_export(etl, Path(tmp)))
        ingest_seconds = time.perf_counter() - started
    seconds, summary = run_due_seconds(env, conn)
    figures = {
        "day": str(day),
        "records": ingested["loaded"],
        "ingest_seconds": round(ingest_seconds, 3),
        "run_seconds": round(seconds, 3),
        "days_recomputed": summary.get("days"),
        "changes_consumed": summary.get("changes_consumed"),
        "lead_state": summary.get("lead_state"),
    }
    progress(
        f"typical day {day}: {ingested['loaded']:,} records ingested in {ingest_seconds:.2f}s;"
        f" run {seconds:.3f}s, {summary.get('days')} day(s) recomputed,"
        f" {summary.get('changes_consumed')} changes consumed"
    )
    return figures


LATE_CHANGES = {
    # a status change logged two years late: a LeadHistory row dated two years back for a
    # lead with no history yet (its snapshot status moves on every day since)
    "status_history_2_years_back": (
        "INSERT INTO crm.lead_status_history (history_id, lead_id, changed_at, old_status,"
        " new_status, history_source)"
        " SELECT 'bench-late-' || l.lead_id, l.lead_id, l.created_at + interval '1 hour',"
        " 'Open', 'Nurture', 'LeadHistory' FROM crm.leads AS l"
        " WHERE NOT l.is_deleted AND l.created_at < %(day)s::date - 700 AND NOT EXISTS"
        " (SELECT FROM crm.lead_status_history AS h WHERE h.lead_id = l.lead_id)"
        " ORDER BY l.created_at LIMIT 1"
        " ON CONFLICT (history_id) DO UPDATE SET changed_at = excluded.changed_at"
        " + interval '1 day'"
    ),
    # a deal created ~200 days back is marked won with a close date 190 days back: two days
    "deal_won_200_days_back": (
        "UPDATE crm.opportunities SET is_won = true, stage_name = 'Closed Won',"
        " close_date = %(day)s::date + 10, amount = coalesce(amount, 0) + 1"
        " WHERE opportunity_id = (SELECT o.opportunity_id FROM crm.opportunities AS o"
        " WHERE NOT o.is_deleted AND o.created_at >= %(day)s::date ORDER BY o.created_at LIMIT 1)"
    ),
    # the status of a lead created before the backfilled range changes: every day from then on
    "old_lead_status_changed": (
        "UPDATE crm.leads SET status = 'Nurture', last_modified_at = now()"
        " WHERE lead_id = (SELECT l.lead_id FROM crm.leads AS l"
        " WHERE NOT l.is_deleted AND l.created_at < %(day)s::date ORDER BY l.created_at LIMIT 1)"
    ),
}


def late_changes(
    env: Mapping[str, str] | None,
    conn: Conn,
    first: dt.date,
    yesterday: dt.date,
    progress: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """One late CRM change each, written as revops_etl, then one ordinary run (metrics.run_due)
    timed: what a change of that age costs the next morning."""
    out: dict[str, dict[str, Any]] = {}
    for name, statement in LATE_CHANGES.items():
        day = (
            yesterday - dt.timedelta(days=200)
            if name.startswith("deal")
            else yesterday
            if "2_years" in name
            else first
        )
        with connect(config.role_target("revops_etl", env), config.source_db_name(env)) as etl:
            etl.execute(sql.SQL(statement), {"day": day})
        seconds, summary = run_due_seconds(env, conn)
        lead_state = summary.get("lead_state") or {}
        out[name] = {
            "run_seconds": round(seconds, 3),
            "days_recomputed": summary.get("days"),
            "changes_consumed": summary.get("changes_consumed"),
            "leads_rederived": lead_state.get("leads"),
            "lead_fact_rows_moved": (lead_state.get("funnel_rows") or 0)
            + (lead_state.get("snapshot_rows") or 0),
        }
        progress(
            f"run after one late change ({name}): {seconds:.3f}s,"
            f" {summary.get('days')} day(s) recomputed,"
            f" {out[name]['leads_rederived']} lead(s) re-derived,"
            f" {out[name]['lead_fact_rows_moved']} lead fact rows moved"
        )
    return out


def run_benchmark(
    env: Mapping[str, str] | None = None,
    *,
    scale: float = 1.0,
    seed: int = 42,
    generate: bool = True,
    repeats: int = 3,
    loop_samples: int = 7,
    days: int = 365,
    out_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    report: dict[str, Any] = {"scale": scale, "seed": seed, "days": days, "repeats": repeats}
    if generate:
        from revops.synthetic.load import load_synthetic

        with connect(config.role_target("revops_etl", env), config.source_db_name(env)) as etl:
            started = time.perf_counter()
            report["generated"] = load_synthetic(etl, scale=scale, seed=seed, progress=progress)
            report["generate_seconds"] = round(time.perf_counter() - started, 2)
    with connect(config.admin_target(env), config.source_db_name(env)) as src:
        # fresh statistics (the tables belong to the bootstrap admin, so it runs ANALYZE)
        src.execute("VACUUM ANALYZE")
        report["sizes"] = {
            str(r[0]): {"rows": int(str(r[1])), "bytes": int(str(r[2]))}
            for r in src.execute(
                "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'crm' AND c.relkind = 'r' ORDER BY 1"
            )
        }
        server = fetch_one(src, "SHOW server_version")[0]
    report["server_version"] = server
    progress(f"PostgreSQL {server}; sizes: {report['sizes']}")

    # as revops_owner (the bootstrap admin's SET ROLE): the full read needs crm_remote, which
    # revops_runner cannot read; the entry points run as the owner either way
    with connect(config.admin_target(env), config.metrics_db_name(env)) as conn:
        as_owner(conn)
        (yesterday,) = fetch_one(conn, "SELECT metrics.business_today() - 1")
        if not isinstance(yesterday, dt.date):
            raise TypeError("metrics.business_today() returned no date")
        first = yesterday - dt.timedelta(days=days - 1)
        # start from a clean watermark: the facts of an earlier benchmark are stale after a
        # regeneration (the generator's TRUNCATE marks every day), so forget them and consume
        conn.execute("DELETE FROM metrics.computed_days")
        started = time.perf_counter()
        conn.execute("SELECT metrics.run_due('manual', NULL, NULL, ARRAY[%s::date])", (yesterday,))
        report["first_run_seconds"] = round(time.perf_counter() - started, 3)
        progress(
            f"first run after the load (builds the lead state from every lead):"
            f" {report['first_run_seconds']:.2f}s"
        )

        full_read, samples = _median_seconds(lambda: full_fdw_read(conn), repeats)
        report["full_fdw_read_seconds"] = round(full_read, 3)
        progress(f"full FDW read of the needed columns: {full_read:.2f}s {samples}")

        def backfill() -> None:
            conn.execute("SELECT metrics.backfill_date_range(%s, %s, 'manual')", (first, yesterday))

        backfill_s, samples = _median_seconds(backfill, repeats)
        report["backfill_seconds"] = round(backfill_s, 3)
        progress(f"{days}-day backfill: {backfill_s:.2f}s {samples}")

        step = max(1, days // loop_samples)
        sample_days = [first + dt.timedelta(days=i) for i in range(0, days, step)][:loop_samples]
        started = time.perf_counter()
        for day in sample_days:
            conn.execute("SELECT metrics.run_daily_metrics(%s)", (day,))
        per_day = (time.perf_counter() - started) / len(sample_days)
        report["loop_seconds_per_day"] = round(per_day, 4)
        report["loop_seconds_scaled"] = round(per_day * days, 2)
        progress(f"day-by-day loop: {per_day:.3f}s/day -> {per_day * days:.1f}s for {days} days")

        # the daily runs below are measured in the steady state a morning run meets: the
        # backfills above rewrote every fact row several times, and autovacuum cleaning up
        # after them in the middle of a timed run would measure the bench, not the run
        with connect(config.admin_target(env), config.metrics_db_name(env)) as admin:
            admin.execute("VACUUM ANALYZE")

        # `revops run` on a morning with nothing captured: yesterday, from the day before; and
        # the same in a new session, as the command opens one (the difference is what a
        # session's first FDW connection and first plans add to any run)
        daily_s, samples = _median_seconds(lambda: run_due_seconds(env, conn), repeats)
        report["daily_run_seconds"] = round(daily_s, 4)
        progress(f"daily run with no captured change: {daily_s:.3f}s {samples}")
        fresh_s, samples = _median_seconds(lambda: run_due_seconds(env), repeats)
        report["daily_run_new_session_seconds"] = round(fresh_s, 4)
        progress(
            f"the same in a new session: {fresh_s:.3f}s {samples}"
            f" (+{fresh_s - daily_s:.3f}s per session)"
        )

        # three business days in a row (each ingested, then one run): the median run
        days_run = [typical_day(env, conn, seed + i, progress) for i in range(repeats)]
        report["typical_day"] = dict(
            sorted(days_run, key=lambda figures: float(figures["run_seconds"]))[len(days_run) // 2]
        )
        report["typical_day"]["run_seconds_all"] = [d["run_seconds"] for d in days_run]
        report["late_changes"] = late_changes(env, conn, first, yesterday, progress)

        # the proof after the cycle: the maintained facts equal a recomputation from scratch
        started = time.perf_counter()
        (verified,) = fetch_one(conn, "SELECT metrics.verify_range(%s, %s, 5)", (first, yesterday))
        checked = verified if isinstance(verified, dict) else json.loads(str(verified))
        report["verify"] = {
            "days": checked.get("days"),
            "differing": checked.get("differing"),
            "seconds": round(time.perf_counter() - started, 3),
        }
        progress(
            f"verify {first}..{yesterday}: {checked.get('differing')} differing rows in"
            f" {checked.get('days')} days ({report['verify']['seconds']:.2f}s)"
        )

    with connect(config.admin_target(env), config.metrics_db_name(env)) as admin:
        report["remote_sql"] = remote_sql_evidence(admin, yesterday)

    report["ratios_to_full_read"] = {
        "backfill": round(backfill_s / full_read, 3),
        "loop_365": round(per_day * days / full_read, 2),
        "daily_run": round(daily_s / full_read, 3),
        "daily_run_new_session": round(fresh_s / full_read, 3),
    }
    report["ratios_to_full_read"]["run_after_typical_day"] = round(
        report["typical_day"]["run_seconds"] / full_read, 3
    )
    for name, figures in report["late_changes"].items():
        report["ratios_to_full_read"][f"run_after_{name}"] = round(
            figures["run_seconds"] / full_read, 3
        )
    report["loop_vs_backfill"] = round(per_day * days / backfill_s, 1)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    progress(
        "ratios to one full FDW read: "
        + ", ".join(f"{k} {v}x" for k, v in report["ratios_to_full_read"].items())
        + f"; loop/backfill {report['loop_vs_backfill']}x; peak RSS {report['peak_rss_mb']} MB"
    )
    target = out_dir or config.revops_home(env).parent / "bench-results"
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"bench-scale-{scale:g}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    progress(f"written to {path}")
    return report
