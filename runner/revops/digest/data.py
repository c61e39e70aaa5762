"""The numbers of the daily digest, read through the BI read path (role ``revops_bi``).

Every number is computed by the SELECTs below, over the views and facts ``revops_bi`` may read
(``metrics.bi_daily_totals``, ``daily_lead_funnel``, ``rep_daily_activity``,
``rep_daily_pipeline``, ``dim_rep``, ``dim_date``, ``bi_pipeline_freshness``,
``data_quality``); Python only shapes the rows into a JSON-ready dict. All of it is read in one
read-only REPEATABLE READ transaction, so the page shows one snapshot of the facts.

Windows, for a digest day D:
- the day: D itself;
- "previous 7 days" / "previous 28 days": D-7 .. D-1 and D-28 .. D-1, averaged per computed
  day (days before the first computed day, or gaps no run computed, are left out and counted:
  ``prev_7d_days`` says how many days the average holds);
- top reps: the 7 days ending D (D-6 .. D), without the Unassigned (queue) bucket, ranked by
  revenue won, then pipeline created, then activities, then name;
- funnel and trend charts: the 28 days ending D (D-27 .. D).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import IsolationLevel

from revops.exitcodes import scrub

Conn = psycopg.Connection[tuple[object, ...]]

# The measures of the headline, in page order (the names are bi_daily_totals columns).
MEASURES = (
    "new_leads",
    "sqls",
    "opportunities_created",
    "pipeline_amount_created",
    "closed_won_opportunities",
    "revenue_won",
    "total_activities",
    "calls",
    "emails",
    "meetings",
)

# One snapshot of the calendar: yesterday and today in the business time zone (dim_date's
# relative labels), and the computed range of the facts.
CONTEXT_SQL = """
SELECT
    (SELECT dd.metric_date FROM metrics.dim_date AS dd WHERE dd.is_yesterday) AS yesterday,
    (SELECT dd.metric_date FROM metrics.dim_date AS dd WHERE dd.days_ago = 0) AS business_today,
    (
        SELECT min(t.metric_date) FROM metrics.bi_daily_totals AS t WHERE t.is_computed
    ) AS first_computed_date,
    (
        SELECT max(t.metric_date) FROM metrics.bi_daily_totals AS t WHERE t.is_computed
    ) AS last_computed_date,
    coalesce((
        SELECT t.is_computed FROM metrics.bi_daily_totals AS t WHERE t.metric_date = %(day)s
    ), false) AS is_day_computed,
    now() AS generated_at
"""

# The day against the previous 7 and 28 days: one row per measure.
HEADLINE_SQL = """
WITH
totals AS (
    SELECT t.*
    FROM metrics.bi_daily_totals AS t
    WHERE t.metric_date BETWEEN %(day)s::date - 28 AND %(day)s::date
),

measures AS (
    SELECT
        t.metric_date,
        t.is_computed,
        m.measure_order,
        m.measure,
        m.measure_value
    FROM totals AS t
    CROSS JOIN LATERAL (
        VALUES
        (1, 'new_leads', t.new_leads::numeric),
        (2, 'sqls', t.sqls::numeric),
        (3, 'opportunities_created', t.opportunities_created::numeric),
        (4, 'pipeline_amount_created', t.pipeline_amount_created),
        (5, 'closed_won_opportunities', t.closed_won_opportunities::numeric),
        (6, 'revenue_won', t.revenue_won),
        (7, 'total_activities', t.total_activities::numeric),
        (8, 'calls', t.calls::numeric),
        (9, 'emails', t.emails::numeric),
        (10, 'meetings', t.meetings::numeric)
    ) AS m (measure_order, measure, measure_value)
),

windows AS (
    SELECT
        m.measure_order,
        m.measure,
        sum(m.measure_value) FILTER (
            WHERE m.metric_date = %(day)s AND m.is_computed
        ) AS day_value,
        sum(m.measure_value) FILTER (
            WHERE m.is_computed AND m.metric_date >= %(day)s::date - 7
            AND m.metric_date < %(day)s
        ) AS prev_7d_total,
        count(*) FILTER (
            WHERE m.is_computed AND m.metric_date >= %(day)s::date - 7
            AND m.metric_date < %(day)s
        ) AS prev_7d_days,
        sum(m.measure_value) FILTER (
            WHERE m.is_computed AND m.metric_date < %(day)s
        ) AS prev_28d_total,
        count(*) FILTER (
            WHERE m.is_computed AND m.metric_date < %(day)s
        ) AS prev_28d_days
    FROM measures AS m
    GROUP BY m.measure_order, m.measure
),

averaged AS (
    SELECT
        w.*,
        w.prev_7d_total / nullif(w.prev_7d_days, 0) AS prev_7d_avg,
        w.prev_28d_total / nullif(w.prev_28d_days, 0) AS prev_28d_avg
    FROM windows AS w
)

