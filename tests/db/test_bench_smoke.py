"""`revops bench` end to end on a tiny scale: every measure runs against the current SQL (a
renamed function or a broken late-change statement fails here, not in a user's benchmark), the
late changes really change something, and verify finds the maintained facts exact after the
whole cycle. Timings are printed by the benchmark, never asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgtest import owner_connection, reset_crm, reset_metrics, role_connection
from revops import config
from revops.bench import run_benchmark

pytestmark = pytest.mark.db


def test_bench_runs_every_measure_and_verifies(pg_env: dict[str, str], tmp_path: Path) -> None:
    lines: list[str] = []
    try:
        report = run_benchmark(
            pg_env,
            scale=0.005,
            repeats=1,
            loop_samples=2,
            days=30,
            out_dir=tmp_path,
            progress=lines.append,
        )
    finally:
        with role_connection(pg_env, "revops_etl", config.source_db_name(pg_env)) as etl:
            reset_crm(etl)
        with owner_connection(pg_env) as owner:
            reset_metrics(owner)
    assert (tmp_path / "bench-scale-0.005.json").is_file()
    assert report["verify"] == {"days": 30, "differing": 0, "seconds": report["verify"]["seconds"]}
    typical = report["typical_day"]
    assert typical["records"] > 1000 and typical["changes_consumed"] > 0
    assert typical["lead_state"]["leads"] > 0 and not typical["lead_state"]["rebuilt"]
    late = report["late_changes"]
    # the status logged two years late moves one lead's status on every backfilled day
    assert late["status_history_2_years_back"]["leads_rederived"] == 1
    assert late["status_history_2_years_back"]["lead_fact_rows_moved"] == 2 * 30
    assert late["deal_won_200_days_back"]["changes_consumed"] >= 1
    assert set(report["ratios_to_full_read"]) >= {
        "backfill",
        "daily_run",
        "daily_run_new_session",
        "run_after_typical_day",
    }
    assert any(line.startswith("the same in a new session: ") for line in lines)
    assert any(line.startswith("verify ") for line in lines)
