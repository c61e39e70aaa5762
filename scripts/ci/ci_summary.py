#!/usr/bin/env python3
"""Markdown for the GitHub Actions job summary of the daily-metrics workflow.

    ci_summary.py run TITLE EXIT_CODE RESULT_JSON   a run's or backfill's result (revops --json)
    ci_summary.py freshness STATUS_JSON             `revops status --json`; exit 0 fresh, 3 stale

The text is appended to $GITHUB_STEP_SUMMARY (stderr outside GitHub Actions). Only the standard
library, so it runs before or without the package. Nothing it prints holds a password: it only
sees the JSON that `revops` writes, which never does.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_USAGE, EXIT_STALE = 0, 2, 3
MAX_ERROR_CHARS = 300


def cell(value: object) -> str:
    """A value made safe for one Markdown table cell."""
    if value is None or value == "":
        return "-"
    text = " ".join(str(value).split())
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text.replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def append_summary(lines: Sequence[str]) -> None:
    text = "\n".join(lines) + "\n\n"
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stderr.write(text)


def annotate(kind: str, title: str, message: str) -> None:
    """A GitHub annotation (error/warning/notice), one line, on stdout."""
    print(f"::{kind} title={title}::{' '.join(message.split())}")


def run_markdown(title: str, exit_code: int, results: Sequence[Mapping[str, Any]]) -> list[str]:
    failed = [r for r in results if r.get("status") != "succeeded"]
    icon = "✅" if exit_code == 0 else "❌"
    verdict = "succeeded" if exit_code == 0 else f"failed (exit {exit_code})"
    lines = [f"## {icon} {title}: {verdict}", ""]
    if not results:
        lines.append("No day was computed" + (": see the job log." if exit_code else "."))
        return lines
    days = sum(int(r.get("days", 1) or 1) for r in results)
    lines.append(f"{len(results)} step(s) covering {days} day(s); {len(failed)} failed.")
    lines.append("")
    rows = []
    for r in results:
        first, last = r.get("from_date"), r.get("to_date")
        span = first if first == last else f"{first} .. {last}"
        rows.append([span, r.get("status"), r.get("days"), r.get("seconds"), r.get("error")])
    if len(rows) > 40:
        shown = [row for row in rows if row[1] != "succeeded"][:40]
        lines.append(f"Showing the {len(shown)} failed step(s) of {len(rows)}.")
        lines.append("")
        rows = shown
    lines += table(["days", "status", "count", "seconds", "error"], rows)
    return lines


def freshness_markdown(report: Mapping[str, Any]) -> list[str]:
    fresh = bool(report.get("fresh"))
    last = report.get("last_successful_day")
    lag = report.get("lag_days")
    allowed = report.get("max_lag_days")
    head = "## ✅ Metrics are fresh" if fresh else "## ❌ Metrics are STALE"
    lag_text = "no successful run at all" if lag is None else f"{lag} day(s) behind yesterday"
    lines = [
        head,
        "",
        *table(
            ["", ""],
            [
                ["newest successful day", last or "none"],
                ["lag", lag_text],
                ["allowed lag", f"{allowed} day(s)"],
                ["business time zone", report.get("business_timezone")],
                ["business today", report.get("business_today")],
            ],
        ),
    ]
    if not fresh:
        lines += [
            "",
            (
                "Run the metrics (`revops run`, or this workflow with `backfill_days`) and look "
                "at the errors of the failed runs below."
            ),
        ]
    tables = report.get("tables") or []
    if tables:
        lines += ["", "### Tables", ""]
        lines += table(
            ["table", "newest day", "lag (days)"],
            [[t.get("table_name"), t.get("last_metric_date"), t.get("lag_days")] for t in tables],
        )
    runs = report.get("recent_runs") or []
    if runs:
        lines += ["", "### Recent runs", ""]
        lines += table(
            ["run", "day", "status", "trigger", "finished", "error"],
            [
                [
                    r.get("run_id"),
                    r.get("metric_date"),
                    r.get("status"),
                    r.get("trigger"),
                    r.get("finished_at"),
                    r.get("error_text"),
                ]
                for r in runs
            ],
        )
    return lines


def check_freshness(report: Mapping[str, Any]) -> int:
    """Write the freshness summary; 0 when fresh, 3 (with an error annotation) when stale."""
    append_summary(freshness_markdown(report))
    if report.get("fresh"):
        print(
            f"metrics are fresh: newest successful day {report.get('last_successful_day')}, "
            f"lag {report.get('lag_days')} day(s)"
        )
        return EXIT_OK
    last = report.get("last_successful_day") or "none"
    annotate(
        "error",
        "Metrics are stale",
        f"newest successful day {last}, lag {report.get('lag_days')} day(s), "
        f"allowed {report.get('max_lag_days')}: see the job summary",
    )
    return EXIT_STALE


def load_json(path: str) -> Any:
    text = Path(path).read_text(encoding="utf-8").strip()
    return json.loads(text) if text else None


def main(argv: Sequence[str]) -> int:
    if len(argv) == 4 and argv[0] == "run":
        title, code, path = argv[1], int(argv[2]), argv[3]
        try:
            results = load_json(path) or []
        except ValueError:
            results = []
        if isinstance(results, dict):
            # `revops run --json`: one run (metrics.run_due) whose engine calls are its ranges
            results = results.get("ranges") or ([results] if results.get("status") else [])
        if not isinstance(results, list):
            results = []
        append_summary(run_markdown(title, code, results))
        return EXIT_OK
    if len(argv) == 2 and argv[0] == "freshness":
        try:
            report = load_json(argv[1])
        except ValueError:
            report = None
        if not isinstance(report, dict) or "fresh" not in report:
            annotate("error", "Metrics freshness", "revops status gave no JSON report")
            append_summary(["## ⚠️ Metrics freshness not checked", "", "No status report."])
            return EXIT_USAGE
        return check_freshness(report)
    print(__doc__, file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