SELECT
    a.measure,
    a.day_value,
    a.prev_7d_total,
    a.prev_7d_days,
    round(a.prev_7d_avg, 2) AS prev_7d_avg,
    round(100 * (a.day_value - a.prev_7d_avg) / nullif(a.prev_7d_avg, 0), 1)
        AS change_vs_7d_pct,
    a.prev_28d_total,
    a.prev_28d_days,
    round(a.prev_28d_avg, 2) AS prev_28d_avg,
    round(100 * (a.day_value - a.prev_28d_avg) / nullif(a.prev_28d_avg, 0), 1)
        AS change_vs_28d_pct
FROM averaged AS a
ORDER BY a.measure_order
"""

# The 28 days ending D, for the trend charts (NULL on days no run computed: a gap, not a 0).
SERIES_SQL = """
SELECT
    t.metric_date,
    t.is_computed,
    CASE WHEN t.is_computed THEN t.new_leads END AS new_leads,
    CASE WHEN t.is_computed THEN t.sqls END AS sqls,
    CASE WHEN t.is_computed THEN t.opportunities_created END AS opportunities_created,
    CASE WHEN t.is_computed THEN t.total_activities END AS total_activities,
    CASE WHEN t.is_computed THEN t.pipeline_amount_created END AS pipeline_amount_created,
    CASE WHEN t.is_computed THEN t.revenue_won END AS revenue_won
FROM metrics.bi_daily_totals AS t
WHERE t.metric_date BETWEEN %(day)s::date - 27 AND %(day)s::date
ORDER BY t.metric_date
"""

# Top reps over the 7 days ending D, with the day's own numbers beside them.
TOP_REPS_SQL = """
WITH
daily AS (
    SELECT
        a.metric_date,
        a.rep_id,
        a.total_activities::bigint AS total_activities,
        0::bigint AS opportunities_created,
        0::numeric AS pipeline_amount_created,
        0::bigint AS closed_won_opportunities,
        0::numeric AS revenue_won
    FROM metrics.rep_daily_activity AS a
    WHERE a.metric_date BETWEEN %(day)s::date - 6 AND %(day)s::date
    UNION ALL
    SELECT
        p.metric_date,
        p.rep_id,
        0,
        p.opportunities_created,
        p.pipeline_amount_created,
        p.closed_won_opportunities,
        p.revenue_won
    FROM metrics.rep_daily_pipeline AS p
    WHERE p.metric_date BETWEEN %(day)s::date - 6 AND %(day)s::date
),

per_rep AS (
    SELECT
        d.rep_id,
        sum(d.revenue_won) AS revenue_won_7d,
        sum(d.closed_won_opportunities)::bigint AS closed_won_opportunities_7d,
        sum(d.pipeline_amount_created) AS pipeline_amount_created_7d,
        sum(d.opportunities_created)::bigint AS opportunities_created_7d,
        sum(d.total_activities)::bigint AS total_activities_7d,
        coalesce(sum(d.revenue_won) FILTER (WHERE d.metric_date = %(day)s), 0) AS revenue_won_day,
        coalesce(sum(d.total_activities) FILTER (WHERE d.metric_date = %(day)s), 0)::bigint
            AS total_activities_day
    FROM daily AS d
    GROUP BY d.rep_id
),

ranked AS (
    SELECT
        pr.*,
        coalesce(r.rep_name, 'Unknown') AS rep_name,
        coalesce(r.rep_kind, 'unknown') AS rep_kind,
        row_number() OVER (
            ORDER BY
                pr.revenue_won_7d DESC, pr.pipeline_amount_created_7d DESC,
                pr.total_activities_7d DESC, coalesce(r.rep_name, 'Unknown'), pr.rep_id
        ) AS rep_rank
    FROM per_rep AS pr
    LEFT JOIN metrics.dim_rep AS r
        ON pr.rep_id = r.rep_id
    WHERE coalesce(r.rep_kind, 'unknown') <> 'unassigned'
)

SELECT
    rk.rep_rank,
    rk.rep_id,
    rk.rep_name,
    rk.rep_kind,
    -- owners missing from crm.reps are all 'Unknown': their Id tells them apart
    CASE
        WHEN rk.rep_kind = 'unknown' THEN rk.rep_name || ' (' || rk.rep_id || ')'
        ELSE rk.rep_name
    END AS rep_label,
    rk.revenue_won_7d,
    rk.closed_won_opportunities_7d,
    rk.pipeline_amount_created_7d,
    rk.opportunities_created_7d,
    rk.total_activities_7d,
    rk.revenue_won_day,
    rk.total_activities_day
