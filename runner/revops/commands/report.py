"""``revops status`` (alias ``freshness``), ``revops check`` and ``revops verify``: reports on the
metrics (``metrics.freshness``, ``metrics.run_log``, ``metrics.data_quality``, pending captured
changes, and a recomputation compared with the stored facts); none of them changes anything."""

from __future__ import annotations

import argparse
import json

from revops.commands import args as types
from revops.commands.common import Subparsers, triggers
from revops.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_STALE


def register(sub: Subparsers) -> None:
    stat = sub.add_parser(
        "status",
        aliases=["freshness"],
        help="recent runs, newest day per table, freshness (exit 3 when stale)",
    )
    stat.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    stat.add_argument(
        "--limit", type=types.bounded_int(1, 10_000), default=10, help="recent runs to show"
    )
    stat.add_argument(
        "--max-lag-days",
        type=types.recent_days,
        help=f"stale threshold, 0..{types.MAX_RECENT_DAYS} (setting freshness_max_lag_days)",
    )
    stat.set_defaults(func=cmd_status)

    check = sub.add_parser(
        "check",
        help="data-quality checks and reconciliation with the source, recorded in"
        " metrics.data_quality_history",
        description="Runs metrics.record_data_quality: the checks of metrics.data_quality"
        " (unknown owners, NULL amounts, won deals without close date, quarantined records,"
        " failed ingest batches, changes not in the facts yet, staleness) and the"
        " reconciliation of the recent computed days with the source (new leads, revenue won),"
        " and keeps the findings. Exit 3 when the metrics are stale, 1 when a check at or above"
        " --fail-on finds rows, else 0.",
    )
    check.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    check.add_argument(
        "--fail-on",
        choices=("error", "warning", "never"),
        default="error",
        help="lowest severity that makes the exit code 1 (default error)",
    )
    check.add_argument("--strict", action="store_true", help="same as --fail-on warning")
    check.add_argument("--trigger", choices=triggers(), default="manual", help="recorded")
    check.set_defaults(func=cmd_check)

    verify = sub.add_parser(
        "verify",
        help="recompute a range and compare it with the stored facts (changes nothing)",
        description="Recomputes the days (metrics.verify_range, the backfill engine, rolled back)"
        " and compares every row of the four fact tables with what is stored. Prints `verify: 0"
        " differing rows in N days`, or the differing rows (table, day, key, stored vs"
        " recomputed) and exits 1. Give --days N (the N days ending yesterday, default 30) or"
        " --from/--to.",
    )
    span = verify.add_mutually_exclusive_group()
    span.add_argument(
        "--days", type=types.days, help=f"the N days ending yesterday (1..{types.MAX_DAYS})"
    )
    span.add_argument("--from", dest="from_date", type=types.date, help="first day (needs --to)")
    verify.add_argument("--to", dest="to_date", type=types.date, help="last day, inclusive")
    verify.add_argument(
        "--limit", type=types.bounded_int(0, 10_000), default=50, help="differing rows to show"
    )
    verify.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    verify.set_defaults(func=cmd_verify, check_args=check_verify_args)


def check_verify_args(args: argparse.Namespace) -> str | None:
    if bool(args.from_date) != bool(args.to_date):
        return "give both --from and --to"
    return None


def cmd_verify(args: argparse.Namespace) -> int:
    from revops import runs

    days = args.days if args.days or args.from_date else 30
    with runs.runner_connection() as conn:
        first, last = runs.backfill_range(conn, days, args.from_date, args.to_date)
        result = runs.verify(conn, first, last, args.limit)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        differing = int(result["differing"])
        print(f"verify: {differing} differing rows in {result['days']} days ({first}..{last})")
        for table, count in sorted(result["by_table"].items()):
            print(f"  {table}: {count}")
        for row in result["rows"]:
            print(
                f"  {row['table_name']} {row['metric_date']} {row['row_key']}:"
                f" stored {json.dumps(row['stored'])} recomputed {json.dumps(row['recomputed'])}"
            )
        if differing > len(result["rows"]):
            print(f"  ... {differing - len(result['rows'])} more (raise --limit)")
    return EXIT_OK if int(result["differing"]) == 0 else EXIT_FAILED


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
        pending = report.get("pending") or {}
        print(
            f"\ncaptured CRM changes waiting for a run: {pending.get('pending_changes', '-')}"
            + (f" (oldest day {pending['oldest_day']})" if pending.get("oldest_day") else "")
            + ("; an ingest is loading" if pending.get("ingest_running") else "")
            + (
                f"; {pending['days_under_other_settings']} day(s) computed under other settings"
                if pending.get("days_under_other_settings")
                else ""
            )
        )
        for name, finding in sorted((report.get("ingest_batches") or {}).items()):
            if finding["count"]:
                print(
                    f"{name.replace('_', ' ')}: {finding['count']}"
                    f" ({', '.join(finding['sample_ids'])}; `revops ingest --retry-failed`)"
                )
        print("\nrecent runs:")
        for run in report["recent_runs"]:
            print(
                f"  #{run['run_id']} {run['metric_date']} {run['status']:<9} {run['trigger']:<8}"
                f" {run['finished_at'] or ''} {run['error_text'] or ''}"
            )
    return EXIT_OK if report["fresh"] else EXIT_STALE


def cmd_check(args: argparse.Namespace) -> int:
    from revops import runs

    with runs.runner_connection() as conn:
        checks = runs.data_quality(conn, args.trigger)
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
    fail_on = "warning" if args.strict else args.fail_on
    failing_levels = {"error": {"error"}, "warning": {"error", "warning"}, "never": set()}
    if any(c["severity"] in failing_levels[fail_on] for c in failing):
        return EXIT_FAILED
    return EXIT_OK
