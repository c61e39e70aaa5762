"""IAM: the host's instance role, with only what the host needs.

- SSM: the AWS managed `AmazonSSMManagedInstanceCore` policy (SSM.1: the instance is managed by
  Systems Manager; Session Manager replaces SSH).
- `secretsmanager:GetSecretValue` on exactly this stack's four database secrets.
- `s3:GetObject` on exactly this stack's code bundle object.
- `cloudwatch:PutMetricData` in the `RevOps/Metrics` namespace only (condition), and writing
  log streams of this stack's log group (the CloudWatch agent ships the journal).
- The landing bucket's `incoming/` prefix, for `revops ingest s3://<bucket>/incoming/`: list it
  (`s3:ListBucket` with an `s3:prefix` condition), read its objects and their versions, and tag
  the version loaded (`s3:PutObjectTagging`, and `s3:PutObjectVersionTagging`, which S3 checks
  when the request names the version). No delete, no put: `--s3-mark move` is not granted.

No wildcard action anywhere (IAM.1/IAM.21); the trust policy lets only EC2 assume the role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from infra.settings import Settings

SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore"


def partition() -> tuple[str, str]:
    """(partition, DNS suffix) of the target account: ("aws", "amazonaws.com") in commercial
    regions, "aws-cn" / "aws-us-gov" elsewhere; never hard-code `arn:aws`."""
    found = aws.get_partition()
    return (
        str(getattr(found, "partition", None) or "aws"),
        str(getattr(found, "dns_suffix", None) or "amazonaws.com"),
    )


def service_trust_policy(service: str, dns_suffix: str) -> str:
    """The assume-role policy that lets one AWS service (``ec2``, ``dlm``, ...) use a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.{dns_suffix}"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def ssm_core_policy_arn(partition_name: str) -> str:
    return f"arn:{partition_name}:iam::aws:policy/{SSM_CORE_POLICY}"


METRICS_NAMESPACE = "RevOps/Metrics"


LANDING_INCOMING = "incoming/"


def landing_statements(bucket_arn: str) -> list[dict[str, object]]:
    """What `revops ingest s3://<landing bucket>/incoming/` needs on the host, nothing more."""
    return [
        {
            "Sid": "ListLandingIncoming",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{LANDING_INCOMING}*"]}},
        },
        {
            "Sid": "ReadAndTagLandingIncoming",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObjectTagging",
                "s3:PutObjectVersionTagging",
            ],
            "Resource": [f"{bucket_arn}/{LANDING_INCOMING}*"],
        },
    ]


def host_policy_document(
    secret_arns: list[str],
    bundle_object_arn: str,
    log_group_arn: str | None = None,
    landing_bucket_arn: str | None = None,
) -> str:
    """The inline policy of the instance role (pure: unit-tested directly)."""
    statements: list[dict[str, object]] = [
        {
            "Sid": "PublishRunMetrics",
            "Effect": "Allow",
            # PutMetricData has no resource-level permission: the namespace condition scopes it.
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
        }
    ]
    if log_group_arn:
        group = log_group_arn.removesuffix(":*")
        statements.append(
            {
                "Sid": "ShipJournalToOwnLogGroup",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                "Resource": [group, f"{group}:*"],
            }
        )
    if landing_bucket_arn:
        statements.extend(landing_statements(landing_bucket_arn))
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadOwnDatabaseSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": sorted(str(arn) for arn in secret_arns),
                },
                {
                    "Sid": "ReadOwnCodeBundle",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": [str(bundle_object_arn)],
                },
                *statements,
            ],
        },
        sort_keys=True,
    )


class HostIdentity(pulumi.ComponentResource):
    """Instance role, its policies and instance profile."""

    role: aws.iam.Role
    instance_profile: aws.iam.InstanceProfile

    def __init__(
        self,
        name: str,
        settings: Settings,
        secret_arns: Mapping[str, pulumi.Input[str]],
        bundle_object_arn: pulumi.Input[str],
        log_group_arn: pulumi.Input[str] | None = None,
        landing_bucket_arn: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("revops:infra:HostIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition_name, dns_suffix = partition()
        self.role = aws.iam.Role(
            f"{name}-role",
            name_prefix=f"{settings.name}-host-"[:38],
            description=f"RevOps {settings.stack}: the PostgreSQL host (SSM, its own secrets)",
            assume_role_policy=service_trust_policy("ec2", dns_suffix),
            tags={"revops:stack": settings.stack},
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm-core",
            role=self.role.name,
            policy_arn=ssm_core_policy_arn(partition_name),
            opts=child,
        )
        arns = list(secret_arns.values())
        aws.iam.RolePolicy(
            f"{name}-read-own",
            role=self.role.id,
            policy=pulumi.Output.all(
                bundle_object_arn, log_group_arn or "", landing_bucket_arn or "", *arns
            ).apply(
                lambda values: host_policy_document(
                    list(values[3:]), values[0], values[1] or None, values[2] or None
                )
            ),
            opts=child,
        )
        self.instance_profile = aws.iam.InstanceProfile(
            f"{name}-profile",
            name_prefix=f"{settings.name}-host-"[:38],
            role=self.role.name,
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn})
