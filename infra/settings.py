"""Stack configuration: every key, its safe default, and its validation.

Only `aws:region` is required. Keys live in the project namespace (`pulumi config set
revops-metrics:instance_type t3.medium`, or just `pulumi config set instance_type t3.medium`).
Lists (allowed_cidrs, allowed_security_group_ids) are set as JSON or comma-separated strings,
or with `pulumi config set --path 'allowed_cidrs[0]' 10.0.0.0/16`.

| key | default | meaning |
|---|---|---|
| instance_type | t3.small | EC2 type; a Graviton type (t4g, m7g, ...) switches the AMI and wheels to arm64 |
| ami_id | latest Amazon Linux 2023 | pin an AMI; unset = newest AL2023 at first `up` (later AMIs are ignored) |
| postgres_major | 16 | PostgreSQL major from the AL2023 repositories (15, 16, 17 or 18) |
| data_volume_size_gib | 20 | gp3 data volume for PGDATA (grow it later; never shrink) |
| root_volume_size_gib | 16 | encrypted gp3 root volume |
| snapshot_retention_days | 7 | daily DLM snapshots of the data volume kept (0 = no snapshots) |
| data_volume_snapshot_id | unset | restore: a new data volume from this snapshot (docs/DEPLOY.md) |
| vpc_id / subnet_id | default VPC, its lowest default subnet whose zone offers the instance type and the endpoint services | where the host lives |
| allowed_cidrs | none | CIDRs that may reach 5432 (TLS + scram); none = no ingress rule at all |
| allowed_security_group_ids | none | security groups that may reach 5432 |
| associate_public_ip | false | give the host a public IPv4 address (EC2.9: leave off) |
| create_vpc_endpoints | true | interface endpoints (SSM, Secrets Manager) + S3 gateway endpoint |
| ec2messages_endpoint | true | also the EC2 messages interface endpoint (SSM Agent before 3.3.40 needs it) |
| s3_endpoint_id | unset (create) | reuse the VPC's S3 gateway endpoint (it must serve the subnet's route table) |
| business_timezone | UTC | the metrics' business time zone, also the timer's |
| run_time | 06:30 | daily run time (HH:MM, business time zone) |
| github_repository | unset (off) | owner/name allowed to run the metrics through SSM via OIDC |
| github_branch | main | the branch of that repository allowed to assume the role |
| github_oidc_provider_arn | unset (create) | reuse the account's existing GitHub OIDC provider |
| security_updates | true | dnf-automatic installs security updates daily on the host |
| alert_email | unset | e-mail address subscribed to the alarms' SNS topic (confirm the link AWS sends) |
| log_retention_days | 30 | retention of the host's CloudWatch log group (a CloudWatch Logs value) |
| landing_processed_retention_days | 90 | processed CRM exports in the landing bucket expire after this |
| secret_recovery_window_days | 7 | Secrets Manager recovery window on delete (0 = immediately) |
| source_db / metrics_db | revops_training / revops_metrics | database names |
| database | ec2 | `ec2`: PostgreSQL on the host's data volume; `rds`: Amazon RDS for PostgreSQL, the host only runs `revops` |
| rds_engine_major | 17 | RDS PostgreSQL major (16, 17 or 18) |
| rds_instance_class | db.t4g.small | RDS instance class |
| rds_storage_gib | 20 | encrypted gp3 storage of the RDS instance |
| rds_backup_retention_days | 7 | automated backups (point-in-time recovery) kept, 1..35 |
| rds_multi_az | false | a synchronous standby in a second zone |
| bi_replica | false | a read replica for BI; its endpoint is the output `bi_replica_endpoint` |
| db_subnet_ids | the VPC's subnets | private subnets (two zones or more) of the RDS subnet group |
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

POSTGRES_MAJORS = (15, 16, 17, 18)
RDS_MAJORS = (16, 17, 18)
DATABASE_MODES = ("ec2", "rds")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_DB_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z]+)(?P<gen>\d+)(?P<attrs>[a-z-]*)\.[a-z0-9]+$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]+$")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SG_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
_SNAPSHOT_ID = re.compile(r"^snap-[0-9a-f]{8,17}$")
_EMAIL = re.compile(r"^[^@\s,;'\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
_VPCE_ID = re.compile(r"^vpce-[0-9a-f]{8,17}$")
_RUN_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class SettingsError(ValueError):
    """A stack config value is invalid (the message names the key)."""


@dataclass(frozen=True)
class Settings:
    """Validated stack configuration (see the module docstring for each key)."""

    stack: str
    region: str
    instance_type: str = "t3.small"
    ami_id: str | None = None
    postgres_major: int = 16
    data_volume_size_gib: int = 20
    root_volume_size_gib: int = 16
    snapshot_retention_days: int = 7
    data_volume_snapshot_id: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    allowed_cidrs: tuple[str, ...] = ()
    allowed_security_group_ids: tuple[str, ...] = ()
    associate_public_ip: bool = False
    create_vpc_endpoints: bool = True
    ec2messages_endpoint: bool = True
    s3_endpoint_id: str | None = None
    business_timezone: str = "UTC"
    run_time: str = "06:30"
    github_repository: str | None = None
    github_branch: str = "main"
    github_oidc_provider_arn: str | None = None
    security_updates: bool = True
    alert_email: str | None = None
    log_retention_days: int = 30
    landing_processed_retention_days: int = 90
    secret_recovery_window_days: int = 7
    source_db: str = "revops_training"
    metrics_db: str = "revops_metrics"
    database: str = "ec2"
    rds_engine_major: int = 17
    rds_instance_class: str = "db.t4g.small"
    rds_storage_gib: int = 20
    rds_backup_retention_days: int = 7
    rds_multi_az: bool = False
    bi_replica: bool = False
    db_subnet_ids: tuple[str, ...] = ()

    @property
    def rds(self) -> bool:
        """The database is Amazon RDS (the host keeps no PostgreSQL and no data volume)."""
        return self.database == "rds"

    @property
    def name(self) -> str:
        """Prefix of every physical resource name: revops-<stack>."""
        return f"revops-{self.stack}"

    def bucket_prefix(self, purpose: str) -> str:
        """An S3 bucket name prefix for `purpose`: lowercase letters, digits and hyphens only.

        Stack names may hold `_`, `.` and capitals, which S3 refuses (or, for dots, breaks TLS
        virtual hosting); Pulumi appends a 26-character suffix, so the prefix is at most 37.
        """
        raw = f"{self.name}-{purpose}-".lower()
        cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", raw))
        return cleaned[:37]

    @property
    def architecture(self) -> str:
        """EC2 architecture of the instance type: arm64 for Graviton (t4g, m7g, ...)."""
        match = _INSTANCE_TYPE.match(self.instance_type)
        if match and "g" in match.group("attrs"):
            return "arm64"
        return "x86_64"

    @property
    def github_enabled(self) -> bool:
        return self.github_repository is not None


def _as_list(raw: str | None, key: str) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return ()
    text = raw.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise SettingsError(f"{key}: not a JSON list") from exc
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{key}: must be a list of strings")
        items = [v.strip() for v in value]
    else:
        items = [v.strip() for v in text.split(",")]
    return tuple(v for v in items if v)


def _as_bool(raw: str | None, key: str, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise SettingsError(f"{key}: expected true or false, got {raw!r}")


def _as_int(raw: str | None, key: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{key}: expected an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{key}: {value} is outside {low}..{high}")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise SettingsError(f"allowed_cidrs: {value!r} is not a network address/prefix") from exc
    if network.prefixlen == 0:
        raise SettingsError(
            f"allowed_cidrs: {value} would open PostgreSQL to the whole internet; "
            "use SSM port forwarding or list your networks"
        )
    return str(network)


def load_settings(get: Callable[[str], str | None], *, stack: str, region: str) -> Settings:
    """Build `Settings` from a raw getter (pulumi.Config.get, or a dict's get in tests)."""
    if not region:
        raise SettingsError("aws:region is not set: pulumi config set aws:region us-east-1")
    instance_type = (get("instance_type") or "t3.small").strip()
    if not _INSTANCE_TYPE.match(instance_type):
        raise SettingsError(f"instance_type: {instance_type!r} is not an EC2 instance type")
    major = _as_int(get("postgres_major"), "postgres_major", 16, 0, 99)
    if major not in POSTGRES_MAJORS:
        raise SettingsError(f"postgres_major: {major} not in {POSTGRES_MAJORS} (AL2023 packages)")
    alert_email = (get("alert_email") or "").strip() or None
    if alert_email is not None and not _EMAIL.match(alert_email):
        raise SettingsError(f"alert_email: {alert_email!r} is not an e-mail address")
    log_retention = _as_int(get("log_retention_days"), "log_retention_days", 30, 1, 3653)
    if log_retention not in LOG_RETENTION_DAYS:
        raise SettingsError(
            f"log_retention_days: {log_retention} is not a CloudWatch Logs retention "
            f"({', '.join(map(str, LOG_RETENTION_DAYS))})"
        )
    snapshot_id = (get("data_volume_snapshot_id") or "").strip() or None
    if snapshot_id is not None and not _SNAPSHOT_ID.match(snapshot_id):
        raise SettingsError(f"data_volume_snapshot_id: {snapshot_id!r} is not an EBS snapshot id")
    s3_endpoint_id = (get("s3_endpoint_id") or "").strip() or None
    if s3_endpoint_id is not None and not _VPCE_ID.match(s3_endpoint_id):
        raise SettingsError(f"s3_endpoint_id: {s3_endpoint_id!r} is not a VPC endpoint id")
    timezone = (get("business_timezone") or "UTC").strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"business_timezone: unknown time zone {timezone!r}") from exc
    run_time = (get("run_time") or "06:30").strip()
    if not _RUN_TIME.match(run_time):
        raise SettingsError(f"run_time: expected HH:MM (24h), got {run_time!r}")
    repository = (get("github_repository") or "").strip() or None
    if repository is not None and not _REPO.match(repository):
        raise SettingsError(f"github_repository: expected owner/name, got {repository!r}")
    branch = (get("github_branch") or "main").strip()
    if not _BRANCH.match(branch) or "*" in branch:
        raise SettingsError(f"github_branch: {branch!r} is not a plain branch name")
    groups = _as_list(get("allowed_security_group_ids"), "allowed_security_group_ids")
    for group in groups:
        if not _SG_ID.match(group):
            raise SettingsError(f"allowed_security_group_ids: {group!r} is not a security group id")
    databases = {}
    for key, default in (("source_db", "revops_training"), ("metrics_db", "revops_metrics")):
        value = (get(key) or default).strip()
        if not _DB_NAME.match(value):
            raise SettingsError(f"{key}: {value!r} is not a plain lowercase identifier")
        databases[key] = value
    recovery = _as_int(get("secret_recovery_window_days"), "secret_recovery_window_days", 7, 0, 30)
    if 0 < recovery < 7:
        raise SettingsError("secret_recovery_window_days: 0 or 7..30 (Secrets Manager limits)")
    database = (get("database") or "ec2").strip().lower()
    if database not in DATABASE_MODES:
        raise SettingsError(f"database: {database!r} is not one of {', '.join(DATABASE_MODES)}")
    rds_major = _as_int(get("rds_engine_major"), "rds_engine_major", 17, 0, 99)
    if rds_major not in RDS_MAJORS:
        raise SettingsError(f"rds_engine_major: {rds_major} not in {RDS_MAJORS}")
    rds_class = (get("rds_instance_class") or "db.t4g.small").strip()
    if not _DB_CLASS.match(rds_class):
        raise SettingsError(f"rds_instance_class: {rds_class!r} is not an RDS instance class")
    db_subnets = _as_list(get("db_subnet_ids"), "db_subnet_ids")
    for subnet in db_subnets:
        if not _SUBNET_ID.match(subnet):
            raise SettingsError(f"db_subnet_ids: {subnet!r} is not a subnet id")
    if len(db_subnets) == 1:
        raise SettingsError("db_subnet_ids: RDS needs subnets in at least two zones")
    return Settings(
        stack=stack,
        region=region,
        instance_type=instance_type,
        ami_id=(get("ami_id") or "").strip() or None,
        postgres_major=major,
        data_volume_size_gib=_as_int(
            get("data_volume_size_gib"), "data_volume_size_gib", 20, 1, 16384
        ),
        root_volume_size_gib=_as_int(
            get("root_volume_size_gib"), "root_volume_size_gib", 16, 8, 1024
        ),
        snapshot_retention_days=_as_int(
            get("snapshot_retention_days"), "snapshot_retention_days", 7, 0, 1000
        ),
        data_volume_snapshot_id=snapshot_id,
        vpc_id=(get("vpc_id") or "").strip() or None,
        subnet_id=(get("subnet_id") or "").strip() or None,
        allowed_cidrs=tuple(_cidr(c) for c in _as_list(get("allowed_cidrs"), "allowed_cidrs")),
        allowed_security_group_ids=groups,
        associate_public_ip=_as_bool(get("associate_public_ip"), "associate_public_ip", False),
        create_vpc_endpoints=_as_bool(get("create_vpc_endpoints"), "create_vpc_endpoints", True),
        ec2messages_endpoint=_as_bool(get("ec2messages_endpoint"), "ec2messages_endpoint", True),
        s3_endpoint_id=s3_endpoint_id,
        business_timezone=timezone,
        run_time=run_time,
        github_repository=repository,
        github_branch=branch,
        github_oidc_provider_arn=(get("github_oidc_provider_arn") or "").strip() or None,
        security_updates=_as_bool(get("security_updates"), "security_updates", True),
        alert_email=alert_email,
        log_retention_days=log_retention,
        landing_processed_retention_days=_as_int(
            get("landing_processed_retention_days"), "landing_processed_retention_days", 90, 1, 3650
        ),
        secret_recovery_window_days=recovery,
        source_db=databases["source_db"],
        metrics_db=databases["metrics_db"],
        database=database,
        rds_engine_major=rds_major,
        rds_instance_class=rds_class,
        rds_storage_gib=_as_int(get("rds_storage_gib"), "rds_storage_gib", 20, 20, 65536),
        rds_backup_retention_days=_as_int(
            get("rds_backup_retention_days"), "rds_backup_retention_days", 7, 1, 35
        ),
        rds_multi_az=_as_bool(get("rds_multi_az"), "rds_multi_az", False),
        bi_replica=_as_bool(get("bi_replica"), "bi_replica", False),
        db_subnet_ids=db_subnets,
    )
