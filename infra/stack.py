"""The stack: settings -> network, secrets, code bundle, IAM, host, SSM document, GitHub role.

`build()` is what infra/__main__.py runs and what tests call under Pulumi mocks. Outputs:
instance_id, private_ip, secret_arns, ssm_document_name, github_role_arn (null when off),
plus the data volume, security group and bundle location for operators; with `database: rds`
also db_endpoint, db_master_secret_arn (the ARN only) and bi_replica_endpoint.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra import wheelhouse
from infra.backup import VolumeBackups
from infra.bundle import REPO_ROOT, CodeBundle, build_bundle, default_out_dir, wheelhouse_dir
from infra.cloud_init import HostEnv, render_user_data
from infra.commands import MetricsCommand
from infra.credentials import DatabaseSecrets
from infra.github import GitHubAccess
from infra.identity import HostIdentity
from infra.instance import DatabaseHost
from infra.landing import LandingBucket
from infra.monitoring import Monitoring, log_group_name
from infra.network import Network
from infra.rds import ManagedDatabase
from infra.settings import Settings, load_settings


def current_settings() -> Settings:
    """Settings from the stack config (project namespace) and aws:region."""
    config = pulumi.Config()
    region = pulumi.Config("aws").get("region") or ""
    return load_settings(config.get, stack=pulumi.get_stack(), region=region)


class WheelhouseError(RuntimeError):
    """The bundled wheels cannot install on the host: `pulumi up` stops before changing anything."""


def check_wheelhouse(settings: Settings) -> None:
    """Refuse a wheelhouse the host's `pip install --no-index` would fail on.

    No wheelhouse is fine only when the host has an internet route (create_vpc_endpoints false:
    a NAT, or a public IP): then pip installs from PyPI. Wheels of another architecture or
    Python, or a missing dependency, always stop the deploy.
    """
    directory = wheelhouse_dir()
    offline = settings.create_vpc_endpoints and not settings.associate_public_ip
    has_wheels = directory.is_dir() and any(directory.glob("*.whl"))
    if not has_wheels and not offline:
        return
    found = wheelhouse.problems(directory, REPO_ROOT / "pyproject.toml", settings.architecture)
    if found:
        arch = wheelhouse.MACHINES[settings.architecture]
        raise WheelhouseError(
            "the host (no internet route: VPC endpoints, no NAT) cannot install its Python "
            f"dependencies: {'; '.join(found[:10])}. Run `infra/host/build-wheelhouse.sh {arch}` "
            "and `pulumi up` again (docs/DEPLOY.md)"
            if not has_wheels
            else f"the wheelhouse does not fit the {arch} host: {'; '.join(found[:10])}. "
            f"Run `infra/host/build-wheelhouse.sh {arch}` and `pulumi up` again (docs/DEPLOY.md)"
        )


def build(settings: Settings | None = None) -> dict[str, Any]:
    """Declare every resource; returns the components (tests inspect them)."""
    settings = settings or current_settings()
    name = settings.name

    network = Network(f"{name}-network", settings)
    monitoring = Monitoring(f"{name}-monitoring", settings)
    landing = LandingBucket(f"{name}-landing", settings)
    database: ManagedDatabase | None = None
    if settings.rds:
        database = ManagedDatabase(
            f"{name}-db",
            settings,
            vpc_id=network.vpc_id,
            host_security_group_id=network.security_group.id,
        )
    secrets = DatabaseSecrets(
        f"{name}-secrets",
        settings,
        host=database.instance.address if database else "127.0.0.1",
    )
    check_wheelhouse(settings)
    built = build_bundle(default_out_dir(), wheels=wheelhouse_dir())
    bundle = CodeBundle(f"{name}-code", settings, built)
    identity = HostIdentity(
        f"{name}-identity",
        settings,
        # rds: also the RDS-managed master user secret, which bootstrap connects with
        secret_arns={**secrets.arns, "admin": database.master_secret_arn}
        if database
        else secrets.arns,
        bundle_object_arn=bundle.object_arn,
        log_group_arn=monitoring.log_group.arn,
        landing_bucket_arn=landing.bucket.arn,
    )
    hba_cidrs = settings.allowed_cidrs + (
        (network.vpc_cidr,) if settings.allowed_security_group_ids else ()
    )
    arns = secrets.arns

    def user_data(volume_id: pulumi.Output[str]) -> pulumi.Output[str]:
        return pulumi.Output.all(
            bundle.uri,
            volume_id,
            arns["etl"],
            arns["fdw_reader"],
            arns["runner"],
            arns["bi"],
            landing.bucket.id,
            database.instance.address if database else "",
            database.master_secret_arn if database else "",
        ).apply(
            lambda v: render_user_data(
                HostEnv(
                    stack=settings.stack,
                    region=settings.region,
                    bundle_uri=v[0],
                    bundle_sha256=built.sha256,
                    data_volume_id=v[1],
                    # rds: the client tools' major (psql, pg_dump) follows the RDS engine
                    postgres_major=settings.rds_engine_major
                    if settings.rds
                    else settings.postgres_major,
                    business_timezone=settings.business_timezone,
                    run_time=settings.run_time,
                    hba_cidrs=hba_cidrs,
                    source_db=settings.source_db,
                    metrics_db=settings.metrics_db,
                    etl_secret_id=v[2],
                    fdw_reader_secret_id=v[3],
                    runner_secret_id=v[4],
                    bi_secret_id=v[5],
                    security_updates=settings.security_updates,
                    landing_bucket=v[6],
                    database=settings.database,
                    db_host=v[7],
                    admin_secret_id=v[8],
                )
            )
        )

    host = DatabaseHost(
        f"{name}-host",
        settings,
        subnet_id=network.subnet_id,
        availability_zone=network.availability_zone,
        security_group_id=network.security_group.id,
        instance_profile=identity.instance_profile.name,
        user_data=user_data,
        opts=pulumi.ResourceOptions(depends_on=[bundle, identity, *network.endpoints]),
    )
    backups: VolumeBackups | None = None
    if settings.snapshot_retention_days > 0 and host.data_volume is not None:
        backups = VolumeBackups(f"{name}-backup", settings, volume_arn=host.data_volume.arn)
    command = MetricsCommand(f"{name}-ops", settings)
    github: GitHubAccess | None = None
    if settings.github_enabled:
        github = GitHubAccess(
            f"{name}-github",
            settings,
            document_arn=command.document.arn,
            instance_arn=host.instance.arn,
        )

    pulumi.export("instance_id", host.instance.id)
    pulumi.export("private_ip", host.instance.private_ip)
    pulumi.export("secret_arns", arns)
    pulumi.export("runner_secret_arn", arns["runner"])
    pulumi.export("ssm_document_name", command.document.name)
    pulumi.export("github_role_arn", github.role.arn if github else None)
    pulumi.export("data_volume_id", host.data_volume.id if host.data_volume else None)
    pulumi.export("database", settings.database)
    pulumi.export("db_endpoint", database.instance.address if database else None)
    pulumi.export("db_master_secret_arn", database.master_secret_arn if database else None)
    pulumi.export(
        "bi_replica_endpoint",
        database.replica.address if database and database.replica else None,
    )
    pulumi.export("security_group_id", network.security_group.id)
    pulumi.export("bundle_uri", bundle.uri)
    pulumi.export("bundle_sha256", built.sha256)
    pulumi.export("region", settings.region)
    pulumi.export("alert_topic_arn", monitoring.topic.arn)
    pulumi.export("landing_bucket", landing.bucket.id)
    pulumi.export("landing_incoming_uri", landing.incoming_uri)
    pulumi.export("landing_uploader_policy_arn", landing.uploader.arn)
    pulumi.export("log_group", log_group_name(settings))
    # GitHub's ssm mode finds the host by the tag revops:stack=<this> (METRICS_STACK).
    pulumi.export("stack", settings.stack)
    return {
        "settings": settings,
        "network": network,
        "secrets": secrets,
        "bundle": bundle,
        "identity": identity,
        "host": host,
        "command": command,
        "backups": backups,
        "database": database,
        "monitoring": monitoring,
        "landing": landing,
        "github": github,
    }
