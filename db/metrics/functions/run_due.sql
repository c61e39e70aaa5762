-- metrics.run_due: the ordinary run. In one transaction: take the metrics lock (bounded wait),
-- read the source's change log up to its transaction horizon, bring every fact up to date and
-- advance the watermark.
-- First metrics.sync_lead_state re-derives the leads the changes name and moves the lead facts
-- (funnel totals, new leads, SQLs, the stage snapshot) of every computed day by exactly their
-- difference: no day is recomputed for a lead change. Then the due days are recomputed: p_days
-- when given (run_daily_metrics), else yesterday and the days of metrics.days_due (lookback,
-- gap horizon) not computed yet under the current settings; plus, per fact table, every
-- computed day a consumed opportunity or activity change touches (metrics.pending_changes),
-- and every computed day whose settings fingerprint is not the current one. Rep renames
-- rewrite rep_name on all their days.
-- Days are recomputed set-based: the days due in every table by one call of the engine per
-- run of adjacent days (metrics.run_metrics_range; a new day's lead facts start from the
-- previous day's rows, metrics.base_from_facts), and the days due for a change by one pass
-- per fact table over its own days, whatever their gaps (metrics.run_metrics_days: only the
-- tables built from the changed table, the funnel only its opportunity count). So the
-- ordinary run costs the changes it consumes, not the history.
-- A failure keeps the watermark where it was (the next run consumes the same changes again),
-- as does a skip: the lock held by another writer past lock_wait_seconds, or an ingest still
-- loading (its files become visible one by one: a run waits for the whole invocation; with
-- p_log_busy false the caller retries and nothing is logged).
-- Grain: one run. Returns a jsonb summary with "status" (succeeded, failed, skipped).
CREATE OR REPLACE FUNCTION metrics.run_due(
    p_trigger text DEFAULT 'manual',
    p_code_version text DEFAULT NULL,
    p_host text DEFAULT NULL,
    p_days date [] DEFAULT NULL,
    p_lookback_days integer DEFAULT NULL,
    p_horizon_days integer DEFAULT NULL,
    p_log_busy boolean DEFAULT true
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_started_at timestamptz := clock_timestamp();
    v_today date;
    v_asked date [];
    v_pending record;
    v_fingerprint text;
    v_due date [];
    v_range record;
    v_result jsonb;
    v_results jsonb := '[]';
    v_consumption jsonb;
    v_lead_state jsonb;
    v_dim_rep bigint;
    v_status text := 'succeeded';
    v_renamed bigint := 0;
    v_reason text;
    v_error text;
    v_sqlstate text;
BEGIN
    IF p_trigger IS NULL OR p_trigger NOT IN ('systemd', 'github', 'manual', 'backfill') THEN
        RAISE EXCEPTION 'trigger must be systemd, github, manual or backfill (got %)',
            coalesce(p_trigger, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_days IS NOT NULL THEN
        IF array_position(p_days, NULL) IS NOT NULL OR cardinality(p_days) = 0 THEN
            RAISE EXCEPTION 'metric dates must not be NULL or empty'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM metrics.check_date_range(min(d), max(d)) FROM unnest(p_days) AS d;
        v_asked := p_days;
    ELSE
        v_asked := ARRAY(SELECT metrics.days_due(p_lookback_days, p_horizon_days));
    END IF;

    -- everything that reads settings or the source: a failure logs and keeps the watermark
    BEGIN
        IF NOT metrics.lock_metrics() THEN
            v_reason := format(
                'another run or backfill held the metrics lock for %s s; nothing was computed',
                metrics.setting('lock_wait_seconds') #>> '{}'
            );
        ELSE
            v_pending := metrics.pending_changes();
            IF v_pending.ingest_running THEN
                v_reason := 'an ingest is loading files; its changes are consumed once it finishes';
            END IF;
        END IF;
        IF v_reason IS NOT NULL THEN
            IF p_log_busy THEN
                INSERT INTO metrics.run_log (
                    metric_date, status, trigger, host, started_at, finished_at, error_text,
                    code_version
                )
                SELECT d, 'skipped', p_trigger, p_host, v_started_at, clock_timestamp(), v_reason,
                    p_code_version
                FROM unnest(v_asked) AS d;
            END IF;
            RETURN jsonb_build_object('status', 'skipped', 'error', v_reason, 'days', 0);
        END IF;

        v_today := metrics.business_today();
        v_fingerprint := metrics.settings_fingerprint();
        IF p_days IS NULL THEN
            -- of the lookback and gap-horizon days, yesterday and those not computed yet under
            -- the current settings (a computed day is kept exact by the changes it consumes)
            v_asked := ARRAY(
                SELECT a.metric_date
                FROM unnest(v_asked) AS a (metric_date)
                WHERE
                    a.metric_date = v_today - 1
                    OR NOT EXISTS (
                        SELECT
                        FROM metrics.computed_days AS c
                        WHERE
                            c.metric_date = a.metric_date
                            AND c.settings_fingerprint = v_fingerprint
                    )
            );
        END IF;
        -- the lead state first: the changed leads move the lead facts of every computed day
        v_lead_state := metrics.sync_lead_state();
        -- the ordinary run builds a new day's lead facts on the day before (a day asked for
        -- by date is recomputed from the state, as a backfill does)
        PERFORM set_config(
            'revops.base_from_facts', CASE WHEN p_days IS NULL THEN 'on' ELSE 'off' END, true
        );
        -- work: the asked days and the days computed under other settings, in every table;
        -- then, per fact table, the computed days a consumed change touched in its inputs
        CREATE TEMPORARY TABLE pg_temp.due_days ON COMMIT DROP AS
        WITH
        every_table AS (
            SELECT DISTINCT x.metric_date
            FROM (
                SELECT a.metric_date FROM unnest(v_asked) AS a (metric_date)
                UNION ALL
                SELECT c.metric_date
                FROM metrics.computed_days AS c
                WHERE c.settings_fingerprint IS DISTINCT FROM v_fingerprint
            ) AS x
            WHERE x.metric_date <= v_today
        ),

        -- per table: every computed day from "from" on, and the single "days"
        touched_days AS (
            SELECT t.key AS table_name, c.metric_date
            FROM jsonb_each(v_pending.table_days) AS t (key, value)
            INNER JOIN metrics.computed_days AS c
                ON c.metric_date >= (t.value ->> 'from')::date
            UNION
            SELECT t.key, c.metric_date
            FROM jsonb_each(v_pending.table_days) AS t (key, value)
            CROSS JOIN LATERAL jsonb_array_elements_text(t.value -> 'days') AS d (metric_day)
            INNER JOIN metrics.computed_days AS c
                ON c.metric_date = d.metric_day::date
        ),

        touched AS (
            SELECT t.table_name, t.metric_date
            FROM touched_days AS t
            WHERE
                t.metric_date <= v_today
                AND NOT EXISTS (SELECT FROM every_table AS e WHERE e.metric_date = t.metric_date)
        )

        SELECT NULL::text AS table_name, e.metric_date FROM every_table AS e
        UNION ALL
        SELECT t.table_name, t.metric_date FROM touched AS t;
        v_due := ARRAY(SELECT DISTINCT d.metric_date FROM pg_temp.due_days AS d ORDER BY 1);

        -- a renamed (or late-loaded, or removed) User names its rows on every day
        IF cardinality(v_pending.rep_ids) > 0 THEN
            WITH names AS MATERIALIZED (
                SELECT r.rep_id, r.name
                FROM crm_remote.reps AS r
                WHERE r.rep_id = ANY(v_pending.rep_ids)
            ),

            renamed_activity AS (
                UPDATE metrics.rep_daily_activity AS f
                SET rep_name = metrics.rep_label(f.rep_id, n.name)
                FROM (SELECT u.rep_id FROM unnest(v_pending.rep_ids) AS u (rep_id)) AS k
                LEFT JOIN names AS n ON k.rep_id = n.rep_id
                WHERE
                    f.rep_id = k.rep_id
                    AND f.rep_name IS DISTINCT FROM metrics.rep_label(f.rep_id, n.name)
                RETURNING 1
            ),

            renamed_pipeline AS (
                UPDATE metrics.rep_daily_pipeline AS f
                SET rep_name = metrics.rep_label(f.rep_id, n.name)
                FROM (SELECT u.rep_id FROM unnest(v_pending.rep_ids) AS u (rep_id)) AS k
                LEFT JOIN names AS n ON k.rep_id = n.rep_id
                WHERE
                    f.rep_id = k.rep_id
                    AND f.rep_name IS DISTINCT FROM metrics.rep_label(f.rep_id, n.name)
                RETURNING 1
            )

            SELECT (SELECT count(*) FROM renamed_activity) + (SELECT count(*) FROM renamed_pipeline)
            INTO v_renamed;
        END IF;

        v_consumption := jsonb_build_object(
            'changes_consumed', v_pending.changes,
            'changed_from',
            CASE WHEN v_pending.first_day > '-infinity' THEN v_pending.first_day END,
            'changed_to', v_pending.last_day
        );
        -- the days recomputed whole (yesterday, gaps, other settings): one engine call per
        -- run of adjacent days (runs at most 8 days apart are merged: a call has a fixed cost
        -- of a few remote queries, about what eight more days of a range cost)
        FOR v_range IN
            WITH
            islands AS (
                SELECT
                    d.metric_date,
                    CASE
                        WHEN d.metric_date - lag(d.metric_date) OVER (ORDER BY d.metric_date) <= 8
                            THEN 0
                        ELSE 1
                    END AS starts_range
                FROM pg_temp.due_days AS d
                WHERE d.table_name IS NULL
            ),

            numbered AS (
                SELECT
                    i.metric_date,
                    sum(i.starts_range) OVER (ORDER BY i.metric_date) AS range_number
                FROM islands AS i
            )

            SELECT min(n.metric_date) AS from_date, max(n.metric_date) AS to_date
            FROM numbered AS n
            GROUP BY n.range_number
            ORDER BY 1
        LOOP
            v_result := metrics.run_metrics_range(
                v_range.from_date, v_range.to_date, p_trigger, p_code_version, p_host,
                v_consumption, NULL, false
            );
            v_results := v_results || jsonb_build_array(v_result);
            IF v_result ->> 'status' <> 'succeeded' THEN
                v_status := v_result ->> 'status';
                EXIT;
            END IF;
        END LOOP;
        -- the days a consumed change touched: each fact table once over its own days
        IF v_status = 'succeeded' AND EXISTS (
            SELECT FROM pg_temp.due_days AS d WHERE d.table_name IS NOT NULL
        ) THEN
            v_result := metrics.run_metrics_days(
                (
                    SELECT jsonb_object_agg(x.table_name, x.days)
                    FROM (
                        SELECT d.table_name, jsonb_agg(d.metric_date ORDER BY d.metric_date) AS days
                        FROM pg_temp.due_days AS d
                        WHERE d.table_name IS NOT NULL
                        GROUP BY 1
                    ) AS x
                ),
                p_trigger, p_code_version, p_host, v_consumption
            );
            v_results := v_results || jsonb_build_array(v_result);
            v_status := v_result ->> 'status';
        END IF;
        DROP TABLE pg_temp.due_days;
        PERFORM set_config('revops.base_from_facts', 'off', true);
        -- the rep dimension once, over the facts as they now are (renames included)
        IF v_status = 'succeeded' THEN
            v_dim_rep := metrics.refresh_dim_rep();
        END IF;

        IF v_status = 'succeeded' THEN
            UPDATE metrics.capture_state
            SET
                consumed_xmin = greatest(consumed_xmin, v_pending.horizon),
                consumed_at = clock_timestamp();
        END IF;
    EXCEPTION WHEN OTHERS THEN
        -- before or between the engine's calls (settings, the change log): nothing of this run
        -- is kept but the failure, logged for the asked days; the watermark stays
        GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_sqlstate = RETURNED_SQLSTATE;
        INSERT INTO metrics.run_log (
            metric_date, status, trigger, host, started_at, finished_at, error_text, code_version
        )
        SELECT d, 'failed', p_trigger, p_host, v_started_at, clock_timestamp(),
            v_sqlstate || ': ' || v_error, p_code_version
        FROM unnest(v_asked) AS d;
        RAISE WARNING 'run failed: % (%)', v_error, v_sqlstate;
        RETURN jsonb_build_object(
            'status', 'failed', 'days', 0, 'changes_consumed', 0,
            'error', v_sqlstate || ': ' || v_error
        );
    END;

    RETURN jsonb_build_object(
        'status', v_status,
        'days', cardinality(v_due),
        'ranges', v_results,
        'changes_consumed', CASE WHEN v_status = 'succeeded' THEN v_pending.changes ELSE 0 END,
        'changed_from', v_consumption -> 'changed_from',
        'changed_to', v_consumption -> 'changed_to',
        'rep_names_updated', v_renamed,
        'lead_state', v_lead_state,
        'dim_rep_rows', v_dim_rep,
        'error', (
            SELECT r ->> 'error' FROM jsonb_array_elements(v_results) AS r
            WHERE r ->> 'status' <> 'succeeded' LIMIT 1
        ),
        'seconds', round(extract(EPOCH FROM clock_timestamp() - v_started_at)::numeric, 3)
    );
END
$$;
COMMENT ON FUNCTION metrics.run_due(text, text, text, date [], integer, integer, boolean) IS
'The ordinary run: due days plus every day touched by captured changes, then the watermark.';
