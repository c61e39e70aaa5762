-- metrics.log_run_days: writes the run_log rows of one engine call, one per metric day, and for
-- a call that recomputed whole days, records them in metrics.computed_days.
-- Grain: one run_log row per day of any table in p_table_days.
-- Inputs: p_table_days {fact table: [days it recomputed]} (the days of a range call are the
-- same for every table; a change-driven call recomputes each table on its own days);
-- p_status 'succeeded' (rows_written: the stored rows per recomputed table of the day,
-- settings fingerprint, what the run consumed), or 'failed' / 'skipped' with p_error.
-- p_whole_days: every fact table was recomputed on these days, so they are computed under the
-- current settings (metrics.computed_days; metrics.run_due and sync_lead_state rely on it).
-- Why one function: metrics.run_metrics_range and metrics.run_metrics_days log the same way.
CREATE OR REPLACE FUNCTION metrics.log_run_days(
    p_table_days jsonb,
    p_status text,
    p_trigger text,
    p_code_version text,
    p_host text,
    p_started_at timestamptz,
    p_consumption jsonb DEFAULT NULL,
    p_error text DEFAULT NULL,
    p_whole_days boolean DEFAULT false
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_fingerprint text;
BEGIN
    IF p_status <> 'succeeded' THEN
        INSERT INTO metrics.run_log (
            metric_date, status, trigger, host, started_at, finished_at, error_text, code_version
        )
        SELECT
            x.metric_date, p_status, p_trigger, p_host, p_started_at, clock_timestamp(),
            p_error, p_code_version
        FROM (
            SELECT DISTINCT d.metric_day::date AS metric_date
            FROM jsonb_each(p_table_days) AS t (key, value)
            CROSS JOIN LATERAL jsonb_array_elements_text(t.value) AS d (metric_day)
        ) AS x
        ORDER BY 1;
        RETURN;
    END IF;

    v_fingerprint := metrics.settings_fingerprint();
    WITH
    per_day AS (
        SELECT d.metric_day::date AS metric_date, array_agg(t.key) AS tables
        FROM jsonb_each(p_table_days) AS t (key, value)
        CROSS JOIN LATERAL jsonb_array_elements_text(t.value) AS d (metric_day)
        GROUP BY 1
    ),

    logged AS (
        INSERT INTO metrics.run_log (
            metric_date, status, trigger, host, started_at, finished_at, rows_written,
            code_version, settings_fingerprint, changes_consumed, changed_from, changed_to
        )
        SELECT
            p.metric_date,
            'succeeded',
            p_trigger,
            p_host,
            p_started_at,
            clock_timestamp(),
            -- rows per recomputed table (a change-driven call may recompute only some)
            jsonb_strip_nulls(jsonb_build_object(
                'daily_lead_funnel', (
                    SELECT count(*) FROM metrics.daily_lead_funnel AS f
                    WHERE f.metric_date = p.metric_date
                    HAVING 'daily_lead_funnel' = ANY(p.tables)
                ),
                'rep_daily_activity', (
                    SELECT count(*) FROM metrics.rep_daily_activity AS a
                    WHERE a.metric_date = p.metric_date
                    HAVING 'rep_daily_activity' = ANY(p.tables)
                ),
                'rep_daily_pipeline', (
                    SELECT count(*) FROM metrics.rep_daily_pipeline AS r
                    WHERE r.metric_date = p.metric_date
                    HAVING 'rep_daily_pipeline' = ANY(p.tables)
                ),
                'lead_stage_snapshot', (
                    SELECT count(*) FROM metrics.lead_stage_snapshot AS s
                    WHERE s.metric_date = p.metric_date
                    HAVING 'lead_stage_snapshot' = ANY(p.tables)
                )
            )),
            p_code_version,
            v_fingerprint,
            (p_consumption ->> 'changes_consumed')::bigint,
            (p_consumption ->> 'changed_from')::date,
            (p_consumption ->> 'changed_to')::date
        FROM per_day AS p
        ORDER BY p.metric_date
        RETURNING metric_date, finished_at, run_id
    )

    INSERT INTO metrics.computed_days (metric_date, settings_fingerprint, computed_at, run_id)
    SELECT l.metric_date, v_fingerprint, l.finished_at, l.run_id
    FROM logged AS l
    WHERE p_whole_days
    ON CONFLICT (metric_date) DO UPDATE
    SET
        settings_fingerprint = excluded.settings_fingerprint,
        computed_at = excluded.computed_at,
        run_id = excluded.run_id;
END
$$;
COMMENT ON FUNCTION metrics.log_run_days(
    jsonb, text, text, text, text, timestamptz, jsonb, text, boolean
) IS
'Writes one run_log row per day of an engine call (and computed_days for whole days).';
