"""``revops run`` and ``revops backfill``: compute metric days through the SQL entry points
(each logged to ``metrics.run_log``); the work itself is :mod:`revops.runs`."""

from __future__ import annotations

import argparse
import json

from revops.commands import args as types
from revops.commands.common import Subparsers, progress, triggers
from revops.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_SKIPPED


def register(sub: Subparsers) -> None:
    run = sub.add_parser(
        "run",
        help="compute yesterday, a lookback, recent gaps and every day CRM changes touched",
        description="The scheduled daily job (metrics.run_due), in one transaction: yesterday,"
        " the lookback days, any recent day never computed, every computed day that captured CRM"
        " changes of any age touched and every day computed under other settings; then the"
        " change watermark moves on. Each day is logged to metrics.run_log. Exit 0 ok, 1 a day"
        " failed (nothing consumed), 5 skipped (another run held the metrics lock, or an ingest"
        " kept loading past --wait).",
    )
    run.add_argument(
        "--date", type=types.date, action="append", help="compute this day only (repeatable)"
    )
    run.add_argument(
        "--lookback",
        type=types.recent_days,
        help="days before yesterday to recompute, 0.."
        f"{types.MAX_RECENT_DAYS} (setting lookback_days, default 3)",
    )
    run.add_argument(
        "--horizon",
        type=types.recent_days,
        help=f"recent days checked for gaps, 0..{types.MAX_RECENT_DAYS}"
        " (setting missing_day_horizon_days, default 30)",
    )
    run.add_argument("--trigger", choices=triggers(), default="manual", help="recorded in run_log")
    run.add_argument(
        "--wait",
        type=types.bounded_int(0, 86_400),
        default=300,
        help="seconds to wait for an ingest that is still loading (default 300)",
    )
    run.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    run.set_defaults(func=cmd_run)

    back = sub.add_parser(
        "backfill",
        help="recompute a range of days set-based, committing in chunks",
        description="Give --days N (the N days ending yesterday) or --from/--to (inclusive).",
    )
    group = back.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--days", type=types.days, help=f"the N days ending yesterday (1..{types.MAX_DAYS})"
    )
    group.add_argument("--from", dest="from_date", type=types.date, help="first day (needs --to)")
    back.add_argument("--to", dest="to_date", type=types.date, help="last day, inclusive")
    back.add_argument(
        "--chunk-days", type=types.days, default=31, help="days per transaction (default 31)"
    )
    back.add_argument(
        "--resume",
        action="store_true",
        help="skip days already computed under the current settings",
    )
    back.add_argument(
        "--trigger", choices=triggers(), default="backfill", help="recorded in run_log"
    )
    back.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    back.set_defaults(func=cmd_backfill, check_args=check_backfill_args)


def check_backfill_args(args: argparse.Namespace) -> str | None:
    """A usage error the parser cannot express (None when the arguments are fine)."""
    if args.from_date and not args.to_date:
        return "--from needs --to"
    return None


def cmd_run(args: argparse.Namespace) -> int:
    from revops import runs

    with runs.runner_connection() as conn:
        progress(f"run with trigger {args.trigger}")
        outcome = runs.run_due(
            conn,
            args.trigger,
            lookback=args.lookback,
            horizon=args.horizon,
            days=list(args.date) if args.date else None,
            wait_seconds=args.wait,
            progress=progress,
        )
    result = outcome.results[0]
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(
            f"{result.get('status')}: {result.get('days', 0)} day(s) computed,"
            f" {result.get('changes_consumed', 0)} captured change(s) consumed"
        )
    if outcome.skipped:
        return EXIT_SKIPPED
    return EXIT_OK if outcome.ok else EXIT_FAILED


def cmd_backfill(args: argparse.Namespace) -> int:
    from revops import runs

    with runs.runner_connection() as conn:
        first, last = runs.backfill_range(conn, args.days, args.from_date, args.to_date)
        progress(f"backfill {first}..{last} in chunks of {args.chunk_days} day(s)")
        outcome = runs.backfill(
            conn,
            first,
            last,
            chunk_days=args.chunk_days,
            resume=args.resume,
            trigger=args.trigger,
            progress=progress,
        )
    if args.json:
        print(json.dumps(outcome.results, indent=2, default=str))
    else:
        days = sum(int(r.get("days", 0)) for r in outcome.results if r.get("status") == "succeeded")
        print(
            f"backfill {first}..{last}: {days} day(s) computed, {len(outcome.failed)} chunk(s) failed"
        )
    if outcome.skipped:
        return EXIT_SKIPPED
    return EXIT_OK if outcome.ok else EXIT_FAILED
