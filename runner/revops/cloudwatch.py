"""Run metrics for CloudWatch: what the stack's alarms watch (docs/DEPLOY.md, "Alerts").

Grain: one call publishes the datapoints of one run, and of the status and data-quality reports
read right after it, all with the dimension `Stack=<stack>` in the namespace `RevOps/Metrics`.
The inputs are the JSON documents `revops run --json` (one object), `revops backfill --json` (a
list of chunk results), `revops status --json` and `revops check --json` print, so the host's
units, the GitHub workflow and a person publish the same numbers from the same documents.

| metric | unit | from | meaning |
|---|---|---|---|
| RunSucceeded / RunFailed / RunSkipped | Count | run | 1 for the run's status (a backfill: its chunks) |
| RowsWritten | Count | run | fact rows written, all tables |
| DaysComputed | Count | run | metric days computed |
| RunDurationSeconds | Seconds | run | the run's own duration |
| FreshnessLagDays | Count | status | days the newest successful day is behind yesterday |
| Stale | Count | status | 1 when the lag is over the database's freshness_max_lag_days |
| DataQualityFindings (Severity=...) | Count | check | rows the checks of that severity found |

`RunFailed` is also published by `revops-metrics-failed@.service` (systemd `OnFailure=`) when a
unit fails without a usable result (a crash, a timeout, no connection).

boto3 is imported lazily (the `aws` extra), as in revops.aws. CLI:

    python -m revops.cloudwatch --stack prod [--run FILE] [--exit-code N] [--status FILE]
        [--check FILE] [--unit-failed UNIT] [--dry-run]

FILE may be `-` (stdin). Exit 0 published (or nothing to publish), 1 CloudWatch refused or
could not be reached, 2 bad usage or unreadable JSON. Never prints a secret: the documents hold
none, and errors name the metric namespace and the stack only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revops import aws

__all__ = [
    "NAMESPACE",
    "Datum",
    "check_datums",
    "main",
    "publish",
    "run_datums",
    "status_datums",
    "unit_failed_datums",
]

log = logging.getLogger(__name__)

NAMESPACE = "RevOps/Metrics"
SEVERITIES = ("error", "warning", "info")
_BATCH = 500  # PutMetricData takes up to 1000 datapoints per call
_RUN_STATUS_METRIC = {
    "succeeded": "RunSucceeded",
    "failed": "RunFailed",
    "skipped": "RunSkipped",
}


@dataclass(frozen=True)
class Datum:
    """One datapoint: name, value, unit and extra dimensions (besides Stack)."""

    name: str
    value: float
    unit: str = "Count"
    dimensions: tuple[tuple[str, str], ...] = ()


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _rows(result: Mapping[str, Any]) -> float:
    rows = result.get("rows_written")
    if isinstance(rows, Mapping):
        return sum(_number(v) for v in rows.values())
    return _number(rows)


def run_datums(result: Any, exit_code: int | None = None) -> list[Datum]:
    """Datapoints of `revops run --json` (an object) or `revops backfill --json` (a list).

    A run's rows come from its ranges (one per run of adjacent days). Without a usable
    document, a non-zero `exit_code` other than 5 (skipped) still counts as a failed run.
    """
    parts: list[Mapping[str, Any]]
    if isinstance(result, Mapping):
        parts = [result]
    elif isinstance(result, list):
        parts = [r for r in result if isinstance(r, Mapping)]
    else:
        parts = []
    if not parts:
        if exit_code in (None, 0, 5):
            return []
        return [Datum("RunFailed", 1), Datum("RunSucceeded", 0)]
    statuses = [str(p.get("status", "")) for p in parts]
    if "failed" in statuses or (exit_code not in (None, 0, 5) and "skipped" not in statuses):
        status = "failed"
    elif "skipped" in statuses:
        status = "skipped"
    else:
        status = "succeeded"
    rows = 0.0
    days = 0.0
    for part in parts:
        ranges = part.get("ranges")
        if isinstance(ranges, list):
            rows += sum(_rows(r) for r in ranges if isinstance(r, Mapping))
        else:
            rows += _rows(part)
        if part.get("status") == "succeeded":
            days += _number(part.get("days"))
    datums = [
        Datum(metric, 1.0 if status == key else 0.0) for key, metric in _RUN_STATUS_METRIC.items()
    ]
    datums += [Datum("RowsWritten", rows), Datum("DaysComputed", days)]
    seconds = [_number(p["seconds"]) for p in parts if p.get("seconds") is not None]
    if seconds:
        datums.append(Datum("RunDurationSeconds", sum(seconds), "Seconds"))
    return datums


def status_datums(report: Any) -> list[Datum]:
    """Datapoints of `revops status --json`: the lag, and whether it is over the threshold."""
    if not isinstance(report, Mapping):
        return []
    datums = [Datum("Stale", 0.0 if report.get("fresh") else 1.0)]
    lag = report.get("lag_days")
    if isinstance(lag, int | float):
        datums.append(Datum("FreshnessLagDays", float(lag)))
    return datums


def check_datums(checks: Any) -> list[Datum]:
    """Datapoints of `revops check --json`: rows found per severity (0 for a clean severity)."""
    if not isinstance(checks, list):
        return []
    found = dict.fromkeys(SEVERITIES, 0.0)
    for check in checks:
        if isinstance(check, Mapping):
            severity = str(check.get("severity", "")).lower()
            found[severity] = found.get(severity, 0.0) + _number(check.get("affected_count"))
    return [
        Datum("DataQualityFindings", count, dimensions=(("Severity", severity),))
        for severity, count in sorted(found.items())
    ]


def unit_failed_datums(unit: str) -> list[Datum]:
    """What `OnFailure=` publishes for a failed unit: a failed run."""
    del unit  # named in the log line only; a dimension per unit would split the alarm
    return [Datum("RunFailed", 1.0), Datum("RunSucceeded", 0.0)]


def metric_data(datums: Iterable[Datum], stack: str) -> list[dict[str, Any]]:
    """The PutMetricData entries (pure: what `--dry-run` prints)."""
    return [
        {
            "MetricName": d.name,
            "Dimensions": [
                {"Name": "Stack", "Value": stack},
                *({"Name": k, "Value": v} for k, v in d.dimensions),
            ],
            "Value": d.value,
            "Unit": d.unit,
        }
        for d in datums
    ]


def publish(
    datums: Sequence[Datum],
    stack: str,
    *,
    namespace: str = NAMESPACE,
    region: str | None = None,
) -> int:
    """Send the datapoints; returns how many. Raises `aws.AwsError` when CloudWatch refuses."""
    data = metric_data(datums, stack)
    if not data:
        return 0
    client = aws._client("cloudwatch", region)
    for start in range(0, len(data), _BATCH):
        try:
            client.put_metric_data(Namespace=namespace, MetricData=data[start : start + _BATCH])
        except aws._boto_errors() as exc:
            raise aws.AwsError(
                f"cloudwatch put-metric-data {namespace} (Stack={stack}): {exc}"
            ) from None
    return len(data)


def _load(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    text = text.strip()
    if not text:
        return None
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=0)
    return json.loads(text[start:])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m revops.cloudwatch",
        description="Publish a run's metrics to CloudWatch (namespace RevOps/Metrics).",
    )
    parser.add_argument("--stack", default=os.environ.get("REVOPS_STACK", ""), help="dimension")
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--run", help="`revops run --json` or `revops backfill --json` output")
    parser.add_argument("--exit-code", type=int, help="the run's exit code")
    parser.add_argument("--status", help="`revops status --json` output")
    parser.add_argument("--check", help="`revops check --json` output")
    parser.add_argument("--unit-failed", metavar="UNIT", help="a failed systemd unit (OnFailure)")
    parser.add_argument("--dry-run", action="store_true", help="print the datapoints, send none")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    if not args.stack:
        parser.print_usage(sys.stderr)
        print("error: --stack (or REVOPS_STACK) is required", file=sys.stderr)
        return 2
    datums: list[Datum] = []
    try:
        if args.run is not None or args.exit_code is not None:
            run = _load(args.run) if args.run else None
            datums += run_datums(run, args.exit_code)
        if args.status:
            datums += status_datums(_load(args.status))
        if args.check:
            datums += check_datums(_load(args.check))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read a report: {exc}", file=sys.stderr)
        return 2
    if args.unit_failed:
        log.info("unit %s failed: publishing RunFailed", args.unit_failed)
        datums += unit_failed_datums(args.unit_failed)
    if args.dry_run:
        print(json.dumps(metric_data(datums, args.stack), indent=2))
        return 0
    try:
        sent = publish(datums, args.stack, namespace=args.namespace)
    except aws.AwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log.info("published %d datapoint(s) to %s (Stack=%s)", sent, args.namespace, args.stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
