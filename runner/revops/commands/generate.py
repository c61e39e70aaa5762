"""``revops generate``: deterministic synthetic CRM data, loaded into ``crm.*`` or written as
Salesforce-style export files (see :mod:`revops.synthetic`)."""

from __future__ import annotations

import argparse
import json

from revops import config
from revops.commands import args as types
from revops.commands.common import Subparsers, progress
from revops.exitcodes import EXIT_OK, EXIT_USAGE

FORMATS = ("rest", "sfcli", "tree", "bulk", "singer", "airbyte", "jsonl")


def register(sub: Subparsers) -> None:
    gen = sub.add_parser(
        "generate",
        help="load deterministic synthetic CRM data into crm.* (replaces crm data), or write"
        " the next business day of changes to it (--next-day)",
        description="Without --next-day: replace crm.* with a synthetic CRM (or write it as"
        " export files with --format and --out). With --next-day --out DIR: read crm.* as it is"
        " now (as revops_etl, nothing is written to it) and write ONE business day of CRM"
        " changes on top of it as export files for `revops ingest DIR`: new leads, status"
        " changes (Lead records plus LeadHistory), new opportunities, open ones closed won or"
        " lost, tasks and events, and a few late corrections (a deal closed weeks back marked"
        " Closed Won, a won deal reassigned, a lead imported with a CreatedDate ~200 days ago, a"
        " status change and a call logged weeks late, a deal deleted, an amount corrected)."
        " Every changed record carries a SystemModstamp newer than the stored one. At scale 1 a"
        " day holds about 275 new leads, 400 status changes, 70 new and 70 closed"
        " opportunities, 1,370 activities and 10 corrections. The same seed, date and data"
        " give the same files.",
    )
    gen.add_argument(
        "--scale",
        type=types.scale,
        help="1 = 200k leads, 50k opportunities, 1M activities, 50 reps, 20k accounts"
        " (default 1, at most 100); with --next-day the size of one day (default: the data's"
        " own, its leads / 200,000)",
    )
    gen.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    gen.add_argument(
        "--end-date", type=types.date, help="last day of data (default: yesterday, UTC)"
    )
    gen.add_argument(
        "--format",
        choices=FORMATS,
        help="write Salesforce-style JSON files in this envelope instead of loading crm"
        " (with --out; bulk and jsonl files are ingested with --object)",
    )
    gen.add_argument("--out", metavar="DIR", help="directory for the --format files")
    gen.add_argument(
        "--next-day",
        action="store_true",
        help="write one business day of changes to the data in crm.* into --out (format"
        " rest unless --format says otherwise); crm itself is not changed",
    )
    gen.add_argument(
        "--date",
        type=types.date,
        help="with --next-day: the day (America/New_York) to write; default: the day after the"
        " newest record in crm (yesterday when nothing is dated)",
    )
    gen.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    if args.next_day:
        return _write_next_day(args)
    if args.date is not None:
        progress("generate: --date goes with --next-day (use --end-date for a whole data set)")
        return EXIT_USAGE
    if (args.format is None) != (args.out is None):
        progress("generate: --format and --out go together (write JSON files instead of loading)")
        return EXIT_USAGE
    if args.format is not None:
        return _write_files(args)
    from revops.db import connect
    from revops.synthetic.load import load_synthetic

    target = config.role_target("revops_etl")
    with connect(target, config.source_db_name(), application="revops-generate") as conn:
        counts = load_synthetic(
            conn,
            scale=args.scale or 1.0,
            seed=args.seed,
            end_date=args.end_date,
            progress=progress,
        )
    print(json.dumps(counts, indent=2, sort_keys=True))
    return EXIT_OK


def _write_files(args: argparse.Namespace) -> int:
    from pathlib import Path

    from revops.synthetic.envelopes import ExportError
    from revops.synthetic.export import export

    try:
        result = export(
            Path(args.out),
            fmt=args.format,
            scale=args.scale or 1.0,
            seed=args.seed,
            end_date=args.end_date,
            progress=progress,
        )
    except ExportError as exc:
        progress(f"generate: {exc}")
        return EXIT_USAGE
    if result.needs_object:
        progress(f"generate: ingest each file with --object (see {args.out}/README.md)")
    print(json.dumps(result.counts, indent=2))
    return EXIT_OK


def _write_next_day(args: argparse.Namespace) -> int:
    from pathlib import Path

    from revops.db import connect
    from revops.synthetic.crm_state import data_scale, default_day, read_state
    from revops.synthetic.envelopes import ExportError
    from revops.synthetic.next_day import plan_next_day, write_next_day

    if args.out is None:
        progress("generate: --next-day needs --out DIR (the files `revops ingest DIR` loads)")
        return EXIT_USAGE
    if args.end_date is not None:
        progress("generate: --next-day builds on the data in crm; give the day with --date")
        return EXIT_USAGE
    target = config.role_target("revops_etl")
    try:
        with connect(target, config.source_db_name(), application="revops-generate") as conn:
            state = read_state(conn)
            day = args.date or default_day(state)
            scale = args.scale or data_scale(state)
            plan = plan_next_day(state, day=day, scale=scale, seed=args.seed)  # reads rows too
        result = write_next_day(
            Path(args.out), plan, fmt=args.format or "rest", scale=scale, seed=args.seed
        )
    except ExportError as exc:
        progress(f"generate: {exc}")
        return EXIT_USAGE
    total = sum(result.counts.values())
    progress(f"generate: next day {day}: {total} records in {args.out}")
    if result.needs_object:
        progress(f"generate: ingest each file with --object (see {args.out}/README.md)")
    summary = {
        "next_day": day.isoformat(),
        "scale": scale,
        "records": result.counts,
        "changes": plan.changes,
    }
    print(json.dumps(summary, indent=2))
    return EXIT_OK
