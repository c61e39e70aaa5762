"""Managed database (stack config `database: rds`): Amazon RDS for PostgreSQL.

- Storage encrypted with a customer-managed KMS key (rotation on; RDS.3), never publicly
  accessible (RDS.2), deletion protection (RDS.7/8), automated backups kept
  `rds_backup_retention_days` (RDS.11) and a final snapshot on delete, minor version upgrades
  (RDS.13), tags copied to snapshots (RDS.17), Multi-AZ from `rds_multi_az` (RDS.5).
- A parameter group for the engine major: `rds.force_ssl = 1` (clients, the FDW among them,
  must use TLS; `REVOPS_FDW_SSLMODE=require`) and `password_encryption = scram-sha-256`.
- A DB subnet group over `db_subnet_ids` (default: the VPC's subnets; RDS needs two zones).
- Its own security group: 5432 only from the runner host's security group and the configured
  `allowed_cidrs` / `allowed_security_group_ids` (none by default); no egress.
- The master password is generated and kept by RDS in Secrets Manager
  (`manage_master_user_password`): it is never in Pulumi state, outputs, user data or logs. The
  output is the secret's ARN only; the host's role may read it (bootstrap runs as that user).
- `bi_replica: true` adds a read replica (same parameter group, security group and key) whose
  endpoint is the output `bi_replica_endpoint`, for dashboards reading as `revops_bi`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.network import postgres_ingress
from infra.settings import Settings


def db_subnet_ids(settings: Settings, vpc_id: str) -> list[str]:
    """The configured subnets, else every subnet of the host's VPC."""
    if settings.db_subnet_ids:
        return list(settings.db_subnet_ids)
    found = aws.ec2.get_subnets(
        filters=[aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id])]
    )
    ids = sorted(str(i) for i in found.ids or [])
    if len(ids) < 2:
        raise ValueError(
            f"VPC {vpc_id} has fewer than two subnets: set db_subnet_ids (two zones or more)"
        )
    return ids


class ManagedDatabase(pulumi.ComponentResource):
    """RDS for PostgreSQL with its key, parameter group, subnet group and security group."""

    key: aws.kms.Key
    parameter_group: aws.rds.ParameterGroup
    subnet_group: aws.rds.SubnetGroup
    security_group: aws.ec2.SecurityGroup
    instance: aws.rds.Instance
    replica: aws.rds.Instance | None

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        vpc_id: str,
        host_security_group_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("revops:infra:ManagedDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"Name": f"{settings.name}-db", "revops:stack": settings.stack}
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{settings.name}: RDS storage",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        family = f"postgres{settings.rds_engine_major}"
        self.parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=family,
            description=f"{settings.name}: TLS only, scram-sha-256",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(
                    name="password_encryption", value="scram-sha-256"
                ),
            ],
            tags=tags,
            opts=child,
        )
        self.subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=db_subnet_ids(settings, vpc_id),
            description=f"{settings.name}: private subnets of the database",
            tags=tags,
            opts=child,
        )
        ingress = [
            aws.ec2.SecurityGroupIngressArgs(
                description="PostgreSQL from the runner host",
                protocol="tcp",
                from_port=5432,
                to_port=5432,
                security_groups=[host_security_group_id],
            ),
            *postgres_ingress(settings, "TLS"),
        ]
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            description=f"{settings.name}: RDS PostgreSQL (5432 from the runner host only)",
            vpc_id=vpc_id,
            ingress=ingress,
            egress=[],
            revoke_rules_on_delete=True,
            tags={**tags, "Name": f"{settings.name}-db"},
            opts=child,
        )
        self.instance = aws.rds.Instance(
            f"{name}-primary",
            identifier_prefix=f"{settings.name}-".lower(),
            engine="postgres",
            engine_version=str(settings.rds_engine_major),
            instance_class=settings.rds_instance_class,
            allocated_storage=settings.rds_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            username="revops_admin",
            # RDS generates and keeps the password in Secrets Manager under the aws/secretsmanager
            # key, so the host role needs only GetSecretValue on it to bootstrap.
            manage_master_user_password=True,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name,
            publicly_accessible=False,
            multi_az=settings.rds_multi_az,
            backup_retention_period=settings.rds_backup_retention_days,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{settings.name}-final".lower(),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            iam_database_authentication_enabled=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.replica = None
        if settings.bi_replica:
            self.replica = aws.rds.Instance(
                f"{name}-bi-replica",
                identifier_prefix=f"{settings.name}-bi-".lower(),
                replicate_source_db=self.instance.identifier,
                instance_class=settings.rds_instance_class,
                storage_type="gp3",
                storage_encrypted=True,
                kms_key_id=self.key.arn,
                vpc_security_group_ids=[self.security_group.id],
                parameter_group_name=self.parameter_group.name,
                publicly_accessible=False,
                # a replica keeps no backups of its own; the primary's are the recovery path
                backup_retention_period=0,
                deletion_protection=True,
                skip_final_snapshot=True,
                auto_minor_version_upgrade=True,
                tags={**tags, "Name": f"{settings.name}-bi-replica"},
                opts=child,
            )
        self.register_outputs(
            {
                "endpoint": self.instance.address,
                "bi_replica_endpoint": self.replica.address if self.replica else None,
            }
        )

    @property
    def master_secret_arn(self) -> pulumi.Output[str]:
        """The ARN of the RDS-managed master user secret (never its value)."""
        return self.instance.master_user_secrets.apply(
            lambda secrets: str(secrets[0].secret_arn) if secrets else ""
        )
