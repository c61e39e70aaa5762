"""`revops demo`: the whole pipeline on the embedded PostgreSQL in well under a minute.

Starts (or reuses) the embedded server, bootstraps both databases, writes a small deterministic
synthetic CRM as REST query pages into ``$REVOPS_HOME/demo-export``, empties ``crm`` and loads
the files with the real ingest (as ``revops ingest`` would), backfills every day of it
set-based, then shows one daily cycle (the next business day of CRM changes, late corrections
included, ingested; ``revops run``; ``revops verify`` over the backfilled days), and prints a few
rows of each fact table, the cycle, the run status and how to connect with psql.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psycopg import sql

from revops import config, local_secrets, runs
from revops.bootstrap import bootstrap
from revops.db import connect, fetch_one

DEMO_FORMAT = "rest"  # REST query pages: typed, attributed, no --object needed
SHOW = {
    "daily_lead_funnel": (
        "lead_source",
        "total_leads_to_date",
        "new_leads",
        "sqls",
        "opportunities_created",
    ),
    "rep_daily_activity": (
        "rep_id",
        "rep_name",
        "calls",
        "emails",
        "meetings",
        "total_activities",
    ),
    "rep_daily_pipeline": (
        "rep_id",
        "rep_name",
        "opportunities_created",
        "pipeline_amount_created",
        "closed_won_opportunities",
        "revenue_won",
    ),
    "lead_stage_snapshot": ("status", "lead_count", "avg_lead_age_days"),
}


def _table(title: str, header: list[str], rows: list[tuple[Any, ...]]) -> str:
    cells = [header, *[["" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title]
    for index, row in enumerate(cells):
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def demo(scale: float = 0.02, seed: int = 42, progress: Callable[[str], None] = print) -> int:
    from revops.ingest.cli import render, summarise
    from revops.synthetic.export import export, load_export
    from revops.synthetic.load import truncate_crm

    started = time.monotonic()
    port: int | None = None
    if not config.uses_external_server():
        from revops.embedded import LocalCluster

        cluster = LocalCluster(config.revops_home() / "pgdata")
        port = cluster.start()
        progress(f"embedded PostgreSQL {cluster.version()} running on 127.0.0.1:{port}")
    bootstrap(progress=progress)
    home = config.revops_home()
    if port is not None:
        local_secrets.write_pgpass(home, port)

    # Through the front door: JSON export files, then the real ingest (as `revops ingest`).
    out = home / "demo-export"  # a rerun replaces the files the last export wrote there
    exported = export(out, fmt=DEMO_FORMAT, scale=scale, seed=seed)
    progress(
        f"wrote {sum(exported.counts.values())} records as {DEMO_FORMAT} files into {out}: "
        + ", ".join(f"{k}={v}" for k, v in exported.counts.items())
    )
    with connect(
        config.role_target("revops_etl"), config.source_db_name(), application="revops-ingest"
    ) as etl:
        truncate_crm(etl)
        results = load_export(etl, out, progress=progress)
        span = fetch_one(etl, "SELECT min(created_at)::date FROM crm.leads")
    report = summarise(results)
    progress("ingest " + render(report).splitlines()[-1])
    if report["rejected"] or report["failed_files"]:
        progress("ingest rejected records: see crm.load_errors")
        return 1
    with runs.runner_connection() as conn:
        (today,) = fetch_one(conn, "SELECT metrics.business_today()")
        if not isinstance(today, dt.date):
            raise TypeError("metrics.business_today() returned no date")
        yesterday = today - dt.timedelta(days=1)
        # the UTC date of the first lead, one day earlier to cover any business time zone
        first = span[0] - dt.timedelta(days=1) if isinstance(span[0], dt.date) else yesterday
        # a run of yesterday consumes the load's captured changes (the watermark moves past
        # them), so the cycle below shows only what the next day changed
        if not runs.run_due(conn, "manual", days=[yesterday]).ok:
            progress("the run of yesterday failed: see `revops status`")
            return 1
        outcome = runs.backfill(conn, first, yesterday, chunk_days=366, progress=progress)
        if not outcome.ok:
            progress(f"backfill failed: {outcome.failed}")
            return 1
    cycle, cycle_ok = next_day_cycle(scale, seed, first, yesterday, progress)
    with runs.runner_connection() as conn:
        report = runs.status(conn, limit=3)
    # the facts as a dashboard sees them: revops_runner executes entry points only
    with connect(
        config.role_target("revops_bi"), config.metrics_db_name(), application="revops-demo"
    ) as conn:
        for table, columns in SHOW.items():
            name = sql.Identifier("metrics", table)
            (day,) = fetch_one(conn, sql.SQL("SELECT max(metric_date) FROM {}").format(name))
            cur = conn.execute(
                sql.SQL("SELECT {} FROM {} WHERE metric_date = %s ORDER BY 1 LIMIT 6").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in columns), name
                ),
                (day,),
            )
            header = [d.name for d in cur.description or []]
            print()
            print(_table(f"metrics.{table} on {day}:", header, [tuple(r) for r in cur.fetchall()]))
    print()
    print(cycle)
    print(
        f"run status: newest successful day {report['last_successful_day']},"
        f" {'fresh' if report['fresh'] else 'STALE'};"
        f" {sum(int(r.get('days', 0)) for r in outcome.results)} days computed"
        f" in {time.monotonic() - started:.1f}s total"
    )
    if port is not None:
        print(
            "\nConnect with psql (passwords are in .revops/pgpass, mode 0600):\n"
            "  revops psql                      # as revops_bi, read-only, database revops_metrics\n"
            "  revops psql --role runner -c \"SELECT metrics.backfill_date_range('2025-01-01','2025-03-31')\"\n"
            f"  PGPASSFILE={home / 'pgpass'} psql -h 127.0.0.1 -p {port} -U revops_bi revops_metrics"
        )
    print(
        "Next: `revops status`, `revops run`, `revops backfill --days 30`; stop with `revops down`."
    )
    return 0 if cycle_ok else 1


def next_day_cycle(
    scale: float,
    seed: int,
    first: dt.date,
    last: dt.date,
    progress: Callable[[str], None] = print,
) -> tuple[str, bool]:
    """One daily cycle after the backfill: write the next business day of CRM changes into a
    temporary directory, ingest it, run (metrics.run_due consumes the captured changes, late
    ones included), then verify first..last against a full recompute. Returns the summary
    line and whether everything held (nothing rejected, the run succeeded, 0 differing rows)."""
    from revops.ingest.cli import summarise
    from revops.synthetic.crm_state import default_day, read_state
    from revops.synthetic.export import load_export
    from revops.synthetic.next_day import plan_next_day, write_next_day

    with (
        tempfile.TemporaryDirectory(prefix="revops-next-day-") as tmp,
        connect(
            config.role_target("revops_etl"), config.source_db_name(), application="revops-demo"
        ) as etl,
    ):
        state = read_state(etl)
        day = default_day(state)
        plan = plan_next_day(state, day=day, scale=scale, seed=seed)
        write_next_day(Path(tmp), plan, fmt=DEMO_FORMAT, scale=scale, seed=seed)
        ingested = summarise(load_export(etl, Path(tmp)))
    with runs.runner_connection() as conn:
        run = runs.run_due(conn, "manual", progress=progress).results[0]
        checked = runs.verify(conn, first, last)
    span = f"{run.get('changed_from') or 'every day'}..{run.get('changed_to')}"
    line = (
        f"next day {day}: {ingested['loaded']:,} records ingested;"
        f" run consumed {run.get('changes_consumed', 0):,} changes over {span};"
        f" verify: {checked['differing']:,} differing rows in {checked['days']:,} days"
    )
    ok = (
        not ingested["rejected"]
        and not ingested["failed_files"]
        and run.get("status") == "succeeded"
        and checked["differing"] == 0
    )
    return line, ok
