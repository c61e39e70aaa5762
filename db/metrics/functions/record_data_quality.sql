-- metrics.record_data_quality: the checks `revops check` runs: every row of the view
-- metrics.data_quality plus two reconciliations of the facts with the source over the recent
-- computed days (setting reconcile_days, ending yesterday), kept in
-- metrics.data_quality_history and returned.
-- * reconcile_new_leads: days whose new_leads (all sources) differ from the leads the source
--   says were created that business day;
-- * reconcile_revenue_won: days whose revenue_won (all reps) differs from the source's won
--   amounts closing that day.
-- Both are counted again from the source on purpose, independently of the refresh functions:
-- a difference means the facts are stale (a change not consumed yet) or an engine bug.
-- Grain: one row per check. Returns the findings (severity: info, warning, error).
-- Why a function and not in the view: the window is a pair of parameters, so postgres_fdw can
-- send the day filters to the source (a view would compare with now() locally).
CREATE OR REPLACE FUNCTION metrics.record_data_quality(p_trigger text DEFAULT 'manual')
RETURNS TABLE (
    check_name text,
    severity text,
    affected_count bigint,
    sample_ids text [],
    description text
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_tz text := metrics.business_timezone();
    v_last date := metrics.business_today() - 1;
    v_first date;
    v_start timestamptz;
    v_end timestamptz;
    v_checked_at timestamptz := clock_timestamp();
BEGIN
    IF p_trigger IS NULL OR p_trigger NOT IN ('systemd', 'github', 'manual', 'backfill') THEN
        RAISE EXCEPTION 'trigger must be systemd, github, manual or backfill (got %)',
            coalesce(p_trigger, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_first := v_last - greatest((metrics.setting('reconcile_days') #>> '{}')::integer, 1) + 1;
    v_start := v_first::timestamp AT TIME ZONE v_tz;
    v_end := (v_last + 1)::timestamp AT TIME ZONE v_tz;

    CREATE TEMPORARY TABLE pg_temp.recorded_checks ON COMMIT DROP AS
    WITH
    recent AS (
        SELECT c.metric_date
        FROM metrics.computed_days AS c
        WHERE c.metric_date BETWEEN v_first AND v_last
    ),

    source_new_leads AS MATERIALIZED (
        SELECT d.created_date AS metric_date, count(*) AS lead_count
        FROM crm_remote.lead_days AS d
        WHERE d.created_at >= v_start AND d.created_at < v_end
        GROUP BY 1
    ),

    fact_new_leads AS (
        SELECT f.metric_date, sum(f.new_leads) AS lead_count
        FROM metrics.daily_lead_funnel AS f
        WHERE f.metric_date BETWEEN v_first AND v_last
        GROUP BY 1
    ),

    new_lead_days AS (
        SELECT r.metric_date
        FROM recent AS r
        LEFT JOIN source_new_leads AS s ON r.metric_date = s.metric_date
        LEFT JOIN fact_new_leads AS f ON r.metric_date = f.metric_date
        WHERE coalesce(s.lead_count, 0) <> coalesce(f.lead_count, 0)
    ),

    source_won AS MATERIALIZED (
        SELECT o.close_date AS metric_date, sum(coalesce(o.amount, 0)) AS amount
        FROM crm_remote.opportunities AS o
        WHERE
            NOT o.is_deleted
            AND o.close_date BETWEEN v_first AND v_last
            AND (
                o.is_won
                OR (
                    o.is_won IS NULL
                    AND regexp_replace(lower(o.stage_name), '[^a-z]', '', 'g') = 'closedwon'
                )
            )
        GROUP BY 1
    ),

    fact_won AS (
        SELECT p.metric_date, sum(p.revenue_won) AS amount
        FROM metrics.rep_daily_pipeline AS p
        WHERE p.metric_date BETWEEN v_first AND v_last
        GROUP BY 1
    ),

    won_days AS (
        SELECT r.metric_date
        FROM recent AS r
        LEFT JOIN source_won AS s ON r.metric_date = s.metric_date
        LEFT JOIN fact_won AS f ON r.metric_date = f.metric_date
        WHERE coalesce(s.amount, 0) <> coalesce(f.amount, 0)
    )

    SELECT q.check_name, q.severity, q.affected_count, q.sample_ids, q.description
    FROM metrics.data_quality AS q
    UNION ALL
    SELECT
        'reconcile_new_leads',
        'error',
        (SELECT count(*) FROM new_lead_days),
        ARRAY(SELECT n.metric_date::text FROM new_lead_days AS n ORDER BY 1 LIMIT 5),
        'recent days whose new_leads differ from the leads the source created that day'
    UNION ALL
    SELECT
        'reconcile_revenue_won',
        'error',
        (SELECT count(*) FROM won_days),
        ARRAY(SELECT w.metric_date::text FROM won_days AS w ORDER BY 1 LIMIT 5),
        'recent days whose revenue_won differs from the won amounts the source closed that day';

    INSERT INTO metrics.data_quality_history (
        checked_at, check_name, severity, affected_count, sample_ids, last_run_id, trigger
    )
    SELECT
        v_checked_at, c.check_name, c.severity, c.affected_count,
        coalesce(c.sample_ids, '{}'), (SELECT max(r.run_id) FROM metrics.run_log AS r), p_trigger
    FROM pg_temp.recorded_checks AS c;

    RETURN QUERY
    SELECT c.check_name, c.severity, c.affected_count, c.sample_ids, c.description
    FROM pg_temp.recorded_checks AS c;
    DROP TABLE pg_temp.recorded_checks;
END
$$;
COMMENT ON FUNCTION metrics.record_data_quality(text) IS
'Runs the data-quality checks and the recent reconciliations, records and returns the findings.';
