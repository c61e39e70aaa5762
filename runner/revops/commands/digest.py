"""``revops report``: the daily digest, one self-contained HTML page anyone can open (the numbers
of a day against the previous 7 and 28 days, top reps, funnel rates, freshness and data
quality), read through the BI read path as ``revops_bi``; see :mod:`revops.digest`."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import psycopg

from revops import config
from revops.commands import args as types
from revops.commands.common import Subparsers, progress
from revops.exitcodes import EXIT_OK, EXIT_STALE

log = logging.getLogger("revops.report")

NOT_BI_HINT = (
    "revops report reads through the BI read path, as revops_bi, and this connection's role may"
    " not read {relation}: with PG* variables or REVOPS_DSN, connect as revops_bi (PGUSER="
    "revops_bi and its password); the embedded server needs nothing"
)


def register(sub: Subparsers) -> None:
    report = sub.add_parser(
        "report",
        help="the daily digest: one self-contained HTML page (charts inlined, no network)",
        description="Writes one HTML page with a day's numbers (default: yesterday in the"
        " business time zone) against the averages of the previous 7 and 28 days, the top reps"
        " of the 7 days ending that day, funnel rates over 28 days, freshness and the"
        " data-quality checks. Reads as revops_bi (the bi_* views, the facts, the dimensions,"
        " metrics.data_quality); changes nothing. Prints the file's path (or the data with"
        " --json). Exit 0; 3 when the day has not been computed (the page is still written and"
        " says what is missing); 2 for a day that is not over yet.",
    )
    report.add_argument(
        "--day",
        type=types.date,
        help="the day, YYYY-MM-DD (default: yesterday in the business time zone)",
    )
    report.add_argument(
        "--out",
        type=Path,
        help="the HTML file to write, or a directory to write revops-digest-DAY.html in"
        " (default: revops-digest-DAY.html here)",
    )
    report.add_argument(
        "--summary-md",
        type=Path,
        metavar="FILE",
        help="also append a short Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY)",
    )
    report.add_argument(
        "--top", type=types.bounded_int(1, 100), default=5, help="reps to rank (default 5)"
    )
    report.add_argument("--json", action="store_true", help="the page's data as JSON on stdout")
    report.set_defaults(func=cmd_report)


def bi_connection() -> psycopg.Connection[tuple[object, ...]]:
    from revops.db import connect

    return connect(
        config.role_target("revops_bi"), config.metrics_db_name(), application="revops-report"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from revops.digest import data, page

    try:
        with bi_connection() as conn:
            digest = data.collect(conn, args.day, args.top)
    except data.DayNotOver as exc:
        raise config.ConfigError(f"report: {exc}") from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        relation = (exc.diag.message_primary or "").rpartition(" ")[2] or "the BI views"
        raise config.ConfigError(NOT_BI_HINT.format(relation=relation)) from exc
    name = f"revops-digest-{digest['day']}.html"
    out: Path = args.out or Path(name)
    if out.is_dir():
        out = out / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page.render_html(digest), encoding="utf-8")
    progress(f"report: wrote the digest of {digest['day']} to {out}")
    if args.summary_md:
        with args.summary_md.open("a", encoding="utf-8") as summary:
            summary.write(page.render_markdown(digest, artifact=out.name))
    for note in digest["missing"]:
        log.warning("report: %s", note)
    print(json.dumps(digest, indent=2) if args.json else out)
    return EXIT_OK if digest["is_day_computed"] else EXIT_STALE
