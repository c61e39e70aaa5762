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
        "generate", help="load deterministic synthetic CRM data into crm.* (replaces crm data)"
    )
    gen.add_argument(
        "--scale",
        type=types.scale,
        default=1.0,
        help="1 = 200k leads, 50k opportunities, 1M activities, 50 reps, 20k accounts"
        " (default 1, at most 100)",
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
    gen.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
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
            conn, scale=args.scale, seed=args.seed, end_date=args.end_date, progress=progress
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
            scale=args.scale,
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
