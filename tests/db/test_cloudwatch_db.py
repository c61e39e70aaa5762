"""The CloudWatch datapoints of real runs: the JSON that `revops run`, `status` and `check`
print against the test server, turned into metrics by revops.cloudwatch (PutMetricData itself is
tested with moto in tests/unit/test_cloudwatch.py). A failed run, a stale day and a clean run
must each give the values the alarms watch."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pgtest import (
    cli,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
    seed_recent_leads,
    set_setting,
)
from revops import cloudwatch, config

pytestmark = pytest.mark.db
QUALIFIED = ["Qualified", "SQL", "Sales Qualified", "Closed - Converted"]


@pytest.fixture(scope="module")
def recent(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    with (
        role_connection(pg_env, "revops_etl", config.source_db_name(pg_env)) as etl,
        owner_connection(pg_env) as owner,
    ):
        reset_crm(etl)
        reset_metrics(owner)
        seed_recent_leads(etl, 10)
        try:
            yield pg_env
        finally:
            reset_crm(etl)
            reset_metrics(owner)


def values(datums: list[cloudwatch.Datum]) -> dict[str, float]:
    return {d.name + "".join(f"[{v}]" for _, v in d.dimensions): d.value for d in datums}


def test_a_stale_day_then_a_clean_run_then_a_failed_run(recent: dict[str, str]) -> None:
    status = cli(recent, "status", "--json")
    assert status.returncode == 3
    assert values(cloudwatch.status_datums(json.loads(status.stdout)))["Stale"] == 1.0
    check = cli(recent, "check", "--json")
    assert check.returncode == 3
    assert (
        values(cloudwatch.check_datums(json.loads(check.stdout)))["DataQualityFindings[error]"] >= 1
    )

    run = cli(recent, "run", "--horizon", "5", "--json")
    assert run.returncode == 0, run.stderr
    got = values(cloudwatch.run_datums(json.loads(run.stdout), run.returncode))
    assert (got["RunSucceeded"], got["RunFailed"], got["RunSkipped"]) == (1.0, 0.0, 0.0)
    assert got["DaysComputed"] == 5 and got["RowsWritten"] > 0
    status = cli(recent, "status", "--json")
    assert status.returncode == 0
    fresh = values(cloudwatch.status_datums(json.loads(status.stdout)))
    assert fresh == {"Stale": 0.0, "FreshnessLagDays": 0.0}

    with owner_connection(recent) as owner:
        set_setting(owner, "qualified_statuses", "not a list")  # every run now fails
        try:
            run = cli(recent, "run", "--json")
        finally:
            set_setting(owner, "qualified_statuses", QUALIFIED)
    assert run.returncode == 1
    got = values(cloudwatch.run_datums(json.loads(run.stdout), run.returncode))
    assert (got["RunSucceeded"], got["RunFailed"]) == (0.0, 1.0)
