-- metrics.verify_range: the proof that the stored facts are exact. Rebuilds the lead state
-- from the source and recomputes p_from_date .. p_to_date from it and the source with the
-- same set-based engine as a backfill, compares every row
-- of the four fact tables (and of the rep dimension, rebuilt over the recomputed facts: a User
-- changed since the last run shows here until the next run) with what is stored, and then
-- rolls the recomputation back: the stored facts, run_log and the watermark are left as they
-- were.
-- Grain: one range. Returns {"days", "differing", "by_table", "rows"}: the number of differing
-- rows (a row missing on either side counts once) and up to p_limit of them as
-- {table_name, metric_date, row_key, stored, recomputed} (NULL where the row is missing).
-- Why a subtransaction: the refresh functions write the fact tables; the comparison is kept in
-- variables, which survive the rollback to the savepoint.
CREATE OR REPLACE FUNCTION metrics.verify_range(
    p_from_date date,
    p_to_date date,
    p_limit integer DEFAULT 50
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_count bigint;
    v_by_table jsonb;
    v_rows jsonb;
BEGIN
    PERFORM metrics.check_date_range(p_from_date, p_to_date);
    IF NOT metrics.lock_metrics() THEN
        RAISE EXCEPTION 'another run holds the metrics lock (waited % s)',
            metrics.setting('lock_wait_seconds') #>> '{}'
            USING ERRCODE = 'lock_not_available';
    END IF;
    BEGIN
        CREATE TEMPORARY TABLE pg_temp.verify_stored ON COMMIT DROP AS
        SELECT * FROM metrics.fact_rows(p_from_date, p_to_date);

        -- the lead state rebuilt from the source (every lead, rolled back with the rest): the
        -- lead facts are checked against the section 6 rules, not against the stored state
        PERFORM set_config('revops.base_from_facts', 'off', true);
        PERFORM metrics.sync_lead_state(true, false);
        PERFORM metrics.refresh_daily_lead_funnel(p_from_date, p_to_date);
        PERFORM metrics.refresh_rep_daily_activity(p_from_date, p_to_date);
        PERFORM metrics.refresh_rep_daily_pipeline(p_from_date, p_to_date);
        PERFORM metrics.refresh_lead_stage_snapshot(p_from_date, p_to_date);
        PERFORM metrics.refresh_dim_rep();

        WITH
        recomputed AS (
            SELECT * FROM metrics.fact_rows(p_from_date, p_to_date)
        ),

        differing AS (
            SELECT
                coalesce(s.table_name, r.table_name) AS table_name,
                coalesce(s.metric_date, r.metric_date) AS metric_date,
                coalesce(s.row_key, r.row_key) AS row_key,
                s.row_values AS stored,
                r.row_values AS recomputed
            FROM pg_temp.verify_stored AS s
            FULL JOIN recomputed AS r
                ON
                    s.table_name = r.table_name
                    -- dim_rep rows have no day (NULL); infinity keeps the join hashable
                    AND coalesce(s.metric_date, 'infinity') = coalesce(r.metric_date, 'infinity')
                    AND s.row_key = r.row_key
            WHERE s.row_values IS DISTINCT FROM r.row_values
        ),

        per_table AS (
            SELECT d.table_name, count(*) AS row_count
            FROM differing AS d
            GROUP BY d.table_name
        )

        SELECT
            (SELECT count(*) FROM differing),
            (SELECT coalesce(jsonb_object_agg(t.table_name, t.row_count), '{}') FROM per_table AS t),
            (
                SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]')
                FROM (
                    SELECT d.*
                    FROM differing AS d
                    ORDER BY d.table_name, d.metric_date, d.row_key
                    LIMIT greatest(coalesce(p_limit, 50), 0)
                ) AS x
            )
        INTO v_count, v_by_table, v_rows;
        RAISE EXCEPTION USING ERRCODE = 'RV001', MESSAGE = 'verify: roll back the recomputation';
    EXCEPTION WHEN SQLSTATE 'RV001' THEN
        NULL;  -- the stored facts are back; the comparison is in the variables
    END;
    RETURN jsonb_build_object(
        'from_date', p_from_date,
        'to_date', p_to_date,
        'days', p_to_date - p_from_date + 1,
        'differing', v_count,
        'by_table', v_by_table,
        'rows', v_rows
    );
END
$$;
COMMENT ON FUNCTION metrics.verify_range(date, date, integer) IS
'Recomputes a day range and compares it with the stored facts (nothing is changed).';
