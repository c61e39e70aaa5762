-- metrics.pending_changes: what the source's change log holds that the facts have not
-- consumed yet, read in the caller's transaction (its postgres_fdw snapshot): the transaction
-- horizon a run may consume up to, whether an ingest is loading, how many captured changes lie
-- between the watermark and the horizon, the span of days they touch (first_day, last_day), the
-- rep_ids whose names changed, and per fact table the days to recompute in table_days:
-- {table: {"from": every day from this one on (cumulative measures; -infinity after a TRUNCATE
-- or when changes the watermark never reached were pruned), "days": [single days]}}. A write
-- touches only the facts built from its table: opportunities the funnel and the pipeline,
-- activities the rep activity; leads and status history move the lead facts through the lead
-- state (metrics.sync_lead_state, which reads the lead Ids itself), and a lead write also
-- recounts the funnel's opportunities on the created day of the opportunity it converted
-- into. first_day / last_day still span every change (revops status shows them).
-- Grain: one row. Inputs: crm_remote.capture_horizon, crm_remote.change_log,
-- metrics.capture_state; the business time zone turns captured instants into days.
CREATE OR REPLACE FUNCTION metrics.pending_changes(
    OUT horizon bigint,
    OUT ingest_running boolean,
    OUT consumed_xmin bigint,
    OUT changes bigint,
    OUT rep_ids text [],
    OUT first_day date,
    OUT last_day date,
    OUT table_days jsonb
)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text := metrics.business_timezone();
    v_pruned bigint;
BEGIN
    SELECT h.xmin_horizon, h.ingest_running, h.pruned_through_xact
    INTO horizon, ingest_running, v_pruned
    FROM crm_remote.capture_horizon AS h;
    SELECT s.consumed_xmin INTO consumed_xmin FROM metrics.capture_state AS s;
    horizon := greatest(horizon, consumed_xmin);

    WITH
    pending AS MATERIALIZED (
        SELECT c.source_table, c.affected_at, c.affected_date, c.through_today, c.rep_id
        FROM crm_remote.change_log AS c
        WHERE c.xact_id >= consumed_xmin AND c.xact_id < horizon
    ),

    days AS (
        -- cumulative: every day from the exact local day of the instant (or the date) on
        SELECT
            least(
                CASE
                    WHEN p.affected_at = '-infinity' THEN '-infinity'::date
                    ELSE (p.affected_at AT TIME ZONE v_tz)::date
                END,
                p.affected_date
            ) AS metric_date,
            true AS through_today,
            p.source_table
        FROM pending AS p
        WHERE p.through_today AND (p.affected_at IS NOT NULL OR p.affected_date IS NOT NULL)
        UNION ALL
        SELECT p.affected_date, false, p.source_table
        FROM pending AS p
        WHERE NOT p.through_today AND p.affected_date IS NOT NULL
        UNION ALL
        -- a point folded to its UTC day [b, b + 1 day): the local days that day overlaps
        SELECT d.metric_day::date, false, p.source_table
        FROM pending AS p
        CROSS JOIN LATERAL generate_series(
            (p.affected_at AT TIME ZONE v_tz)::date,
            ((p.affected_at + interval '24 hours' - interval '1 microsecond') AT TIME ZONE v_tz)::date,
            interval '1 day'
        ) AS d (metric_day)
        WHERE NOT p.through_today AND p.affected_at IS NOT NULL
    ),

    -- the lead facts' cumulative part follows the lead state (metrics.sync_lead_state moves
    -- exactly the rows a changed lead moves); a lead write's point days are the created days
    -- of the opportunities it converted into (their funnel lead source)
    fact_tables (source_table, table_name, through_today) AS (
        VALUES
        ('leads', 'daily_lead_funnel', false),
        ('opportunities', 'daily_lead_funnel', true),
        ('opportunities', 'daily_lead_funnel', false),
        ('opportunities', 'rep_daily_pipeline', true),
        ('opportunities', 'rep_daily_pipeline', false),
        ('activities', 'rep_daily_activity', true),
        ('activities', 'rep_daily_activity', false)
    ),

    per_table AS (
        SELECT
            f.table_name,
            min(d.metric_date) FILTER (WHERE d.through_today) AS open_from,
            coalesce(
                array_agg(DISTINCT d.metric_date) FILTER (WHERE NOT d.through_today),
                ARRAY[]::date []
            ) AS point_days
        FROM days AS d
        INNER JOIN fact_tables AS f
            ON d.source_table = f.source_table AND d.through_today = f.through_today
        GROUP BY f.table_name
    )

    SELECT
        (SELECT count(*) FROM pending),
        ARRAY(SELECT DISTINCT p.rep_id FROM pending AS p WHERE p.rep_id IS NOT NULL ORDER BY 1),
        (SELECT min(d.metric_date) FROM days AS d),
        (SELECT max(d.metric_date) FROM days AS d),
        (
            SELECT
                coalesce(
                    jsonb_object_agg(
                        t.table_name,
                        jsonb_build_object('from', t.open_from, 'days', to_jsonb(t.point_days))
                    ),
                    '{}'
                )
            FROM per_table AS t
        )
    INTO changes, rep_ids, first_day, last_day, table_days;

    -- changes below the watermark's reach were pruned before being consumed: recompute all
    IF v_pruned > 0 AND v_pruned >= consumed_xmin THEN
        first_day := '-infinity';
        table_days := (
            SELECT jsonb_object_agg(
                t.table_name, jsonb_build_object('from', '-infinity', 'days', '[]'::jsonb)
            )
            FROM unnest(ARRAY[
                'daily_lead_funnel', 'rep_daily_activity', 'rep_daily_pipeline',
                'lead_stage_snapshot'
            ]) AS t (table_name)
        );
    END IF;
END
$$;
COMMENT ON FUNCTION metrics.pending_changes() IS
'Unconsumed captured changes up to the transaction horizon, as the metric days they touch.';
