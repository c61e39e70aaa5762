"""Backups: daily EBS snapshots of the data volume by a Data Lifecycle Manager policy.

The policy snapshots every volume tagged `revops:backup=<revops-stack>` (only the data volume:
PGDATA, the TLS key) at 03:00 UTC and keeps the newest `snapshot_retention_days` snapshots
(default 7; 0 = no policy). A snapshot of a running PostgreSQL is crash-consistent: restoring it
is like recovering from a power cut, which PostgreSQL's WAL is made for (docs/DEPLOY.md, "Restore
from a snapshot"). The restore itself is a stack setting, `data_volume_snapshot_id`.

DLM acts through a role of its own with explicit actions only (no AWS managed policy, no
wildcard action): create snapshots of the volume, tag them, delete the ones it expires, and
describe what it works on.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.identity import partition, service_trust_policy
from infra.settings import Settings

BACKUP_TAG = "revops:backup"
SNAPSHOT_TIME_UTC = "03:00"


def dlm_role_policy(partition_name: str, region: str, volume_arn: str) -> str:
    """What DLM may do for this stack: snapshot the volume, tag and expire its snapshots."""
    snapshots = f"arn:{partition_name}:ec2:{region}::snapshot/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SnapshotTheDataVolume",
                    "Effect": "Allow",
                    "Action": ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
                    "Resource": [volume_arn, snapshots],
                },
                {
                    "Sid": "TagAndExpireSnapshots",
                    "Effect": "Allow",
                    "Action": ["ec2:CreateTags", "ec2:DeleteSnapshot"],
                    "Resource": [snapshots],
                },
                {
                    "Sid": "Describe",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:DescribeInstances",
                        "ec2:DescribeSnapshots",
                        "ec2:DescribeVolumes",
                    ],
                    "Resource": ["*"],
                },
            ],
        },
        sort_keys=True,
    )


class VolumeBackups(pulumi.ComponentResource):
    """DLM lifecycle policy (and its role) for the data volume's daily snapshots."""

    policy: aws.dlm.LifecyclePolicy

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        volume_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("revops:infra:VolumeBackups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition_name, dns_suffix = partition()
        role = aws.iam.Role(
            f"{name}-role",
            name_prefix=f"{settings.name}-dlm-"[:38],
            description=f"RevOps {settings.stack}: DLM snapshots of the PostgreSQL data volume",
            assume_role_policy=service_trust_policy("dlm", dns_suffix),
            tags={"revops:stack": settings.stack},
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-snapshots",
            role=role.id,
            policy=pulumi.Output.from_input(volume_arn).apply(
                lambda arn: dlm_role_policy(partition_name, settings.region, str(arn))
            ),
            opts=child,
        )
        self.policy = aws.dlm.LifecyclePolicy(
            f"{name}-daily",
            description=f"{settings.name}: daily snapshots of the data volume"[:500],
            execution_role_arn=role.arn,
            state="ENABLED",
            policy_details=aws.dlm.LifecyclePolicyPolicyDetailsArgs(
                resource_types=["VOLUME"],
                target_tags={BACKUP_TAG: settings.name},
                schedules=[
                    aws.dlm.LifecyclePolicyPolicyDetailsScheduleArgs(
                        name=f"daily {SNAPSHOT_TIME_UTC} UTC, keep {settings.snapshot_retention_days}",
                        create_rule=aws.dlm.LifecyclePolicyPolicyDetailsScheduleCreateRuleArgs(
                            interval=24, interval_unit="HOURS", times=SNAPSHOT_TIME_UTC
                        ),
                        retain_rule=aws.dlm.LifecyclePolicyPolicyDetailsScheduleRetainRuleArgs(
                            count=settings.snapshot_retention_days
                        ),
                        copy_tags=True,
                        tags_to_add={"revops:snapshot": "daily"},
                    )
                ],
            ),
            tags={"revops:stack": settings.stack},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        self.register_outputs({"policy_id": self.policy.id})
