"""revops.cloudwatch: the datapoints of a run, a status and a check report, sent to moto.

The documents below have the shapes `revops run --json` (one object), `revops backfill --json`
(a list), `revops status --json` and `revops check --json` print. A failed run and a stale day
must produce the values the stack's alarms react to (infra/monitoring.py).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from revops import cloudwatch

REGION = "us-east-1"
RUN_OK = {
    "status": "succeeded",
    "days": 4,
    "ranges": [
        {
            "status": "succeeded",
            "from_date": "2026-03-06",
            "to_date": "2026-03-09",
            "days": 4,
            "rows_written": {
                "daily_lead_funnel": 40,
                "rep_daily_activity": 200,
                "rep_daily_pipeline": 150,
                "lead_stage_snapshot": 30,
            },
        }
    ],
    "changes_consumed": 12,
    "error": None,
    "seconds": 3.25,
}
RUN_FAILED = {
    "status": "failed",
    "days": 0,
    "changes_consumed": 0,
    "error": "XX000: boom",
}
STATUS_STALE = {
    "business_timezone": "UTC",
    "business_today": "2026-03-10",
    "last_successful_day": "2026-03-01",
    "lag_days": 8,
    "max_lag_days": 2,
    "fresh": False,
    "tables": [],
    "recent_runs": [],
}
CHECKS = [
    {"check_name": "unknown_owner", "severity": "warning", "affected_count": 3, "sample_ids": []},
    {"check_name": "won_no_close", "severity": "error", "affected_count": 2, "sample_ids": []},
    {"check_name": "null_amount", "severity": "error", "affected_count": 1, "sample_ids": []},
    {"check_name": "stale_metrics", "severity": "error", "affected_count": 0, "sample_ids": []},
]


def values(datums: list[cloudwatch.Datum]) -> dict[str, float]:
    return {d.name + "".join(f"[{k}={v}]" for k, v in d.dimensions): d.value for d in datums}


def test_a_successful_run() -> None:
    assert values(cloudwatch.run_datums(RUN_OK, 0)) == {
        "RunSucceeded": 1,
        "RunFailed": 0,
        "RunSkipped": 0,
        "RowsWritten": 420,
        "DaysComputed": 4,
        "RunDurationSeconds": 3.25,
    }


def test_a_failed_run_is_a_failure_datapoint() -> None:
    got = values(cloudwatch.run_datums(RUN_FAILED, 1))
    assert got["RunFailed"] == 1
    assert got["RunSucceeded"] == 0
    assert got["RowsWritten"] == 0


def test_no_document_but_a_failing_exit_code() -> None:
    """exit 4 (no connection) prints no JSON: still a failed run."""
    assert values(cloudwatch.run_datums(None, 4)) == {"RunFailed": 1, "RunSucceeded": 0}
    assert cloudwatch.run_datums(None, 0) == []
    assert cloudwatch.run_datums(None, 5) == []  # skipped: another run held the lock


def test_skipped_run() -> None:
    skipped = {"status": "skipped", "days": 0, "error": "lock"}
    got = values(cloudwatch.run_datums(skipped, 5))
    assert (got["RunSkipped"], got["RunFailed"], got["RunSucceeded"]) == (1, 0, 0)


def test_a_backfill_list() -> None:
    chunks = [
        {"status": "succeeded", "days": 31, "rows_written": {"a": 10, "b": 5}, "seconds": 2},
        {"status": "failed", "days": 10, "error": "boom", "seconds": 1},
    ]
    got = values(cloudwatch.run_datums(chunks, 1))
    assert got["RunFailed"] == 1
    assert got["RowsWritten"] == 15
    assert got["DaysComputed"] == 31
    assert got["RunDurationSeconds"] == 3


def test_a_stale_day() -> None:
    assert values(cloudwatch.status_datums(STATUS_STALE)) == {"Stale": 1, "FreshnessLagDays": 8}
    fresh = {**STATUS_STALE, "fresh": True, "lag_days": 0}
    assert values(cloudwatch.status_datums(fresh)) == {"Stale": 0, "FreshnessLagDays": 0}
    never = {**STATUS_STALE, "lag_days": None}
    assert values(cloudwatch.status_datums(never)) == {"Stale": 1}


def test_data_quality_by_severity() -> None:
    assert values(cloudwatch.check_datums(CHECKS)) == {
        "DataQualityFindings[Severity=error]": 3,
        "DataQualityFindings[Severity=info]": 0,
        "DataQualityFindings[Severity=warning]": 3,
    }


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield


def _stored(metric: str, dimensions: list[dict[str, str]]) -> list[float]:
    client = boto3.client("cloudwatch", region_name=REGION)
    now = dt.datetime.now(dt.UTC)
    stats = client.get_metric_statistics(
        Namespace=cloudwatch.NAMESPACE,
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=now - dt.timedelta(hours=1),
        EndTime=now + dt.timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return [p["Sum"] for p in stats["Datapoints"]]


@pytest.mark.usefixtures("aws_env")
def test_publish_puts_metric_data_with_the_stack_dimension() -> None:
    datums = cloudwatch.run_datums(RUN_FAILED, 1) + cloudwatch.status_datums(STATUS_STALE)
    datums += cloudwatch.check_datums(CHECKS)
    assert cloudwatch.publish(datums, "prod") == len(datums)
    stack = [{"Name": "Stack", "Value": "prod"}]
    assert _stored("RunFailed", stack) == [1.0]
    assert _stored("Stale", stack) == [1.0]
    assert _stored("FreshnessLagDays", stack) == [8.0]
    error = [*stack, {"Name": "Severity", "Value": "error"}]
    assert _stored("DataQualityFindings", error) == [3.0]
    listed = boto3.client("cloudwatch", region_name=REGION).list_metrics(
        Namespace=cloudwatch.NAMESPACE
    )["Metrics"]
    assert all({"Name": "Stack", "Value": "prod"} in m["Dimensions"] for m in listed)


@pytest.mark.usefixtures("aws_env")
def test_alarm_on_published_failure_reaches_sns() -> None:
    """The failed-run alarm's definition (as the stack makes it) sees the datapoint (moto)."""
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="revops-prod-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    client = boto3.client("cloudwatch", region_name=REGION)
    client.put_metric_alarm(
        AlarmName="revops-prod-run-failed",
        Namespace=cloudwatch.NAMESPACE,
        MetricName="RunFailed",
        Dimensions=[{"Name": "Stack", "Value": "prod"}],
        Statistic="Sum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
    )
    cloudwatch.publish(cloudwatch.unit_failed_datums("revops-metrics.service"), "prod")
    [alarm] = client.describe_alarms(AlarmNames=["revops-prod-run-failed"])["MetricAlarms"]
    assert alarm["AlarmActions"] == [topic]
    assert _stored("RunFailed", [{"Name": "Stack", "Value": "prod"}]) == [1.0]
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subscription["Endpoint"] == "ops@example.com"


@pytest.mark.usefixtures("aws_env")
def test_cli_reads_the_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run.json"
    run.write_text("progress line\n" + json.dumps(RUN_OK))
    status = tmp_path / "status.json"
    status.write_text(json.dumps(STATUS_STALE))
    argv = ["--stack", "prod", "--run", str(run), "--exit-code", "0", "--status", str(status)]
    assert cloudwatch.main([*argv, "--dry-run"]) == 0
    data: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert {d["MetricName"]: d["Value"] for d in data}["RowsWritten"] == 420
    assert cloudwatch.main(argv) == 0
    assert _stored("RunSucceeded", [{"Name": "Stack", "Value": "prod"}]) == [1.0]
    assert cloudwatch.main(["--run", str(run)]) == 2  # no stack
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cloudwatch.main(["--stack", "prod", "--check", str(bad)]) == 2


def test_cli_reports_an_unreachable_cloudwatch(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "revops.cloudwatch", "--stack", "prod", "--unit-failed", "x"],
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "cloudwatch put-metric-data RevOps/Metrics (Stack=prod)" in proc.stderr
