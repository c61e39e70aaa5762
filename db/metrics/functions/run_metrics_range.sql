-- metrics.run_metrics_range: the one engine behind run_daily_metrics and the backfills.
-- Deletes and recomputes metric days p_from_date .. p_to_date in all four fact tables in the
-- caller's transaction, rebuilds the rep dimension (metrics.refresh_dim_rep: so every run and
-- backfill keeps metrics.dim_rep current, renames included; metrics.run_due, which calls this
-- once per range, passes p_refresh_dim_rep false and rebuilds it once at the end), then writes
-- one metrics.run_log row per day (metrics.log_run_days).
--
-- Grain of its log: one run_log row per metric day and attempt.
-- Inputs: the refresh_* functions; p_trigger (systemd | github | manual | backfill), the
-- caller's code version and host for the log, and (from metrics.run_due) what the run consumed
-- and, for a change-driven call, which fact tables to recompute (p_tables; NULL = all four).
-- Every computed day is recorded in metrics.computed_days with the settings fingerprint.
-- Bad arguments raise before anything changes. When another writer holds the metrics lock
-- longer than lock_wait_seconds, every day is logged as 'skipped' with the reason and
-- {"status": "skipped"} is returned (nothing computed, nothing lost: the next run does it).
-- A failure while computing rolls back every fact row of the range (the old rows stay), is
-- logged as 'failed' per day with the error,
-- raised as a WARNING, and returned as {"status": "failed", ...}: the failure row must
-- survive, so the error is caught here rather than re-raised.
CREATE OR REPLACE FUNCTION metrics.run_metrics_range(
    p_from_date date,
    p_to_date date,
    p_trigger text DEFAULT 'manual',
    p_code_version text DEFAULT NULL,
    p_host text DEFAULT NULL,
    p_consumption jsonb DEFAULT NULL,
    p_tables text [] DEFAULT NULL,
    p_refresh_dim_rep boolean DEFAULT true
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_started_at timestamptz := clock_timestamp();
    v_days jsonb;
    v_table_days jsonb;
    v_rows jsonb;
    v_error text;
    v_sqlstate text;
    v_all boolean := p_tables IS NULL;
BEGIN
    PERFORM metrics.check_date_range(p_from_date, p_to_date);
    v_days := (
        SELECT jsonb_agg(d.metric_day::date ORDER BY d.metric_day)
        FROM generate_series(p_from_date, p_to_date, interval '1 day') AS d (metric_day)
    );
    IF p_trigger IS NULL OR p_trigger NOT IN ('systemd', 'github', 'manual', 'backfill') THEN
        RAISE EXCEPTION 'trigger must be systemd, github, manual or backfill (got %)',
            coalesce(p_trigger, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_table_days := (
        SELECT jsonb_object_agg(t.table_name, v_days)
        FROM unnest(coalesce(p_tables, ARRAY[
            'daily_lead_funnel', 'rep_daily_activity', 'rep_daily_pipeline', 'lead_stage_snapshot'
        ])) AS t (table_name)
    );
    IF NOT metrics.lock_metrics() THEN
        v_error := format(
            'another run or backfill held the metrics lock for %s s; nothing was computed',
            metrics.setting('lock_wait_seconds') #>> '{}'
        );
        PERFORM metrics.log_run_days(
            v_table_days, 'skipped', p_trigger, p_code_version, p_host, v_started_at, NULL,
            v_error
        );
        RAISE WARNING 'metrics for % .. % skipped: %', p_from_date, p_to_date, v_error;
        RETURN jsonb_build_object(
            'status', 'skipped', 'from_date', p_from_date, 'to_date', p_to_date,
            'days', p_to_date - p_from_date + 1, 'error', v_error
        );
    END IF;

    BEGIN
        v_rows := jsonb_strip_nulls(jsonb_build_object(
            'daily_lead_funnel', CASE WHEN v_all OR 'daily_lead_funnel' = ANY(p_tables)
                THEN metrics.refresh_daily_lead_funnel(p_from_date, p_to_date) END,
            'rep_daily_activity', CASE WHEN v_all OR 'rep_daily_activity' = ANY(p_tables)
                THEN metrics.refresh_rep_daily_activity(p_from_date, p_to_date) END,
            'rep_daily_pipeline', CASE WHEN v_all OR 'rep_daily_pipeline' = ANY(p_tables)
                THEN metrics.refresh_rep_daily_pipeline(p_from_date, p_to_date) END,
            'lead_stage_snapshot', CASE WHEN v_all OR 'lead_stage_snapshot' = ANY(p_tables)
                THEN metrics.refresh_lead_stage_snapshot(p_from_date, p_to_date) END
        ));
        -- the rep dimension after the rep facts it reads (first and last day per rep); it is
        -- rebuilt whole, so the rows it changed are reported for the run, not per day
        IF p_refresh_dim_rep THEN
            v_rows := v_rows || jsonb_build_object('dim_rep', metrics.refresh_dim_rep());
        END IF;
        -- one run_log row per day; a day is computed once all four tables are
        PERFORM metrics.log_run_days(
            v_table_days, 'succeeded', p_trigger, p_code_version, p_host, v_started_at,
            p_consumption, NULL, v_all
        );
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_sqlstate = RETURNED_SQLSTATE;
        PERFORM metrics.log_run_days(
            v_table_days, 'failed', p_trigger, p_code_version, p_host, v_started_at, NULL,
            v_sqlstate || ': ' || v_error
        );
        RAISE WARNING 'metrics for % .. % failed: % (%)', p_from_date, p_to_date, v_error, v_sqlstate;
        RETURN jsonb_build_object(
            'status', 'failed', 'from_date', p_from_date, 'to_date', p_to_date,
            'days', p_to_date - p_from_date + 1, 'error', v_sqlstate || ': ' || v_error
        );
    END;

    RETURN jsonb_build_object(
        'status', 'succeeded', 'from_date', p_from_date, 'to_date', p_to_date,
        'days', p_to_date - p_from_date + 1, 'rows_written', v_rows,
        'seconds', round(extract(EPOCH FROM clock_timestamp() - v_started_at)::numeric, 3)
    );
END
$$;
COMMENT ON FUNCTION metrics.run_metrics_range(date, date, text, text, text, jsonb, text [], boolean) IS
'Recomputes the fact tables (all, or p_tables) for a day range and logs each day to run_log.';
