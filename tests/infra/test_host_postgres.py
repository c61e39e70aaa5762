"""The host's PostgreSQL configuration, rendered by infra/host/revops-host-setup.sh, on a real
server: `revops bootstrap` over 127.0.0.1 with scram, then each role can reach exactly what
pg_hba.conf lets it reach, TLS works, and the FDW reads through its password-checked mapping.

The server must be built with OpenSSL (the embedded wheel is not), so this uses `--pg-bin` when
given, else the system PostgreSQL under /usr/lib/postgresql (Debian package postgresql-15, which
.ci/run installs); it fails when there is none.

Two test-only differences from the host, both because this server has no Unix socket and must
not take port 5432: the superuser connects over 127.0.0.1 with scram (on the host: `local ...
peer`), and `port`/`unix_socket_directories` are overridden after the rendered file.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from revops import config
from revops.bootstrap import bootstrap
from revops.embedded import LocalCluster

pytestmark = pytest.mark.db

SETUP = Path(__file__).resolve().parents[2] / "infra" / "host" / "revops-host-setup.sh"
SOURCE_DB = "revops_host_training"
METRICS_DB = "revops_host_metrics"
ADMIN_LINE = "host     all             postgres                  127.0.0.1/32     scram-sha-256\n"


def _render(function: str, *args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["bash", "-c", f'source "{SETUP}"; {function} "$@"', "bash", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    ).stdout


def _chown(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _ssl_bin_dir(option: str) -> Path:
    if option:
        return Path(option)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    assert found, "needs a PostgreSQL with SSL: apt-get install postgresql-15 (or --pg-bin DIR)"
    return found[-1].parent


@pytest.fixture(scope="module")
def host_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    home = Path(tempfile.mkdtemp(prefix="revops-host-test-"))
    bin_dir = _ssl_bin_dir(request.config.getoption("--pg-bin"))
    cluster = LocalCluster(home / "pgdata", bin_dir, fast=True)
    cluster.init()
    data = cluster.data_dir
    user = (cluster.state() or {}).get("os_user")
    hba = _render("render_pg_hba", SOURCE_DB, METRICS_DB, "10.20.0.0/16")
    (data / "pg_hba.conf").write_text(hba + ADMIN_LINE)
    _render("ensure_tls", str(data))
    conf = _render("render_postgresql_conf", "127.0.0.1")
    conf += f"port = {cluster.port}\nunix_socket_directories = ''\n"
    (data / "host-revops.conf").write_text(conf)
    with (data / "postgresql.conf").open("a") as fh:
        fh.write("include_if_exists = 'host-revops.conf'\n")
    for name in ("pg_hba.conf", "server.crt", "server.key", "host-revops.conf"):
        _chown(data / name, user)
    cluster.start()
    env = {k: v for k, v in os.environ.items() if k not in config.LIBPQ_VARS}
    env.pop("REVOPS_DSN", None)
    env.update(
        {"REVOPS_HOME": str(home), "REVOPS_SOURCE_DB": SOURCE_DB, "REVOPS_METRICS_DB": METRICS_DB}
    )
    try:
        bootstrap(env=env)
        yield env
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


def _connect(env: dict[str, str], role: str, dbname: str, **extra: str) -> psycopg.Connection:
    home = config.revops_home(env)
    port = LocalCluster(home / "pgdata").port
    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        user=role,
        dbname=dbname,
        password=config.role_password(role, home, env),
        connect_timeout=10,
        autocommit=True,
        **extra,
    )


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        ("revops_fdw_reader", SOURCE_DB, METRICS_DB),
        ("revops_etl", SOURCE_DB, METRICS_DB),
        ("revops_runner", METRICS_DB, SOURCE_DB),
        ("revops_bi", METRICS_DB, SOURCE_DB),
    ],
)
def test_each_role_reaches_only_its_database(
    host_env: dict[str, str], role: str, allowed: str, denied: str
) -> None:
    with _connect(host_env, role, allowed) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry"):
        _connect(host_env, role, denied)


def test_passwords_are_checked_with_scram(host_env: dict[str, str]) -> None:
    home = config.revops_home(host_env)
    port = LocalCluster(home / "pgdata").port
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="revops_runner",
            dbname=METRICS_DB,
            password="not-the-password",
            connect_timeout=10,
        )
    with _connect(host_env, "revops_runner", METRICS_DB) as conn:
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)


def test_tls_is_on(host_env: dict[str, str]) -> None:
    with _connect(host_env, "revops_bi", METRICS_DB, sslmode="require") as conn:
        row = conn.execute("SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert row.fetchone() == (True,)


def test_fdw_reads_through_the_scram_mapping(host_env: dict[str, str]) -> None:
    # the runner reads the source only through the entry points (as revops_owner's mapping)
    with _connect(host_env, "revops_runner", METRICS_DB) as conn:
        row = conn.execute("SELECT metrics.pending_report() ->> 'pending_changes'").fetchone()
        assert row is not None
        assert int(row[0]) >= 0
