"""Monitoring (issue 15, section 2): alarm definitions, the SNS topic, logs, the host's rights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from infra.settings import SettingsError, load_settings
from pulumi_harness import ACCOUNT, REGION, Program, run_program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def _alarms(program: Program) -> dict[str, dict[str, object]]:
    return {a.inputs["name"].removeprefix("revops-test-"): a.inputs for a in program.of_type(ALARM)}


@pytest.fixture(scope="module")
def mailed(bundle_dir: Path) -> Program:
    return run_program(
        {
            "aws:region": REGION,
            "revops-metrics:alert_email": "revops-oncall@example.com",
            "revops-metrics:log_retention_days": "90",
        },
        bundle_dir,
    )


def test_the_four_alarms_notify_the_topic(default_program: Program) -> None:
    (topic,) = default_program.of_type(TOPIC)
    alarms = _alarms(default_program)
    assert set(alarms) == {"run-failed", "no-successful-run", "stale", "data-quality-errors"}
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic.outputs["arn"]]
        assert alarm["namespace"] == "RevOps/Metrics"
        assert alarm["dimensions"]["Stack"] == "test"  # what revops.cloudwatch publishes
        assert alarm["period"] == 3600


def test_dead_mans_switch(default_program: Program) -> None:
    """No successful run in 26 hours, and silence counts as no success."""
    alarm = _alarms(default_program)["no-successful-run"]
    assert alarm["metricName"] == "RunSucceeded"
    assert alarm["statistic"] == "Sum"
    assert alarm["treatMissingData"] == "breaching"
    assert alarm["comparisonOperator"] == "LessThanThreshold"
    assert alarm["threshold"] == 1
    assert alarm["evaluationPeriods"] == alarm["datapointsToAlarm"] == 26
    assert alarm["period"] * alarm["evaluationPeriods"] == 26 * 3600
    # CloudWatch: an alarm evaluates at most 7 days (periods of an hour or more).
    assert alarm["period"] * alarm["evaluationPeriods"] <= 7 * 86400
    assert alarm["okActions"] == alarm["alarmActions"]


@pytest.mark.parametrize(
    ("key", "metric", "statistic", "operator", "threshold"),
    [
        ("run-failed", "RunFailed", "Sum", "GreaterThanOrEqualToThreshold", 1),
        ("stale", "Stale", "Maximum", "GreaterThanOrEqualToThreshold", 1),
        ("data-quality-errors", "DataQualityFindings", "Maximum", "GreaterThanThreshold", 0),
    ],
)
def test_event_alarms(
    default_program: Program,
    key: str,
    metric: str,
    statistic: str,
    operator: str,
    threshold: int,
) -> None:
    alarm = _alarms(default_program)[key]
    assert alarm["metricName"] == metric
    assert alarm["statistic"] == statistic
    assert alarm["comparisonOperator"] == operator
    assert alarm["threshold"] == threshold
    assert alarm["evaluationPeriods"] == 1
    # Silence is the dead-man's job: these only fire on a datapoint.
    assert alarm["treatMissingData"] == "notBreaching"
    if key == "data-quality-errors":
        assert alarm["dimensions"] == {"Stack": "test", "Severity": "error"}


def test_no_subscription_without_alert_email(default_program: Program) -> None:
    assert default_program.of_type(SUBSCRIPTION) == []


def test_alert_email_subscribes(mailed: Program) -> None:
    (subscription,) = mailed.of_type(SUBSCRIPTION)
    (topic,) = mailed.of_type(TOPIC)
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "revops-oncall@example.com"
    assert subscription.inputs["topic"] == topic.outputs["arn"]
    assert mailed.exports["alert_topic_arn"] == topic.outputs["arn"]


def test_topic_policy_only_this_stacks_alarms(default_program: Program) -> None:
    (policy,) = default_program.of_type("aws:sns/topicPolicy:TopicPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    allow = statements["StackAlarmsPublish"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:revops-test-*"
    )
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_log_group_and_retention(default_program: Program, mailed: Program) -> None:
    (group,) = default_program.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/revops/test"
    assert group.inputs["retentionInDays"] == 30
    (group,) = mailed.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 90
    assert default_program.exports["log_group"] == "/revops/test"


def test_host_may_publish_only_its_namespace_and_log_group(default_program: Program) -> None:
    (policy,) = [
        p for p in default_program.of_type("aws:iam/rolePolicy:RolePolicy") if "identity" in p.name
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    metrics = statements["PublishRunMetrics"]
    assert metrics["Action"] == ["cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "RevOps/Metrics"}}
    (group,) = default_program.of_type("aws:cloudwatch/logGroup:LogGroup")
    logs = statements["ShipJournalToOwnLogGroup"]
    assert logs["Resource"] == [group.outputs["arn"], f"{group.outputs['arn']}:*"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("alert_email", "not-an-address", "not an e-mail address"),
        ("alert_email", "a@b.com,c@d.com", "not an e-mail address"),
        ("log_retention_days", "10", "not a CloudWatch Logs retention"),
    ],
)
def test_monitoring_keys_are_validated(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({key: value}.get, stack="dev", region=REGION)
