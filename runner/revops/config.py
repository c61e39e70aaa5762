"""Where to connect, as which role, and with which password.

Resolution, in order:
1. ``REVOPS_DSN`` or any standard libpq variable (``PGHOST``, ``PGPORT``, ``PGUSER``,
   ``PGPASSWORD``, ``PGSERVICE``): an external server; libpq reads the variables itself.
2. ``REVOPS_DB_SECRET_ID``: a Secrets Manager secret (host, port, dbname, username, password)
   read with the machine's AWS credentials (the EC2 host's instance role).
3. Otherwise the embedded PostgreSQL in the project-local ``.revops/`` directory
   (``REVOPS_HOME`` overrides it), started by ``revops up``.

Role passwords for bootstrap come from ``REVOPS_<ROLE>_SECRET_ID`` (Secrets Manager),
``REVOPS_<ROLE>_PASSWORD``, or are generated once and kept in ``<REVOPS_HOME>/secrets.json``
(mode 0600, :mod:`revops.local_secrets`). They are never logged and never passed on a command
line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revops.local_secrets import load_local_secrets, new_password, save_local_secrets

ROLES = ("revops_etl", "revops_fdw_reader", "revops_runner", "revops_bi")
LIBPQ_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGSERVICE", "PGDATABASE")


class ConfigError(RuntimeError):
    """A configuration problem the user must fix; the message says how."""


def revops_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("REVOPS_HOME") or Path.cwd() / ".revops").resolve()


def source_db_name(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("REVOPS_SOURCE_DB") or "revops_training"


def metrics_db_name(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("REVOPS_METRICS_DB") or "revops_metrics"


@dataclass(frozen=True)
class Target:
    """Connection parameters for one server; None values are left to libpq's defaults/env."""

    kind: str  # "embedded" | "external" | "secret"
    params: dict[str, str] = field(default_factory=dict)
    dsn: str = ""

    def describe(self) -> str:
        """A description safe to log: never includes a password."""
        shown = {k: v for k, v in self.params.items() if k != "password"}
        host = shown.get("host") or os.environ.get("PGHOST", "(libpq default)")
        port = shown.get("port") or os.environ.get("PGPORT", "5432")
        user = shown.get("user") or os.environ.get("PGUSER", "(libpq default)")
        return f"{self.kind} server {host}:{port} as {user}"


def uses_external_server(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("REVOPS_DSN")) or any(env.get(v) for v in LIBPQ_VARS if v != "PGDATABASE")


def _env_key(role: str) -> str:
    return role.removeprefix("revops_").upper()


def role_password(role: str, home: Path, env: Mapping[str, str] | None = None) -> str:
    """The password of an application role (generated and stored locally on first use)."""
    env = os.environ if env is None else env
    key = _env_key(role)
    secret_id = env.get(f"REVOPS_{key}_SECRET_ID")
    if secret_id:
        from revops import aws  # lazy: boto3 is only needed on AWS

        value = aws.get_secret_json(secret_id).get("password")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"secret for {role} has no 'password' field")
        return value
    direct = env.get(f"REVOPS_{key}_PASSWORD")
    if direct:
        return direct
    stored = load_local_secrets(home)
    if role not in stored:
        stored[role] = new_password()
        save_local_secrets(home, stored)
    return stored[role]


def admin_target(env: Mapping[str, str] | None = None) -> Target:
    """The bootstrap connection: ``REVOPS_ADMIN_SECRET_ID`` (a Secrets Manager secret with
    username and password, such as the RDS-managed master user secret; host and port from the
    secret or ``REVOPS_DB_HOST``/``REVOPS_DB_PORT``, ``sslmode`` from ``REVOPS_DB_SSLMODE``),
    else external libpq settings, else the embedded admin (a superuser)."""
    env = os.environ if env is None else env
    secret_id = env.get("REVOPS_ADMIN_SECRET_ID")
    if secret_id:
        from revops import aws

        data: dict[str, Any] = aws.get_secret_json(secret_id)
        params = {
            "host": str(data.get("host") or env.get("REVOPS_DB_HOST") or ""),
            "port": str(data.get("port") or env.get("REVOPS_DB_PORT") or "5432"),
            "user": str(data.get("username") or ""),
            "password": str(data.get("password") or ""),
        }
        if not all(params.values()):
            raise ConfigError(
                "REVOPS_ADMIN_SECRET_ID: the secret needs username and password, and a host "
                "(in the secret or REVOPS_DB_HOST)"
            )
        sslmode = env.get("REVOPS_DB_SSLMODE") or data.get("sslmode")
        if sslmode:
            params["sslmode"] = str(sslmode)
        return Target("secret", params=params)
    if uses_external_server(env):
        return Target("external", dsn=env.get("REVOPS_DSN", ""))
    return _embedded_target(revops_home(env), "postgres")


def role_target(role: str, env: Mapping[str, str] | None = None) -> Target:
    """The connection used for day-to-day work as ``role`` (runner, etl, bi)."""
    env = os.environ if env is None else env
    if uses_external_server(env):
        return Target("external", dsn=env.get("REVOPS_DSN", ""))
    secret_id = env.get("REVOPS_DB_SECRET_ID")
    if secret_id:
        from revops import aws

        data: dict[str, Any] = aws.get_secret_json(secret_id)
        params = {
            "host": str(data.get("host", "")),
            "port": str(data.get("port", "5432")),
            "user": str(data.get("username", "")),
            "password": str(data.get("password", "")),
        }
        if not params["host"] or not params["user"] or not params["password"]:
            raise ConfigError("REVOPS_DB_SECRET_ID secret lacks host, username or password")
        if data.get("sslmode"):
            params["sslmode"] = str(data["sslmode"])
        return Target("secret", params=params)
    home = revops_home(env)
    target = _embedded_target(home, role)
    return Target(target.kind, {**target.params, "password": role_password(role, home, env)})


def _embedded_target(home: Path, user: str) -> Target:
    from revops.embedded import LocalCluster

    cluster = LocalCluster(home / "pgdata")
    state = cluster.state()
    if state is None:
        raise ConfigError(
            f"no embedded PostgreSQL in {home} and no PG* variables set: "
            "run `revops up` (or `invoke up`) first, or point PGHOST/PGPORT/PGUSER/PGPASSWORD "
            "at a server"
        )
    params = {"host": "127.0.0.1", "port": str(state["port"]), "user": user}
    if user == "postgres":
        params["password"] = cluster.admin_password()
    return Target("embedded", params=params)
