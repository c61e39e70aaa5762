-- metrics.data_quality: the data-quality checks the metric definitions promise, one row per
-- check, for `revops check` and BI dashboards.
--
-- Grain: one row per check (always present, affected_count 0 when clean).
-- Inputs: crm_remote.* (the source mirror), metrics.freshness, metrics.capture_state.
-- Checks:
-- * unknown_owner: rows (leads, opportunities, activities) whose owner Id is neither empty, a
--   queue (00G...) nor in crm.reps; they report as rep_name 'Unknown';
-- * null_opportunity_amount: opportunities without an amount (they add 0 to the sums);
-- * won_without_close_date: won opportunities (is_won, or a 'Closed Won' stage when is_won is
--   NULL) without a close date: they count on no day;
-- * lead_without_created_at / activity_without_day: rows no metric day can hold;
-- * status_history_for_unknown_lead: status changes of leads that are not (or no longer) there;
-- * quarantined_records: records ingest rejected in the last 7 days (crm.load_errors);
-- * facts_behind_changes: captured CRM changes (crm.change_log) not consumed by a run yet,
--   with the oldest metric day they touch: the facts are older than their inputs;
-- * failed_ingest_batches / unfinished_ingest_batches: files ingest could not load in the last
--   7 days, and batches still 'running' after setting ingest_unfinished_minutes (default 60;
--   the ingest was killed or the server stopped), unless retried (details.retried_by) or
--   settled by a later successful batch of the same source (`revops ingest --retry-failed`);
-- * stale_metrics: the newest successful metric day is older than freshness_max_lag_days.
-- Deleted rows are never checked (they never count). sample_ids holds up to 5 example Ids.
-- Why a view owned by revops_owner: revops_bi may read it without reading crm_remote. It
-- shows no file paths (quarantined records are named by batch and position: the batch's file is
-- in crm.ingest_batches, for operators of the source database).
CREATE OR REPLACE VIEW metrics.data_quality AS
WITH
known_reps AS (
    SELECT r.rep_id FROM crm_remote.reps AS r
),

-- rows per owner, counted remotely (GROUP BY a plain column) and combined here
owners AS (
    SELECT l.owner_id, count(*) AS row_count
    FROM crm_remote.leads AS l WHERE NOT l.is_deleted GROUP BY l.owner_id
    UNION ALL
    SELECT o.owner_id, count(*)
    FROM crm_remote.opportunities AS o WHERE NOT o.is_deleted GROUP BY o.owner_id
    UNION ALL
    SELECT a.owner_id, count(*)
    FROM crm_remote.activities AS a WHERE NOT a.is_deleted GROUP BY a.owner_id
),

unknown_owner AS (
    SELECT
        coalesce(sum(ow.row_count), 0)::bigint AS affected_count,
        (array_agg(DISTINCT ow.owner_id))[1:5] AS sample_ids
    FROM owners AS ow
    WHERE
        metrics.rep_bucket(ow.owner_id) <> '-1'
        AND NOT EXISTS (
            SELECT FROM known_reps AS k WHERE k.rep_id = metrics.rep_bucket(ow.owner_id)
        )
),

opportunity_flags AS (
    SELECT
        o.opportunity_id,
        o.amount IS NULL AS is_missing_amount,
        o.close_date IS NULL
        AND (
            o.is_won
            OR (
                o.is_won IS NULL
                AND lower(regexp_replace(o.stage_name, '[^[:alpha:]]', '', 'g')) = 'closedwon'
            )
        ) AS is_won_without_close
    FROM crm_remote.opportunities AS o
    WHERE NOT o.is_deleted
),

opportunity_checks AS (
    SELECT
        count(*) FILTER (WHERE f.is_missing_amount) AS null_amount_count,
        (array_agg(f.opportunity_id ORDER BY f.opportunity_id) FILTER (
            WHERE f.is_missing_amount
        ))[1:5] AS null_amount_ids,
        count(*) FILTER (WHERE f.is_won_without_close) AS won_no_close_count,
        (array_agg(f.opportunity_id ORDER BY f.opportunity_id) FILTER (
            WHERE f.is_won_without_close
        ))[1:5] AS won_no_close_ids
    FROM opportunity_flags AS f
),

lead_checks AS (
    SELECT
        count(*) AS affected_count,
        (array_agg(l.lead_id ORDER BY l.lead_id))[1:5] AS sample_ids
    FROM crm_remote.leads AS l
    WHERE NOT l.is_deleted AND l.created_at IS NULL
),

activity_checks AS (
    SELECT
        count(*) AS affected_count,
        (array_agg(a.activity_id ORDER BY a.activity_id))[1:5] AS sample_ids
    FROM crm_remote.activities AS a
    WHERE
        NOT a.is_deleted
        AND a.activity_date IS NULL
        AND a.activity_at IS NULL
        AND a.created_at IS NULL
),

orphan_history AS (
    SELECT
        count(*) AS affected_count,
        (array_agg(DISTINCT h.lead_id))[1:5] AS sample_ids
    FROM crm_remote.lead_status_history AS h
    WHERE
        NOT h.is_deleted
        AND NOT EXISTS (
            SELECT FROM crm_remote.leads AS l
            WHERE l.lead_id = h.lead_id AND NOT l.is_deleted
        )
),

quarantine AS (
    SELECT
        count(*) AS affected_count,
        (array_agg('batch ' || coalesce(e.batch_id::text, '-') || ' record '
            || coalesce(e.record_position::text, '-')
            ORDER BY e.load_error_id DESC))[1:5] AS sample_ids
    FROM crm_remote.load_errors AS e
    WHERE e.created_at >= now() - interval '7 days'
),

