"""Credentials: one generated password per database role, stored as JSON in Secrets Manager.

(Named credentials, not secrets: `infra/secrets.py` shadowed the standard library's `secrets`
for anything run with infra/ on sys.path.)

Each secret holds `host`, `port`, `dbname`, `username`, `password`: what `revops` needs to
connect (`REVOPS_DB_SECRET_ID`) or to set a role's password at bootstrap
(`REVOPS_<ROLE>_SECRET_ID`). `host` is 127.0.0.1: the address as seen on the database host itself,
and through SSM port forwarding to localhost:5432 on a laptop.

The passwords exist only in Pulumi state as secrets (`random.RandomPassword.result` is a secret
output; the secret string is wrapped again with `Output.secret`) and in Secrets Manager; never
in user data, unit files, process arguments or logs.

Rotation by hand (no rotation Lambda): `pulumi up --replace <RandomPassword URN>` writes a new
secret version; then re-run the host setup through SSM, which re-applies the role passwords and
the FDW user mapping (docs/DEPLOY.md, "Rotate a password").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.settings import Settings


@dataclass(frozen=True)
class DbRole:
    key: str  # REVOPS_<KEY>_SECRET_ID, upper-cased
    username: str
    database: str  # "source" or "metrics"
    description: str


ROLES = (
    DbRole("etl", "revops_etl", "source", "writes crm.* in the source database"),
    DbRole("fdw_reader", "revops_fdw_reader", "source", "read-only role of the FDW mapping"),
    DbRole("runner", "revops_runner", "metrics", "runs the metric functions"),
    DbRole("bi", "revops_bi", "metrics", "reads the metrics facts and views"),
)


def secret_json(
    username: str, dbname: str, password: str, host: str = "127.0.0.1", sslmode: str = ""
) -> str:
    """The JSON stored in each secret: what `revops` needs to connect as that role
    (`database: rds`: the RDS endpoint and sslmode require)."""
    value: dict[str, object] = {
        "host": host,
        "port": 5432,
        "dbname": dbname,
        "username": username,
        "password": password,
    }
    if sslmode:
        value["sslmode"] = sslmode
    return json.dumps(value)


class DatabaseSecrets(pulumi.ComponentResource):
    """Generated role passwords and their Secrets Manager secrets."""

    secrets: dict[str, aws.secretsmanager.Secret]
    passwords: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        settings: Settings,
        host: pulumi.Input[str] = "127.0.0.1",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`host`: where the roles connect (the RDS endpoint with `database: rds`)."""
        super().__init__("revops:infra:DatabaseSecrets", name, None, opts)
        sslmode = "require" if settings.rds else ""
        self.secrets = {}
        self.passwords = {}
        for role in ROLES:
            child = pulumi.ResourceOptions(parent=self)
            password = random.RandomPassword(
                f"{name}-{role.key}",
                length=40,
                # Letters and digits only: ~238 bits, and safe in libpq conninfo strings, JSON,
                # pgpass files and FDW user mapping options without any quoting.
                special=False,
                min_lower=4,
                min_upper=4,
                min_numeric=4,
                opts=child,
            )
            secret = aws.secretsmanager.Secret(
                f"{name}-{role.key}",
                name_prefix=f"{settings.name}/{role.username}-",
                description=f"RevOps {settings.stack}: PostgreSQL role {role.username} "
                f"({role.description}); JSON host, port, dbname, username, password",
                recovery_window_in_days=settings.secret_recovery_window_days,
                tags={"revops:stack": settings.stack, "revops:role": role.username},
                opts=child,
            )
            dbname = settings.source_db if role.database == "source" else settings.metrics_db
            aws.secretsmanager.SecretVersion(
                f"{name}-{role.key}",
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(
                    pulumi.Output.all(role.username, dbname, password.result, host).apply(
                        lambda v: secret_json(str(v[0]), str(v[1]), str(v[2]), str(v[3]), sslmode)
                    )
                ),
                opts=child,
            )
            self.secrets[role.key] = secret
            self.passwords[role.key] = pulumi.Output.secret(password.result)
        self.register_outputs({key: s.arn for key, s in self.secrets.items()})

    @property
    def arns(self) -> dict[str, pulumi.Output[str]]:
        return {key: secret.arn for key, secret in self.secrets.items()}
