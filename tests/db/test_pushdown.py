"""EXPLAIN evidence that each fact table's per-day counts are aggregated in the source database,
and that the lead facts read only the leads a day of changes names.

postgres_fdw decides per query whether to ship an aggregate; the metric functions are written
so that it does (plain-column GROUP BYs over source views, MATERIALIZED CTEs). If a change stops
that, backfills silently go back to pulling every row through the FDW: this test shows it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgtest import (
    admin_connection,
    owner_connection,
    reset_crm,
    reset_metrics,
    role_connection,
    set_timezone,
)
from revops import config
from revops.bench import remote_sql_evidence, remote_sql_of
from revops.synthetic.load import load_synthetic

pytestmark = pytest.mark.db

END = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def generated(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    runner = owner_connection(pg_env)
    reset_crm(etl)
    load_synthetic(etl, scale=0.01, seed=3, end_date=END)
    with admin_connection(pg_env, config.source_db_name(pg_env)) as src:
        src.execute("ANALYZE")
    try:
        yield pg_env
    finally:
        reset_crm(etl)
        reset_metrics(runner)
        etl.close()
        runner.close()


def test_range_aggregates_run_remotely(generated: dict[str, str]) -> None:
    with admin_connection(generated) as admin:
        evidence = remote_sql_evidence(admin, END - dt.timedelta(days=364), END)
    shipped = {
        f: [line for line in lines if line.startswith("Relations: Aggregate on")]
        for f, lines in evidence.items()
    }
    assert any("crm_remote.opportunity_days" in r for r in shipped["refresh_daily_lead_funnel"])
    assert any("crm_remote.activity_days" in r for r in shipped["refresh_rep_daily_activity"]), (
        evidence
    )
    assert any("crm_remote.opportunity_days" in r for r in shipped["refresh_rep_daily_pipeline"])
    # day windows reach the source as timestamp ranges (index-friendly), never as casts
    remote = [line for lines in evidence.values() for line in lines if "Remote SQL" in line]
    assert any("created_at >= " in line for line in remote)
    assert not any(
        re.search(r"(created_at|activity_at)\)*::date|AT TIME ZONE", line) for line in remote
    )


def test_a_day_set_is_one_remote_aggregate_per_table(generated: dict[str, str]) -> None:
    """Days with gaps between them (what a day of late changes touches) are recomputed in one
    pass per table: one aggregate query per source, with one index-friendly range per run of
    adjacent days, not one query per day or per run."""
    days = [END - dt.timedelta(days=n) for n in (300, 120, 119, 2)]  # three runs of days
    with admin_connection(generated) as admin:
        evidence = remote_sql_of(
            admin,
            {
                function: (
                    sql.SQL("SELECT {}(%s::date[])").format(sql.Identifier("metrics", function)),
                    (days,),
                )
                for function in (
                    "refresh_rep_daily_pipeline_days",
                    "refresh_rep_daily_activity_days",
                    "refresh_funnel_opportunities",
                )
            },
        )
    for function, source in (
        ("refresh_rep_daily_pipeline_days", "opportunity_days"),
        ("refresh_rep_daily_activity_days", "activity_days"),
        ("refresh_funnel_opportunities", "opportunity_days"),
    ):
        lines = evidence[function]
        aggregates = [
            i
            for i, line in enumerate(lines)
            if line.startswith("Relations: Aggregate on") and f"crm_remote.{source} " in line
        ]
        assert len(aggregates) == 1, lines
        remote = lines[aggregates[0] + 1]
        assert remote.count("created_at >= ") == 3, remote
    # the won deals: one query, one close_date range per run of days
    won = [
        line
        for line in evidence["refresh_rep_daily_pipeline_days"]
        if "FROM crm.opportunities " in line
    ]
    assert len(won) == 1 and won[0].count("close_date >= ") == 3, won


LEAD_RELATIONS = (
    "leads", "lead_status_history", "lead_first_changes", "lead_status_lag",
    "lead_status_segments",
)  # fmt: skip


def lead_reads(remote: list[str]) -> list[str]:
    """The Remote SQL lines that read a lead relation of the source."""
    return [
        line
        for line in remote
        if "Remote SQL" in line
        and any(
            f"crm.{table} " in line or line.endswith(f"crm.{table}") for table in LEAD_RELATIONS
        )
    ]


def test_lead_facts_read_only_the_changed_leads(generated: dict[str, str]) -> None:
    """Once the lead state is built, a run re-derives only the leads the change log names, with
    ONE query to the source: the status segments of those leads, filtered on their Ids, feed
    both the lead rows (qualification) and the segment rows; no other lead table is scanned (no
    aggregate over every lead, no window over every history row). A rebuild reads every lead
    with one query too."""
    with owner_connection(generated) as owner:
        owner.execute("SELECT metrics.sync_lead_state()")  # the first build reads every lead
    with role_connection(generated, "revops_etl", config.source_db_name(generated)) as etl:
        etl.execute(
            "UPDATE crm.leads SET status = 'Working', last_modified_at = now()"
            " WHERE lead_id IN (SELECT lead_id FROM crm.leads ORDER BY created_at LIMIT 3)"
        )
    with admin_connection(generated) as admin:
        evidence = remote_sql_of(
            admin,
            {
                "sync": (sql.SQL("SELECT metrics.sync_lead_state()"), ()),
                "rebuild": (sql.SQL("SELECT metrics.sync_lead_state(true, false)"), ()),
            },
        )
    reads = lead_reads(evidence["sync"])
    assert len(reads) == 1, evidence
    assert "FROM crm.lead_status_segments WHERE" in reads[0], reads
    assert "lead_id = ANY" in reads[0], reads
    # what the qualification rules need comes with the segments
    for column in ("segment_kind", "old_status", "lead_status", "converted_date", "is_converted"):
        assert column in reads[0], reads
    rebuild = lead_reads(evidence["rebuild"])
    assert len(rebuild) == 1, evidence
    assert "FROM crm.lead_status_segments" in rebuild[0], rebuild
    assert "lead_id = ANY" not in rebuild[0], rebuild


def test_time_zone_change_without_bootstrap_is_refused(
    generated: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    """The source computes days in the zone of the foreign server option, which only bootstrap
    sets (runs never alter the server): a setting changed any other way must not produce rows
    cut at the wrong midnight."""
    with owner_connection(generated) as owner:
        owner.execute("BEGIN")
        try:
            owner.execute("SELECT metrics.refresh_daily_lead_funnel(%s)", (END,))
            owner.execute(
                "UPDATE metrics.settings SET setting_value = '\"Asia/Tokyo\"'"
                " WHERE setting_name = 'business_timezone'"
            )
            with pytest.raises(
                psycopg.errors.ObjectNotInPrerequisiteState, match="source days are in"
            ) as caught:
                owner.execute("SELECT metrics.refresh_daily_lead_funnel(%s)", (END,))
            assert "revops bootstrap --timezone" in (caught.value.diag.message_hint or "")
        finally:
            owner.execute("ROLLBACK")
    # bootstrap's way: the setting and the server option together; new sessions follow it
    set_timezone(generated, "Asia/Tokyo")
    try:
        zone = owner_conn.execute("SELECT metrics.source_timezone()").fetchone()
        assert zone == ("Asia/Tokyo",)
        clock = owner_conn.execute(
            "SELECT business_timezone FROM crm_remote.business_clock"
        ).fetchone()
        assert clock == ("Asia/Tokyo",)
    finally:
        set_timezone(generated, "UTC")
