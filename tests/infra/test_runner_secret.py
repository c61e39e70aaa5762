"""The host's runner path end to end, minus EC2: `revops run --trigger systemd` in a subprocess,
with only REVOPS_DB_SECRET_ID, reading its database password from Secrets Manager served by a
moto server (AWS_ENDPOINT_URL), and running a day against the session's real PostgreSQL.

The environment is the one /etc/revops/runner.env gives the unit (region, secret ARN, database
names), plus fake AWS credentials and the endpoint. The local password store is not reachable
(REVOPS_HOME points at an empty directory), so the password can only come from the secret.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from revops import config
from toolpaths import dev_tool

pytestmark = pytest.mark.db

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def _runner_secret(endpoint: str, name: str, value: dict[str, Any]) -> str:
    client = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])


def _unit_env(pg_env: dict[str, str], endpoint: str, arn: str, tmp_path: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TZ")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(_aws_env(endpoint))
    env.update(
        {
            "REVOPS_DB_SECRET_ID": arn,
            "REVOPS_SOURCE_DB": config.source_db_name(pg_env),
            "REVOPS_METRICS_DB": config.metrics_db_name(pg_env),
            "REVOPS_HOME": str(tmp_path / "empty-home"),
            "HOME": str(tmp_path),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _revops() -> list[str]:
    """The console script of this interpreter's environment (never another one on PATH)."""
    return [dev_tool("revops")]


def _runner_secret_value(pg_env: dict[str, str], password: str) -> dict[str, Any]:
    target = config.role_target("revops_runner", pg_env)
    return {
        "host": target.params.get("host", "127.0.0.1"),
        "port": int(target.params.get("port", 5432)),
        "dbname": config.metrics_db_name(pg_env),
        "username": "revops_runner",
        "password": password,
    }


def test_runner_reads_password_from_secrets_manager(
    pg_env: dict[str, str], moto_endpoint: str, tmp_path: Path
) -> None:
    home = config.revops_home(pg_env)
    password = config.role_password("revops_runner", home, pg_env)
    value = _runner_secret_value(pg_env, password)
    arn = _runner_secret(moto_endpoint, "revops-test/revops_runner", value)
    env = _unit_env(pg_env, moto_endpoint, arn, tmp_path)
    result = subprocess.run(
        [*_revops(), "run", "--trigger", "systemd", "--date", "2024-03-10", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    admin = config.admin_target(pg_env)
    from revops.db import connect

    with connect(admin, config.metrics_db_name(pg_env)) as conn:
        row = conn.execute(
            "SELECT status, trigger FROM metrics.run_log"
            " WHERE metric_date = DATE '2024-03-10' ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
    assert row == ("succeeded", "systemd")


def test_wrong_password_in_the_secret_fails_without_leaking(
    pg_env: dict[str, str], moto_endpoint: str, tmp_path: Path
) -> None:
    wrong = "WrongPassword0123456789abcdefXYZ"
    value = _runner_secret_value(pg_env, wrong)
    arn = _runner_secret(moto_endpoint, "revops-test/revops_runner-wrong", value)
    env = _unit_env(pg_env, moto_endpoint, arn, tmp_path)
    result = subprocess.run(
        [*_revops(), "run", "--trigger", "systemd", "--date", "2024-03-11"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    assert wrong not in result.stdout + result.stderr


def test_missing_secret_is_a_clear_error(
    pg_env: dict[str, str], moto_endpoint: str, tmp_path: Path
) -> None:
    env = _unit_env(pg_env, moto_endpoint, "revops-test/does-not-exist", tmp_path)
    result = subprocess.run(
        [*_revops(), "run", "--trigger", "systemd", "--date", "2024-03-12"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    assert "revops-test/does-not-exist" in result.stderr