-- captured CRM changes the facts have not consumed yet, and the oldest day they touch
behind AS (
    SELECT
        count(*) AS affected_count,
        array_remove(ARRAY[
            min(least(
                CASE
                    WHEN c.affected_at = '-infinity' THEN '-infinity'::date
                    ELSE (c.affected_at AT TIME ZONE (st.setting_value #>> '{}'))::date
                END,
                c.affected_date
            ))::text
        ], NULL) AS sample_ids
    FROM crm_remote.change_log AS c
    CROSS JOIN metrics.capture_state AS cs
    CROSS JOIN metrics.settings AS st
    WHERE
        c.xact_id >= cs.consumed_xmin
        AND st.setting_name = 'business_timezone'
),

ingest_limit AS (
    SELECT coalesce(max((st.setting_value #>> '{}')::integer), 60) AS unfinished_minutes
    FROM metrics.settings AS st
    WHERE st.setting_name = 'ingest_unfinished_minutes'
),

open_batches AS (
    SELECT
        b.batch_id,
        b.batch_status,
        b.started_at,
        'batch ' || b.batch_id::text AS sample_id,  -- no file paths: BI reads this view
        coalesce(b.details ->> 'source_path', b.source_name) AS source_key
    FROM crm_remote.ingest_batches AS b
    WHERE
        b.batch_status IN ('failed', 'running')
        AND NOT b.details ? 'retried_by'
        AND b.started_at >= now() - interval '7 days'
),

batch_checks AS (
    SELECT
        count(*) FILTER (WHERE ob.batch_status = 'failed') AS failed_count,
        (array_agg(ob.sample_id ORDER BY ob.batch_id DESC) FILTER (
            WHERE ob.batch_status = 'failed'
        ))[1:5] AS failed_ids,
        count(*) FILTER (
            WHERE ob.batch_status = 'running'
            AND ob.started_at < now() - make_interval(mins => il.unfinished_minutes)
        ) AS unfinished_count,
        (array_agg(ob.sample_id ORDER BY ob.batch_id DESC) FILTER (
            WHERE ob.batch_status = 'running'
            AND ob.started_at < now() - make_interval(mins => il.unfinished_minutes)
        ))[1:5] AS unfinished_ids
    FROM open_batches AS ob
    CROSS JOIN ingest_limit AS il
    WHERE NOT EXISTS (
        SELECT FROM crm_remote.ingest_batches AS later
        WHERE
            later.batch_id > ob.batch_id
            AND later.batch_status = 'succeeded'
            AND coalesce(later.details ->> 'source_path', later.source_name) = ob.source_key
    )
),

staleness AS (
    SELECT
        CASE
            WHEN f.lag_days IS NULL OR f.lag_days > s.max_lag_days THEN 1 ELSE 0
        END AS affected_count,
        ARRAY[coalesce(f.last_metric_date::text, 'never')] AS sample_ids
    FROM metrics.freshness AS f
    CROSS JOIN (
        SELECT (st.setting_value #>> '{}')::integer AS max_lag_days
        FROM metrics.settings AS st
        WHERE st.setting_name = 'freshness_max_lag_days'
    ) AS s
    WHERE f.table_name = 'run_log'
)

SELECT
    'unknown_owner' AS check_name,
    'warning' AS severity,
    u.affected_count,
    u.sample_ids,
    'rows whose owner Id is not in crm.reps (reported as rep_name Unknown)' AS description
FROM unknown_owner AS u
UNION ALL
SELECT
    'null_opportunity_amount', 'warning', oc.null_amount_count, oc.null_amount_ids,
    'opportunities without an amount (count as 0 in pipeline and revenue)'
FROM opportunity_checks AS oc
UNION ALL
SELECT
    'won_without_close_date', 'warning', oc.won_no_close_count, oc.won_no_close_ids,
    'won opportunities without a close date (count on no day)'
FROM opportunity_checks AS oc
UNION ALL
SELECT
    'lead_without_created_at', 'warning', lc.affected_count, lc.sample_ids,
    'leads without a created date (never counted)'
FROM lead_checks AS lc
UNION ALL
SELECT
    'activity_without_day', 'warning', ac.affected_count, ac.sample_ids,
    'activities without activity date, start or created time (never counted)'
FROM activity_checks AS ac
UNION ALL
SELECT
    'status_history_for_unknown_lead', 'info', oh.affected_count, oh.sample_ids,
    'status changes of leads that are missing or deleted'
FROM orphan_history AS oh
UNION ALL
SELECT
    'quarantined_records', 'warning', q.affected_count, q.sample_ids,
    'records rejected by ingest in the last 7 days (crm.load_errors)'
FROM quarantine AS q
UNION ALL
SELECT
    'facts_behind_changes', 'warning', b.affected_count, b.sample_ids,
    'captured CRM changes not in the facts yet (the next run consumes them); sample: oldest day'
FROM behind AS b
UNION ALL
SELECT
    'failed_ingest_batches', 'warning', bc.failed_count, bc.failed_ids,
    'files ingest could not load in the last 7 days (revops ingest --retry-failed)'
FROM batch_checks AS bc
UNION ALL
SELECT
    'unfinished_ingest_batches', 'warning', bc.unfinished_count, bc.unfinished_ids,
    'ingest batches left running (killed or server stopped; revops ingest --retry-failed)'
FROM batch_checks AS bc
UNION ALL
SELECT
    'stale_metrics', 'error', st.affected_count, st.sample_ids,
    'newest successful metric day older than freshness_max_lag_days'
FROM staleness AS st;

COMMENT ON VIEW metrics.data_quality IS 'Data-quality checks: one row per check with affected count and sample Ids.';
