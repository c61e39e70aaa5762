"""The ``revops`` command line: thin orchestration over the SQL entry points.

Exit codes: 0 ok; 1 a metric run or ingest step failed; 2 bad usage or configuration;
3 data is stale (status/check); 4 cannot connect to PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import psycopg

from revops import __version__, config, local_secrets

if TYPE_CHECKING:
    from revops.embedded import LocalCluster

log = logging.getLogger("revops")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STALE, EXIT_CONNECT = 0, 1, 2, 3, 4


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cluster() -> LocalCluster:
    from revops.embedded import LocalCluster

    return LocalCluster(config.revops_home() / "pgdata")


# -- commands ------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    if config.uses_external_server():
        _progress("PG*/REVOPS_DSN variables are set: `up` only manages the embedded server")
        return EXIT_USAGE
    cluster = _cluster()
    port = cluster.start()
    print(f"embedded PostgreSQL {cluster.version()} on 127.0.0.1:{port} (data: {cluster.data_dir})")
    if args.bootstrap:
        return cmd_bootstrap(args)
    if _metrics_db_exists():
        # the port may have moved: keep the FDW server pointing at it
        from revops.bootstrap import bootstrap

        bootstrap(progress=lambda _m: None)
        local_secrets.write_pgpass(config.revops_home(), port)
    return EXIT_OK


def _metrics_db_exists() -> bool:
    from revops.db import connect

    with connect(config.admin_target(), "postgres") as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (config.metrics_db_name(),)
        ).fetchone()
    return row is not None


def cmd_down(args: argparse.Namespace) -> int:
    cluster = _cluster()
    cluster.stop()
    print(f"embedded PostgreSQL stopped (data kept in {cluster.data_dir})")
    return EXIT_OK


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from revops.bootstrap import bootstrap

    report = bootstrap(timezone=getattr(args, "timezone", None), progress=_progress)
    for item in report.applied_migrations:
        print(f"applied migration {item}")
    for item in report.changed:
        print(item)
    if not report.applied_migrations and not report.changed:
        print("bootstrap: already up to date, nothing changed")
    if not config.uses_external_server():
        local_secrets.write_pgpass(config.revops_home(), _cluster().port)
    return EXIT_OK


PSQL_ROLES = {
    "bi": "revops_bi",
    "runner": "revops_runner",
    "etl": "revops_etl",
    "admin": "postgres",
}


def cmd_psql(args: argparse.Namespace, extra: Sequence[str]) -> int:
    import shutil
    import subprocess

    if config.uses_external_server():
        _progress("PG* variables are set: run psql directly against that server")
        return EXIT_USAGE
    cluster = _cluster()
    if not cluster.is_running():
        _progress("the embedded server is not running: `revops up` first")
        return EXIT_CONNECT
    home = config.revops_home()
    pgpass = local_secrets.write_pgpass(home, cluster.port)
    psql = cluster.bin_dir / "psql"
    binary = str(psql) if psql.exists() else shutil.which("psql")
    if binary is None:
        _progress("no psql binary found")
        return EXIT_USAGE
    dbname = args.db or (
        config.source_db_name() if args.role == "etl" else config.metrics_db_name()
    )
    env = {
        **os.environ,
        "PGPASSFILE": str(pgpass),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.port),
        "PGUSER": PSQL_ROLES[args.role],
        "PGDATABASE": dbname,
    }
    return subprocess.run([binary, *extra], env=env, check=False).returncode  # noqa: S603


def cmd_generate(args: argparse.Namespace) -> int:
    from revops.db import connect
    from revops.generate import load_synthetic

    if (args.format is None) != (args.out is None):
        _progress("generate: --format and --out go together (write JSON files instead of loading)")
        return EXIT_USAGE
    if args.format is not None:
        from pathlib import Path

        from revops.export import ExportError, export

        try:
            result = export(
                Path(args.out),
                fmt=args.format,
                scale=args.scale,
                seed=args.seed,
                end_date=args.end_date,
                progress=_progress,
            )
        except ExportError as exc:
            _progress(f"generate: {exc}")
            return EXIT_USAGE
        if result.needs_object:
            _progress(f"generate: ingest each file with --object (see {args.out}/README.md)")
        print(json.dumps(result.counts, indent=2))
        return EXIT_OK
    target = config.role_target("revops_etl")
    with connect(target, config.source_db_name(), application="revops-generate") as conn:
        counts = load_synthetic(
            conn, scale=args.scale, seed=args.seed, end_date=args.end_date, progress=_progress
        )
    print(json.dumps(counts, indent=2, sort_keys=True))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from revops import runs

    with runs.runner_connection() as conn:
        days = list(args.date) if args.date else runs.days_due(conn, args.lookback, args.horizon)
        _progress(f"running {len(days)} day(s) with trigger {args.trigger}")
        outcome = runs.run_days(conn, days, args.trigger, progress=_progress)
    if args.json:
        print(json.dumps(outcome.results, indent=2, default=str))
    else:
        ok = len(outcome.results) - len(outcome.failed)
        print(f"{ok} day(s) succeeded, {len(outcome.failed)} failed")
    return EXIT_OK if outcome.ok else EXIT_FAILED


def cmd_backfill(args: argparse.Namespace) -> int:
    from revops import runs

    with runs.runner_connection() as conn:
        first, last = runs.backfill_range(conn, args.days, args.from_date, args.to_date)
        _progress(f"backfill {first}..{last} in chunks of {args.chunk_days} day(s)")
        outcome = runs.backfill(
            conn,
            first,
            last,
            chunk_days=args.chunk_days,
            resume=args.resume,
            trigger=args.trigger,
            progress=_progress,
        )
    if args.json:
        print(json.dumps(outcome.results, indent=2, default=str))
    else:
        days = sum(int(r.get("days", 0)) for r in outcome.results if r.get("status") == "succeeded")
        print(
            f"backfill {first}..{last}: {days} day(s) computed, {len(outcome.failed)} chunk(s) failed"
        )
    return EXIT_OK if outcome.ok else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    from revops import runs

    with runs.runner_connection() as conn:
        report = runs.status(conn, limit=args.limit, max_lag_days=args.max_lag_days)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(
            f"business time zone {report['business_timezone']}, today {report['business_today']};"
            f" newest successful day {report['last_successful_day'] or 'none'}"
            f" (lag {report['lag_days'] if report['lag_days'] is not None else '-'} day(s),"
            f" allowed {report['max_lag_days']}): {'FRESH' if report['fresh'] else 'STALE'}"
        )
        print("\ntable                 newest day   lag")
        for row in report["tables"]:
            lag = "-" if row["lag_days"] is None else row["lag_days"]
            print(f"{row['table_name']:<21} {row['last_metric_date'] or '-':<12} {lag}")
        print("\nrecent runs:")
        for run in report["recent_runs"]:
            print(
                f"  #{run['run_id']} {run['metric_date']} {run['status']:<9} {run['trigger']:<8}"
                f" {run['finished_at'] or ''} {run['error_text'] or ''}"
            )
    return EXIT_OK if report["fresh"] else EXIT_STALE


def cmd_bench(args: argparse.Namespace) -> int:
    from revops.bench import run_benchmark

    run_benchmark(
        scale=args.scale,
        seed=args.seed,
        generate=not args.no_generate,
        repeats=args.repeats,
        days=args.days,
        progress=_progress,
    )
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from revops import runs

    with runs.runner_connection() as conn:
        checks = runs.data_quality(conn)
    failing = [c for c in checks if c["affected_count"] > 0]
    if args.json:
        print(json.dumps(checks, indent=2))
    else:
        for check in checks:
            mark = "ok  " if check["affected_count"] == 0 else check["severity"].upper()
            samples = ", ".join(check["sample_ids"]) if check["affected_count"] else ""
            print(
                f"{mark:<8} {check['check_name']:<32} {check['affected_count']:>8}"
                f"  {check['description']}{'  e.g. ' + samples if samples else ''}"
            )
    if any(c["check_name"] == "stale_metrics" for c in failing):
        return EXIT_STALE
    if any(c["severity"] == "error" for c in failing):
        return EXIT_FAILED
    if args.strict and any(c["severity"] == "warning" for c in failing):
        return EXIT_FAILED
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from revops.demo import demo

    return demo(scale=args.scale, seed=args.seed, progress=_progress)


# -- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revops",
        description=(
            "RevOps daily metrics. With no PG* variables set, every command targets the embedded "
            "PostgreSQL in ./.revops (start it with `revops up`); set PGHOST/PGPORT/PGUSER/"
            "PGPASSWORD or REVOPS_DSN to use another server."
        ),
        epilog="Exit codes: 0 ok, 1 a run failed, 2 bad usage/config, 3 stale data, 4 no connection.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start the embedded PostgreSQL (initialising it on first use)")
    up.add_argument("--bootstrap", action="store_true", help="also bootstrap both databases")
    up.add_argument("--timezone", help="with --bootstrap: business time zone")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the embedded PostgreSQL (data is kept)")
    down.set_defaults(func=cmd_down)

    boot = sub.add_parser(
        "bootstrap",
        help="create roles, databases, FDW, tables and functions (idempotent; needs a superuser)",
    )
    boot.add_argument(
        "--timezone",
        help="business time zone stored in metrics.settings (default: REVOPS_BUSINESS_TIMEZONE,"
        " else keep the current setting, UTC on a new install)",
    )
    boot.set_defaults(func=cmd_bootstrap)

    gen = sub.add_parser(
        "generate", help="load deterministic synthetic CRM data into crm.* (replaces crm data)"
    )
    gen.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="1 = 200k leads, 50k opportunities, 1M activities, 50 reps, 20k accounts (default 1)",
    )
    gen.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    gen.add_argument("--end-date", type=_date, help="last day of data (default: yesterday, UTC)")
    gen.add_argument(
        "--format",
        choices=("rest", "sfcli", "tree", "bulk", "singer", "airbyte", "jsonl"),
        help="write Salesforce-style JSON files in this envelope instead of loading crm"
        " (with --out; bulk and jsonl files are ingested with --object)",
    )
    gen.add_argument("--out", metavar="DIR", help="directory for the --format files")
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser(
        "run",
        help="compute yesterday plus a lookback, and any recent day never computed",
        description="The scheduled daily job. Each day runs in its own transaction and is"
        " logged to metrics.run_log.",
    )
    run.add_argument(
        "--date", type=_date, action="append", help="compute this day only (repeatable)"
    )
    run.add_argument(
        "--lookback",
        type=int,
        help="days before yesterday to recompute (setting lookback_days, default 3)",
    )
    run.add_argument(
        "--horizon",
        type=int,
        help="recent days checked for gaps (setting missing_day_horizon_days, default 30)",
    )
    run.add_argument(
        "--trigger", choices=runs_triggers(), default="manual", help="recorded in run_log"
    )
    run.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    run.set_defaults(func=cmd_run)

    back = sub.add_parser(
        "backfill",
        help="recompute a range of days set-based, committing in chunks",
        description="Give --days N (the N days ending yesterday) or --from/--to (inclusive).",
    )
    group = back.add_mutually_exclusive_group(required=True)
    group.add_argument("--days", type=_positive_int, help="the N days ending yesterday")
    group.add_argument("--from", dest="from_date", type=_date, help="first day (needs --to)")
    back.add_argument("--to", dest="to_date", type=_date, help="last day, inclusive")
    back.add_argument(
        "--chunk-days", type=_positive_int, default=31, help="days per transaction (default 31)"
    )
    back.add_argument(
        "--resume", action="store_true", help="skip days that already have a successful run"
    )
    back.add_argument(
        "--trigger", choices=runs_triggers(), default="backfill", help="recorded in run_log"
    )
    back.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    back.set_defaults(func=cmd_backfill)

    stat = sub.add_parser(
        "status",
        aliases=["freshness"],
        help="recent runs, newest day per table, freshness (exit 3 when stale)",
    )
    stat.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    stat.add_argument("--limit", type=_positive_int, default=10, help="recent runs to show")
    stat.add_argument(
        "--max-lag-days", type=int, help="stale threshold (setting freshness_max_lag_days)"
    )
    stat.set_defaults(func=cmd_status)

    psql = sub.add_parser(
        "psql",
        help="open psql on the embedded server (extra arguments go to psql, e.g. -c 'SQL')",
    )
    psql.add_argument(
        "--role",
        choices=sorted(PSQL_ROLES),
        default="bi",
        help="bi (read-only, default), runner (runs metrics), etl (writes crm), admin (superuser)",
    )
    psql.add_argument("--db", help="database (default: revops_metrics; revops_training for etl)")
    psql.set_defaults(func=cmd_psql, passthrough=True)

    check = sub.add_parser(
        "check",
        help="data-quality checks (unknown owners, NULL amounts, won deals without close date,"
        " quarantined records, staleness)",
        description="Reads metrics.data_quality. Exit 3 when the metrics are stale, 1 when an"
        " error-level check (or, with --strict, a warning) finds rows, else 0.",
    )
    check.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    check.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    check.set_defaults(func=cmd_check)

    bench = sub.add_parser(
        "bench",
        help="benchmark: full FDW read vs 365-day backfill vs day-by-day loop vs one daily run",
        description="Replaces crm.* with generated data (unless --no-generate), then prints"
        " medians and ratios and writes bench-results/bench-scale-S.json.",
    )
    bench.add_argument("--scale", type=float, default=1.0, help="generator scale (default 1)")
    bench.add_argument("--seed", type=int, default=42)
    bench.add_argument("--no-generate", action="store_true", help="measure the data already loaded")
    bench.add_argument(
        "--repeats", type=_positive_int, default=3, help="runs per median (default 3)"
    )
    bench.add_argument(
        "--days", type=_positive_int, default=365, help="backfill length (default 365)"
    )
    bench.set_defaults(func=cmd_bench)

    demo = sub.add_parser(
        "demo", help="start, bootstrap, generate a small data set, backfill, summarise"
    )
    demo.add_argument("--scale", type=float, default=0.02, help="generator scale (default 0.02)")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)

    _register_optional_commands(sub)
    return parser


def runs_triggers() -> tuple[str, ...]:
    from revops.runs import TRIGGERS

    return TRIGGERS


def _register_optional_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands that live in their own modules register themselves here when present."""
    try:
        from revops.ingest.cli import register as register_ingest
    except ImportError:
        return
    register_ingest(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if getattr(args, "from_date", None) and not getattr(args, "to_date", None):
        parser.error("--from needs --to")
    try:
        code: int = (
            args.func(args, extra) if getattr(args, "passthrough", False) else args.func(args)
        )
    except config.ConfigError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except psycopg.OperationalError as exc:
        log.error("cannot connect to PostgreSQL: %s", _scrub(str(exc)))
        return EXIT_CONNECT
    except psycopg.errors.InvalidParameterValue as exc:
        log.error("%s", exc.diag.message_primary or exc)
        return EXIT_USAGE
    except psycopg.Error as exc:
        log.error("database error: %s", _scrub(str(exc)))
        return EXIT_FAILED
    return code


def _scrub(message: str) -> str:
    """Drop anything that looks like a password from a libpq message (belt and braces)."""
    for name in ("PGPASSWORD",):
        value = os.environ.get(name)
        if value:
            message = message.replace(value, "***")
    return message


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