FROM ranked AS rk
WHERE rk.rep_rank <= %(top)s
ORDER BY rk.rep_rank
"""

# The funnel over the 28 days ending D, per lead source and in total (rates as in
# metrics.bi_funnel_conversion: ratios of the window's counts, 4 decimals, NULL on 0).
FUNNEL_SQL = """
WITH
windowed AS (
    SELECT
        f.lead_source,
        grouping(f.lead_source) = 1 AS is_total,
        sum(f.new_leads)::bigint AS new_leads,
        sum(f.sqls)::bigint AS sqls,
        sum(f.opportunities_created)::bigint AS opportunities_created
    FROM metrics.daily_lead_funnel AS f
    WHERE f.metric_date BETWEEN %(day)s::date - 27 AND %(day)s::date
    GROUP BY ROLLUP (f.lead_source)
)

SELECT
    w.is_total,
    CASE WHEN w.is_total THEN 'All sources' ELSE w.lead_source END AS lead_source,
    w.new_leads,
    w.sqls,
    w.opportunities_created,
    round(w.sqls::numeric / nullif(w.new_leads, 0), 4) AS lead_to_sql_rate,
    round(w.opportunities_created::numeric / nullif(w.sqls, 0), 4) AS sql_to_opportunity_rate,
    round(w.opportunities_created::numeric / nullif(w.new_leads, 0), 4)
        AS lead_to_opportunity_rate
FROM windowed AS w
WHERE w.is_total OR w.new_leads + w.sqls + w.opportunities_created > 0
ORDER BY w.is_total DESC, w.new_leads DESC, w.opportunities_created DESC, w.lead_source
"""

FRESHNESS_SQL = """
SELECT
    f.table_name,
    f.last_metric_date,
    f.lag_days,
    f.max_lag_days,
    f.is_stale,
    f.last_run_status,
    f.last_run_at
FROM metrics.bi_pipeline_freshness AS f
ORDER BY f.table_name = 'run_log' DESC, f.table_name
"""

DATA_QUALITY_SQL = """
SELECT
    q.check_name,
    q.severity,
    q.affected_count,
    q.sample_ids,
    q.description
FROM metrics.data_quality AS q
ORDER BY
    q.affected_count = 0,
    CASE q.severity WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END,
    q.check_name
"""


class DayNotOver(ValueError):
    """The asked day is today or later in the business time zone: it has no complete facts."""


def _plain(value: object) -> object:
    """A database value as JSON can hold it (Decimal -> int or float, dates -> ISO text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _rows(conn: Conn, query: str, params: Mapping[str, object]) -> list[dict[str, object]]:
    cursor = conn.execute(query, params)
    names = [c.name for c in cursor.description or []]
    return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def collect(conn: Conn, day: dt.date | None = None, top: int = 5) -> dict[str, Any]:
    """Everything the page shows, for ``day`` (default: yesterday in the business time zone).

    Raises :class:`DayNotOver` for a day after yesterday. A day no run computed is not an error
    here: ``is_day_computed`` is false and ``missing`` says what is missing.
    """
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    with conn.transaction():
        probe = _rows(conn, CONTEXT_SQL, {"day": day})[0]
        yesterday = dt.date.fromisoformat(str(probe["yesterday"]))
        the_day = day or yesterday
        if the_day > yesterday:
            raise DayNotOver(
                f"{the_day} is not over yet in the business time zone (the newest complete day"
                f" is {yesterday})"
            )
        context = _rows(conn, CONTEXT_SQL, {"day": the_day})[0]
        params: dict[str, object] = {"day": the_day, "top": top}
        digest: dict[str, Any] = {
            "day": the_day.isoformat(),
            "is_default_day": day is None,
            **context,
            "headline": _rows(conn, HEADLINE_SQL, params),
            "series": _rows(conn, SERIES_SQL, params),
            "top_reps": _rows(conn, TOP_REPS_SQL, params),
            "funnel": _rows(conn, FUNNEL_SQL, params),
            "freshness": _rows(conn, FRESHNESS_SQL, params),
            "data_quality": None,
            "data_quality_error": None,
        }
        try:
            with conn.transaction():  # a savepoint: the source may be unreachable
                digest["data_quality"] = _rows(conn, DATA_QUALITY_SQL, params)
        except psycopg.Error as exc:
            digest["data_quality_error"] = scrub(str(exc)).strip()
    digest["missing"] = missing(digest)
    return digest


def missing(digest: Mapping[str, Any]) -> list[str]:
    """What the page cannot show, in words (empty when the day is complete)."""
    notes: list[str] = []
    if digest["last_computed_date"] is None:
        notes.append(
            "no metric day has been computed yet: run `revops run` or `revops backfill --days N`"
        )
    elif not digest["is_day_computed"]:
        notes.append(
            f"{digest['day']} has not been computed (computed days:"
            f" {digest['first_computed_date']} .. {digest['last_computed_date']}, with gaps"
            f" possible): run `revops run --date {digest['day']}`"
        )
    if digest["data_quality_error"]:
        notes.append(f"the data-quality checks could not be read: {digest['data_quality_error']}")
    return notes
