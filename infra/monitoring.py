"""Monitoring: alarms on the run metrics, an SNS topic that e-mails them, and the host's logs.

The host's units and the GitHub workflow publish `RevOps/Metrics` datapoints with the dimension
`Stack=<stack>` (runner/revops/cloudwatch.py). The alarms, all to the topic `<name>-alerts`:

| alarm | metric | fires when | missing data |
|---|---|---|---|
| `<name>-run-failed` | RunFailed, Sum per hour | a run (or its unit) failed | not breaching |
| `<name>-no-successful-run` | RunSucceeded, Sum per hour | no successful run in 26 hours | **breaching**: silence (host down, timer dead, publishing broken) is the alarm |
| `<name>-stale` | Stale, Maximum per hour | the newest successful day is over the database's `freshness_max_lag_days` | not breaching (silence is the dead-man's job) |
| `<name>-data-quality-errors` | DataQualityFindings (Severity=error), Maximum per hour | an error-level check finds rows | not breaching |

The dead-man's switch and the stale alarm also notify when they clear (OK). `alert_email`
subscribes an address (AWS mails a confirmation link first); without it the topic has no
subscriber and the alarms only show in the console. The topic is encrypted with no KMS key of
its own on purpose: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and the
alerts carry no secret (alarm names and numbers).

Logs: the log group `/revops/<stack>` (retention `log_retention_days`, default 30) receives the
host's journal of the revops units, PostgreSQL and cloud-init through the CloudWatch agent, so
they outlive the root volume, which every replacement deletes.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.identity import partition
from infra.settings import Settings

NAMESPACE = "RevOps/Metrics"
HOUR = 3600
DEAD_MAN_HOURS = 26


def log_group_name(settings: Settings) -> str:
    return f"/revops/{settings.stack}"


def topic_policy(topic_arn: str, partition_name: str, region: str, account: str, name: str) -> str:
    """Only this stack's alarms (CloudWatch, this account) may publish to the topic."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "StackAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{partition_name}:cloudwatch:{region}:"
                            f"{account}:alarm:{name}-*"
                        },
                        "StringEquals": {"aws:SourceAccount": account},
                    },
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        },
        sort_keys=True,
    )


class Monitoring(pulumi.ComponentResource):
    """SNS topic (+ e-mail), the four alarms, and the host's log group."""

    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    log_group: aws.cloudwatch.LogGroup

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("revops:infra:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"revops:stack": settings.stack}
        partition_name, _ = partition()
        identity = aws.get_caller_identity()
        account = str(getattr(identity, "account_id", None) or "*")
        self.topic = aws.sns.Topic(
            f"{name}-alerts", name=f"{settings.name}-alerts", tags=tags, opts=child
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts",
            arn=self.topic.arn,
            policy=self.topic.arn.apply(
                lambda arn: topic_policy(
                    str(arn), partition_name, settings.region, account, settings.name
                )
            ),
            opts=child,
        )
        if settings.alert_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=settings.alert_email,
                opts=child,
            )
        actions = [self.topic.arn]
        stack = {"Stack": settings.stack}

        def alarm(
            key: str, description: str, *, ok: bool = False, **args: object
        ) -> aws.cloudwatch.MetricAlarm:
            return aws.cloudwatch.MetricAlarm(
                f"{name}-{key}",
                name=f"{settings.name}-{key}",
                alarm_description=description,
                namespace=NAMESPACE,
                period=HOUR,
                alarm_actions=actions,
                ok_actions=actions if ok else [],
                tags=tags,
                opts=child,
                **args,  # type: ignore[arg-type]
            )

        self.alarms = {
            "run-failed": alarm(
                "run-failed",
                f"RevOps {settings.stack}: a metrics run failed (journal: log group "
                f"{log_group_name(settings)}; metrics.run_log has the error)",
                metric_name="RunFailed",
                dimensions=stack,
                statistic="Sum",
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
            ),
            "no-successful-run": alarm(
                "no-successful-run",
                f"RevOps {settings.stack}: no successful metrics run in {DEAD_MAN_HOURS} hours "
                "(host down, timer stopped, or metrics not published)",
                ok=True,
                metric_name="RunSucceeded",
                dimensions=stack,
                statistic="Sum",
                evaluation_periods=DEAD_MAN_HOURS,
                datapoints_to_alarm=DEAD_MAN_HOURS,
                threshold=1,
                comparison_operator="LessThanThreshold",
                treat_missing_data="breaching",
            ),
            "stale": alarm(
                "stale",
                f"RevOps {settings.stack}: metrics are stale (lag over freshness_max_lag_days)",
                ok=True,
                metric_name="Stale",
                dimensions=stack,
                statistic="Maximum",
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
            ),
            "data-quality-errors": alarm(
                "data-quality-errors",
                f"RevOps {settings.stack}: an error-level data-quality check found rows "
                "(revops check)",
                metric_name="DataQualityFindings",
                dimensions={**stack, "Severity": "error"},
                statistic="Maximum",
                evaluation_periods=1,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
            ),
        }
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name(settings),
            retention_in_days=settings.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.register_outputs({"topic_arn": self.topic.arn, "log_group": self.log_group.name})
