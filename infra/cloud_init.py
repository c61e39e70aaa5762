"""cloud-init user data of the host (pure: rendered from plain values, unit-tested).

User data is stored in clear text in the Pulumi state and readable by anything on the host
through IMDS, so it holds no secret: only names (secret ARNs, S3 object, volume id) and settings.
It writes /etc/revops/host.env and a small fetch script, then runs that script once, which
downloads the stack's code bundle, checks its sha256 and runs infra/host/revops-host-setup.sh
from it (install PostgreSQL, prepare the data volume, configure TLS/scram/pg_hba, install the
code, `revops bootstrap`, install and start the timer). Every step is idempotent: running the
fetch script again, or rebooting, changes nothing.

EC2 accepts at most 16 KiB of user data; the renderer checks it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

HOST_DIR = Path(__file__).resolve().parent / "host"
FETCH_SCRIPT = HOST_DIR / "revops-fetch-bundle.sh"
USER_DATA_LIMIT = 16 * 1024
# "!": RDS-managed secret names (rds!db-...); every value is single-quoted by shlex.quote
_SAFE = re.compile(r"^[A-Za-z0-9_./:@+,=!-]*$")


@dataclass(frozen=True)
class HostEnv:
    """Every value the host setup needs; written to /etc/revops/host.env (no secret)."""

    stack: str
    region: str
    bundle_uri: str
    bundle_sha256: str
    data_volume_id: str
    postgres_major: int
    business_timezone: str
    run_time: str
    hba_cidrs: tuple[str, ...]
    source_db: str
    metrics_db: str
    etl_secret_id: str
    fdw_reader_secret_id: str
    runner_secret_id: str
    bi_secret_id: str
    security_updates: bool = True
    landing_bucket: str = ""  # revops-run ingests s3://<it>/incoming/ before each daily run
    # database: rds: no local PostgreSQL; bootstrap as the RDS master user (its secret's ARN)
    database: str = "ec2"
    db_host: str = ""
    admin_secret_id: str = ""

    def lines(self) -> list[str]:
        """KEY=value lines, shell-safe (the file is sourced by bash)."""
        values = asdict(self)
        values["hba_cidrs"] = " ".join(self.hba_cidrs)
        values["security_updates"] = "true" if self.security_updates else "false"
        names = {
            "stack": "REVOPS_STACK",
            "region": "AWS_REGION",
            "bundle_uri": "REVOPS_BUNDLE_URI",
            "bundle_sha256": "REVOPS_BUNDLE_SHA256",
            "data_volume_id": "REVOPS_DATA_VOLUME_ID",
            "postgres_major": "REVOPS_PG_MAJOR",
            "business_timezone": "REVOPS_BUSINESS_TIMEZONE",
            "run_time": "REVOPS_RUN_TIME",
            "hba_cidrs": "REVOPS_HBA_CIDRS",
            "source_db": "REVOPS_SOURCE_DB",
            "metrics_db": "REVOPS_METRICS_DB",
            "etl_secret_id": "REVOPS_ETL_SECRET_ID",
            "fdw_reader_secret_id": "REVOPS_FDW_READER_SECRET_ID",
            "runner_secret_id": "REVOPS_RUNNER_SECRET_ID",
            "bi_secret_id": "REVOPS_BI_SECRET_ID",
            "security_updates": "REVOPS_SECURITY_UPDATES",
            "landing_bucket": "REVOPS_LANDING_BUCKET",
            "database": "REVOPS_DATABASE",
            "db_host": "REVOPS_DB_HOST",
            "admin_secret_id": "REVOPS_ADMIN_SECRET_ID",
        }
        out = []
        for field, env_name in names.items():
            value = str(values[field])
            if "\n" in value or not _SAFE.match(value.replace(" ", "")):
                raise ValueError(f"host.env: {env_name} has characters outside the safe set")
            out.append(f"{env_name}={shlex.quote(value)}")
        return out


def _block(text: str, indent: int) -> str:
    pad = " " * indent
    return "\n".join(pad + line if line else "" for line in text.splitlines())


def render_user_data(env: HostEnv) -> str:
    """The #cloud-config document (YAML) for the host."""
    host_env = "\n".join(
        [
            "# Written by cloud-init from the Pulumi stack. No secret: names and settings only.",
            *env.lines(),
        ]
    )
    fetch = FETCH_SCRIPT.read_text()
    text = f"""#cloud-config
# RevOps metrics PostgreSQL host, stack {env.stack}. Holds no secret (user data is readable
# through IMDS and stored in clear text in the Pulumi state): passwords are read from Secrets
# Manager by the instance role. Code: {env.bundle_uri} (sha256 {env.bundle_sha256}).
write_files:
  - path: /etc/revops/host.env
    owner: root:root
    permissions: '0644'
    content: |
{_block(host_env, 6)}
  - path: /usr/local/sbin/revops-fetch-bundle
    owner: root:root
    permissions: '0755'
    content: |
{_block(fetch, 6)}
runcmd:
  - [/usr/local/sbin/revops-fetch-bundle]
"""
    size = len(text.encode())
    if size > USER_DATA_LIMIT:
        raise ValueError(f"user data is {size} bytes, over the EC2 limit of {USER_DATA_LIMIT}")
    return text
