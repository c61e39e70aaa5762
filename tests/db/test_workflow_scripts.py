"""The direct mode of the daily-metrics workflow, for real: its scripts against the test server.

scripts/ci/daily-metrics-direct.sh and freshness.sh run as GitHub Actions runs them (bash, the
inputs in the environment, $GITHUB_STEP_SUMMARY a file), with the test server's environment in
place of the mapped PG_* secrets.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgtest import owner_connection, reset_crm, reset_metrics, role_connection, seed_recent_leads
from revops import config

pytestmark = pytest.mark.db

CI_DIR = Path(__file__).resolve().parents[2] / "scripts" / "ci"


@pytest.fixture(scope="module")
def seeded(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    runner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(runner)
    seed_recent_leads(etl, 59)
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(runner)
        etl.close()
        runner.close()


@pytest.fixture
def gh_env(seeded: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The test server's environment plus what a GitHub Actions step sees."""
    reset_metrics(owner_connection(seeded))
    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    return {
        **seeded,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "REVOPS_PYTHON": sys.executable,
    }


def script(env: dict[str, str], name: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CI_DIR / name)],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def summary(env: dict[str, str]) -> str:
    return Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def run_log(env: dict[str, str]) -> list[tuple[Any, ...]]:
    with owner_connection(env) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT metric_date, status, trigger FROM metrics.run_log ORDER BY run_id"
            )
        ]


def yesterday(env: dict[str, str]) -> dt.date:
    with owner_connection(env) as conn:
        row = conn.execute("SELECT metrics.business_today() - 1").fetchone()
    assert row is not None
    return row[0]


def test_daily_run_then_fresh(gh_env: dict[str, str]) -> None:
    proc = script(gh_env, "daily-metrics-direct.sh", BACKFILL_DAYS="0", RUN_DATE="")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "revops run --trigger github --json" in proc.stdout
    log = run_log(gh_env)
    assert log, "the daily run computed nothing"
    assert {(status, trigger) for _, status, trigger in log} == {("succeeded", "github")}
    assert max(day for day, _, _ in log) == yesterday(gh_env)
    assert "## ✅ Daily metrics run (direct): succeeded" in summary(gh_env)

    proc = script(gh_env, "freshness.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "metrics are fresh" in proc.stdout
    text = summary(gh_env)
    assert "## ✅ Metrics are fresh" in text
    assert f"| newest successful day | {yesterday(gh_env)} |" in text
    assert "### Tables" in text
    assert "### Recent runs" in text


def test_one_day(gh_env: dict[str, str]) -> None:
    proc = script(gh_env, "daily-metrics-direct.sh", RUN_DATE="2025-06-02")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_log(gh_env) == [(dt.date(2025, 6, 2), "succeeded", "github")]
    assert "Metrics run of 2025-06-02 (direct): succeeded" in summary(gh_env)


def test_backfill(gh_env: dict[str, str]) -> None:
    proc = script(gh_env, "daily-metrics-direct.sh", BACKFILL_DAYS="45")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "revops backfill --days 45 --trigger github --json" in proc.stdout
    log = run_log(gh_env)
    last = yesterday(gh_env)
    assert [day for day, _, _ in log] == [last - dt.timedelta(days=n) for n in range(44, -1, -1)]
    assert {(status, trigger) for _, status, trigger in log} == {("succeeded", "github")}
    text = summary(gh_env)
    assert "## ✅ Backfill of the last 45 day(s) (direct): succeeded" in text
    assert "covering 45 day(s); 0 failed" in text


def test_freshness_fails_the_job_when_stale(gh_env: dict[str, str]) -> None:
    # Only an old day was computed: the newest successful day is far behind yesterday.
    proc = script(gh_env, "daily-metrics-direct.sh", RUN_DATE="2025-06-02")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = script(gh_env, "freshness.sh")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "::error title=Metrics are stale::newest successful day 2025-06-02" in proc.stdout
    text = summary(gh_env)
    assert "## ❌ Metrics are STALE" in text
    assert "| newest successful day | 2025-06-02 |" in text
    assert "| allowed lag | 2 day(s) |" in text

    # The threshold from the repository variable METRICS_MAX_LAG_DAYS.
    proc = script(gh_env, "freshness.sh", MAX_LAG_DAYS="100000")
    assert proc.returncode == 2
    assert "METRICS_MAX_LAG_DAYS must be a whole number" in proc.stderr
    proc = script(gh_env, "freshness.sh", MAX_LAG_DAYS="9999")
    assert proc.returncode == 2
    assert "from 0 to 3650" in proc.stderr
    proc = script(gh_env, "freshness.sh", MAX_LAG_DAYS="3650")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_run_at_all_is_stale(gh_env: dict[str, str]) -> None:
    proc = script(gh_env, "freshness.sh")
    assert proc.returncode == 3
    assert "| newest successful day | none |" in summary(gh_env)
    assert "no successful run at all" in summary(gh_env)


def test_bad_input_changes_nothing(gh_env: dict[str, str]) -> None:
    for bad in ("1; rm -rf /", "-3", "3651", "ten"):
        proc = script(gh_env, "daily-metrics-direct.sh", BACKFILL_DAYS=bad)
        assert proc.returncode == 2
        assert "backfill_days must be" in proc.stderr
    assert run_log(gh_env) == []


def test_a_failed_day_fails_the_script(gh_env: dict[str, str]) -> None:
    # A day after today is refused by revops itself (exit 2), before any run.
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    proc = script(gh_env, "daily-metrics-direct.sh", RUN_DATE=tomorrow)
    assert proc.returncode == 2
    assert "revops exited 2" in proc.stderr
    assert "failed (exit 2)" in summary(gh_env)


def test_secrets_are_required_in_the_workflow(gh_env: dict[str, str]) -> None:
    proc = script(gh_env, "daily-metrics-direct.sh", REVOPS_REQUIRE_PG_SECRETS="true")
    assert proc.returncode == 2
    assert "direct mode needs the repository secrets PG_HOST" in proc.stderr
    proc = script(gh_env, "daily-metrics-direct.sh", PG_HOST="db.example.invalid", PG_USER="u")
    assert proc.returncode == 2
    assert "PG_PASSWORD is empty" in proc.stderr


def test_tls_is_required_for_the_mapped_secrets(gh_env: dict[str, str]) -> None:
    """The PG_* secrets become libpq variables with sslmode=require: the test server has no TLS,
    so the connection is refused (exit 4) although host, port and password are right, and a
    weaker PGSSLMODE is rejected outright. The password appears in no output."""
    target = config.role_target("revops_runner", gh_env)
    if target.kind != "embedded":
        pytest.skip("needs the embedded test server (known host, port and password, no TLS)")
    secrets = {
        "PG_HOST": target.params["host"],
        "PG_PORT": target.params["port"],
        "PG_USER": "revops_runner",
        "PG_PASSWORD": target.params["password"],
        "PG_DATABASE": config.metrics_db_name(gh_env),
    }
    proc = script(gh_env, "daily-metrics-direct.sh", **secrets)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "SSL" in proc.stderr
    assert "cannot connect to PostgreSQL" in proc.stderr
    assert secrets["PG_PASSWORD"] not in proc.stdout + proc.stderr + summary(gh_env)

    proc = script(gh_env, "freshness.sh", **secrets, PGSSLMODE="prefer")
    assert proc.returncode == 2
    assert "must use TLS" in proc.stderr
    assert run_log(gh_env) == []

    # With the CA certificate secret the mode is verify-full (still no TLS here: exit 4).
    proc = script(
        gh_env,
        "freshness.sh",
        **secrets,
        PG_SSLROOTCERT="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
