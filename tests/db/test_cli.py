"""The `revops` command line, run as a subprocess against the test server (as users run it)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from pgtest import (
    cli,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
    seed_recent_leads,
)
from revops import config, local_secrets

pytestmark = pytest.mark.db


def revops(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = cli(env, *args)
    return result


@pytest.fixture(scope="module")
def cli_env(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    runner = owner_connection(pg_env)
    reset_crm(etl)
    reset_metrics(runner)
    seed_recent_leads(etl, 39)
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(runner)
        etl.close()
        runner.close()


def run_log(env: dict[str, str]) -> list[tuple[Any, ...]]:
    with owner_connection(env) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT metric_date, status, trigger FROM metrics.run_log ORDER BY run_id"
            )
        ]


def test_run_one_day_json(cli_env: dict[str, str]) -> None:
    proc = revops(cli_env, "run", "--date", "2025-06-02", "--trigger", "github", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "succeeded"
    assert [(r["from_date"], r["status"]) for r in result["ranges"]] == [
        ("2025-06-02", "succeeded")
    ]
    assert run_log(cli_env)[-1] == (dt.date(2025, 6, 2), "succeeded", "github")


def test_backfill_in_chunks_with_progress_and_resume(cli_env: dict[str, str]) -> None:
    reset_metrics(owner_connection(cli_env))
    proc = revops(
        cli_env, "backfill", "--from", "2025-06-01", "--to", "2025-06-10", "--chunk-days", "4"
    )
    assert proc.returncode == 0, proc.stderr
    assert "[3/3] 2025-06-09..2025-06-10: succeeded" in proc.stderr
    assert len(run_log(cli_env)) == 10
    proc = revops(cli_env, "backfill", "--from", "2025-06-01", "--to", "2025-06-12", "--resume")
    assert proc.returncode == 0, proc.stderr
    assert "10 of 12 days already done" in proc.stderr
    days = [d for d, _, _ in run_log(cli_env)]
    assert days[-2:] == [dt.date(2025, 6, 11), dt.date(2025, 6, 12)]
    assert all(t == "backfill" for _, _, t in run_log(cli_env))


def test_status_stale_then_fresh_after_daily_run(cli_env: dict[str, str]) -> None:
    reset_metrics(owner_connection(cli_env))
    proc = revops(cli_env, "status", "--json")
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)
    assert report["fresh"] is False
    assert report["last_successful_day"] is None
    assert report["pending"]["ingest_running"] is False
    assert set(report["ingest_batches"]) == {"failed_ingest_batches", "unfinished_ingest_batches"}

    proc = revops(cli_env, "run", "--trigger", "systemd", "--horizon", "5")
    assert proc.returncode == 0, proc.stderr
    # yesterday + 3 lookback days; the 5-day horizon adds the one day before them
    assert "succeeded: 5 days" in proc.stderr
    proc = revops(cli_env, "status")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FRESH" in proc.stdout
    # a second scheduled run recomputes only yesterday: nothing is missing, nothing changed
    # (a computed day is kept exact by the captured changes, not by a lookback window)
    proc = revops(cli_env, "run", "--trigger", "systemd", "--horizon", "5")
    assert "succeeded: 1 days" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("backfill", "--from", "2025-06-10", "--to", "2025-06-01"), "is after"),
        (("backfill", "--from", "2025-06-10"), "--from needs --to"),
        (("backfill", "--days", "0"), "must be between 1 and 36500"),
        (("run", "--date", "2999-01-01"), "after today"),
        (("run", "--date", "yesterday"), "not a date"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    cli_env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    before = run_log(cli_env)
    proc = revops(cli_env, *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert run_log(cli_env) == before


def test_no_password_in_any_output(cli_env: dict[str, str]) -> None:
    secrets = local_secrets.load_local_secrets(config.revops_home(cli_env))
    outputs = [
        revops(cli_env, "status", "--json"),
        revops(cli_env, "run", "--date", "2025-06-03", "-v"),
        revops(cli_env, "bootstrap", "-v"),
    ]
    for proc in outputs:
        for value in secrets.values():
            assert value not in proc.stdout + proc.stderr


def test_cannot_connect_exit_4(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PGHOST": "127.0.0.1", "PGPORT": "1", "PGUSER": "nobody", "PGPASSWORD": "x"}
    proc = revops(env, "status")
    assert proc.returncode == 4
    assert "cannot connect" in proc.stderr


def test_psql_on_embedded_server(cli_env: dict[str, str]) -> None:
    proc = revops(
        cli_env,
        "psql",
        "--role",
        "runner",
        "-At",
        "-c",
        "SELECT (metrics.backfill_date_range('2025-01-01', '2025-01-31'))->>'status'",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "succeeded"
    proc = revops(cli_env, "psql", "-At", "-c", "SELECT count(*) FROM crm_remote.leads")
    assert proc.returncode != 0
    assert "permission denied" in proc.stderr


def test_postgres_computes_the_same_scram_verifier(pg_env: dict[str, str]) -> None:
    from pgtest import admin_connection
    from revops.bootstrap import verifier_matches

    with admin_connection(pg_env) as conn:
        conn.execute("CREATE ROLE revops_scram_probe LOGIN PASSWORD 'correct horse'")
        try:
            row = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = 'revops_scram_probe'"
            ).fetchone()
        finally:
            conn.execute("DROP ROLE revops_scram_probe")
    assert row is not None
    assert verifier_matches(row[0], "correct horse")
    assert not verifier_matches(row[0], "wrong horse")


def test_check_reports_staleness_then_passes(cli_env: dict[str, str]) -> None:
    reset_metrics(owner_connection(cli_env))
    proc = revops(cli_env, "check", "--json")
    assert proc.returncode == 3, proc.stderr
    checks = {c["check_name"]: c["affected_count"] for c in json.loads(proc.stdout)}
    assert checks["stale_metrics"] == 1
    assert checks["unknown_owner"] == 0
    assert revops(cli_env, "run", "--horizon", "1").returncode == 0
    proc = revops(cli_env, "check", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok       stale_metrics" in proc.stdout


def test_check_reconciles_recent_days_and_records_findings(cli_env: dict[str, str]) -> None:
    """After a run the recent facts agree with the source; a fact row that no longer does (as a
    stale or broken engine would leave it) is an error, and every check is recorded."""
    reset_metrics(owner_connection(cli_env))
    assert revops(cli_env, "run", "--horizon", "3").returncode == 0
    proc = revops(cli_env, "check", "--json", "--trigger", "github")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {c["check_name"]: c["affected_count"] for c in json.loads(proc.stdout)}
    assert found["reconcile_new_leads"] == 0 and found["reconcile_revenue_won"] == 0
    with owner_connection(cli_env) as owner:
        (yesterday,) = owner.execute("SELECT metrics.business_today() - 1").fetchone() or (None,)
        owner.execute(
            "UPDATE metrics.daily_lead_funnel SET new_leads = new_leads + 1"
            " WHERE metric_date = %s AND lead_source = 'Web'",
            (yesterday,),
        )
        proc = revops(cli_env, "check", "--json")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        checks = {c["check_name"]: c for c in json.loads(proc.stdout)}
        assert checks["reconcile_new_leads"]["affected_count"] == 1
        assert checks["reconcile_new_leads"]["sample_ids"] == [str(yesterday)]
        assert revops(cli_env, "check", "--fail-on", "never").returncode == 0
        history = owner.execute(
            "SELECT trigger, count(*) FILTER (WHERE check_name = 'reconcile_new_leads'"
            " AND affected_count = 1) FROM metrics.data_quality_history GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert history == [("github", 0), ("manual", 2)]
    # the next run recomputes yesterday and the facts agree again
    assert revops(cli_env, "run", "--horizon", "3").returncode == 0
    assert revops(cli_env, "check").returncode == 0


def test_verify_prints_differing_rows_and_exits_1(cli_env: dict[str, str]) -> None:
    reset_metrics(owner_connection(cli_env))
    assert revops(cli_env, "run", "--horizon", "3").returncode == 0
    proc = revops(cli_env, "verify", "--days", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("verify: 0 differing rows in 3 days")
    with owner_connection(cli_env) as owner:
        (yesterday,) = owner.execute("SELECT metrics.business_today() - 1").fetchone() or (None,)
        owner.execute(
            "UPDATE metrics.lead_stage_snapshot SET lead_count = lead_count + 7"
            " WHERE metric_date = %s",
            (yesterday,),
        )
    proc = revops(cli_env, "verify", "--days", "3", "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["differing"] == 1 and result["by_table"] == {"lead_stage_snapshot": 1}
    (row,) = result["rows"]
    assert row["stored"]["lead_count"] == row["recomputed"]["lead_count"] + 7
    proc = revops(cli_env, "verify", "--days", "3")
    assert proc.returncode == 1 and "lead_stage_snapshot" in proc.stdout
    # verify changes nothing: the tampered row is still there until a run or backfill
    assert revops(cli_env, "verify", "--days", "3").returncode == 1
    assert revops(cli_env, "backfill", "--days", "3").returncode == 0
    assert revops(cli_env, "verify", "--days", "3").returncode == 0
    assert revops(cli_env, "verify", "--from", "2025-01-02").returncode == 2  # needs --to
