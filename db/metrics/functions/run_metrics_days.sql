-- metrics.run_metrics_days: the change-driven part of metrics.run_due. Recomputes each fact
-- table on its own set of computed days (p_table_days {table: [days]}: the days a consumed
-- change touched in that table's inputs), one set-based pass per table whatever the gaps
-- between the days, in the caller's transaction, then writes one run_log row per day
-- (metrics.log_run_days: rows per recomputed table).
--
-- Grain of its log: one run_log row per metric day and attempt.
-- What each table's pass is: rep_daily_pipeline and rep_daily_activity recompute the days
-- (metrics.refresh_rep_daily_pipeline_days, metrics.refresh_rep_daily_activity_days);
-- daily_lead_funnel recounts opportunities_created only (metrics.refresh_funnel_opportunities:
-- its lead columns are kept exact by metrics.sync_lead_state, which runs first);
-- lead_stage_snapshot, due only when every day is (a truncated lead table, pruned changes),
-- recomputes each run of adjacent days from the lead state.
-- The days must be computed under the current settings (metrics.run_due's contract: other
-- days are recomputed whole by metrics.run_metrics_range).
-- A failure rolls back every fact row of the call (the old rows stay), is logged as 'failed'
-- per day with the error, raised as a WARNING and returned as {"status": "failed", ...}, as in
-- metrics.run_metrics_range. The caller holds the metrics lock.
CREATE OR REPLACE FUNCTION metrics.run_metrics_days(
    p_table_days jsonb,
    p_trigger text,
    p_code_version text DEFAULT NULL,
    p_host text DEFAULT NULL,
    p_consumption jsonb DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_started_at timestamptz := clock_timestamp();
    v_rows jsonb := '{}';
    v_table text;
    v_days date [];
    v_island record;
    v_count bigint;
    v_all_days date [];
    v_error text;
    v_sqlstate text;
BEGIN
    IF EXISTS (
        SELECT FROM jsonb_object_keys(p_table_days) AS k (table_name)
        WHERE k.table_name NOT IN (
            'daily_lead_funnel', 'rep_daily_activity', 'rep_daily_pipeline', 'lead_stage_snapshot'
        )
    ) THEN
        RAISE EXCEPTION 'unknown fact table in %', p_table_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_all_days := ARRAY(
        SELECT DISTINCT d.metric_day::date
        FROM jsonb_each(p_table_days) AS t (key, value)
        CROSS JOIN LATERAL jsonb_array_elements_text(t.value) AS d (metric_day)
        ORDER BY 1
    );
    IF cardinality(v_all_days) = 0 THEN
        RETURN jsonb_build_object('status', 'succeeded', 'days', 0, 'rows_written', v_rows);
    END IF;
    PERFORM metrics.check_date_range(v_all_days[1], v_all_days[cardinality(v_all_days)]);

    BEGIN
        FOR v_table IN SELECT k FROM jsonb_object_keys(p_table_days) AS k ORDER BY 1
        LOOP
            v_days := ARRAY(
                SELECT DISTINCT d.metric_day::date
                FROM jsonb_array_elements_text(p_table_days -> v_table) AS d (metric_day)
            );
            CASE v_table
                WHEN 'rep_daily_pipeline' THEN
                    v_count := metrics.refresh_rep_daily_pipeline_days(v_days);
                WHEN 'rep_daily_activity' THEN
                    v_count := metrics.refresh_rep_daily_activity_days(v_days);
                WHEN 'daily_lead_funnel' THEN
                    v_count := metrics.refresh_funnel_opportunities(v_days);
                ELSE
                    v_count := 0;
                    FOR v_island IN
                        SELECT i.from_date, i.to_date
                        FROM metrics.day_islands(v_days, metrics.business_timezone()) AS i
                    LOOP
                        v_count := v_count
                            + metrics.refresh_lead_stage_snapshot(
                                v_island.from_date, v_island.to_date
                            );
                    END LOOP;
            END CASE;
            v_rows := v_rows || jsonb_build_object(v_table, v_count);
        END LOOP;
        PERFORM metrics.log_run_days(
            p_table_days, 'succeeded', p_trigger, p_code_version, p_host, v_started_at,
            p_consumption
        );
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_sqlstate = RETURNED_SQLSTATE;
        PERFORM metrics.log_run_days(
            p_table_days, 'failed', p_trigger, p_code_version, p_host, v_started_at, NULL,
            v_sqlstate || ': ' || v_error
        );
        RAISE WARNING 'metrics for % days failed: % (%)', cardinality(v_all_days), v_error,
            v_sqlstate;
        RETURN jsonb_build_object(
            'status', 'failed', 'from_date', v_all_days[1],
            'to_date', v_all_days[cardinality(v_all_days)],
            'days', cardinality(v_all_days), 'error', v_sqlstate || ': ' || v_error
        );
    END;

    RETURN jsonb_build_object(
        'status', 'succeeded', 'from_date', v_all_days[1],
        'to_date', v_all_days[cardinality(v_all_days)],
        'days', cardinality(v_all_days), 'rows_written', v_rows,
        'tables', (
            SELECT jsonb_object_agg(t.key, jsonb_array_length(t.value))
            FROM jsonb_each(p_table_days) AS t (key, value)
        ),
        'seconds', round(extract(EPOCH FROM clock_timestamp() - v_started_at)::numeric, 3)
    );
END
$$;
COMMENT ON FUNCTION metrics.run_metrics_days(jsonb, text, text, text, jsonb) IS
'Change-driven recompute: each fact table once over its own set of days, logged per day.';
