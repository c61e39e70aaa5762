-- metrics.sync_lead_state: brings the per-lead state (metrics.lead_state,
-- metrics.lead_segment_state) up to date with the source, and the lead facts of every
-- computed day with it, in the caller's transaction (under the metrics lock).
--
-- Grain: one call per transaction does the work (later calls in the same transaction return
-- at once); returns {"leads": changed leads re-derived, "rebuilt": bool, "funnel_rows",
-- "snapshot_rows": fact rows written}.
-- Inputs: crm_remote.capture_horizon and crm_remote.change_log (the lead Ids written since the
-- state's own horizon, metrics.lead_state_sync.synced_xmin), metrics.lead_qualification for
-- those leads' current state: one read of crm_remote.lead_status_segments gives both their
-- lead rows (source label, created and qualification days) and their segments.
-- How: the lead facts of a computed day are sums over the stored state (daily_lead_funnel:
-- total_leads_to_date counts leads created up to the day, new_leads on their created day,
-- sqls on their qualification day, per lead source; lead_stage_snapshot: leads and the sum of
-- their created days per status the lead held at the end of the day). So for the changed
-- leads only: their stored part is taken away and their new part added, as +/- steps per
-- (key, day); a running sum of the steps gives the change of every later day, which is added
-- to the stored rows of the computed days it moves (rows appear and disappear with their
-- counts). A lead whose state did not change adds nothing; a change two years back moves the
-- rows of its one or two keys over two years of days, never every row of every day.
-- The state is rebuilt whole instead (every lead, one read through the FDW) and the lead
-- facts of every computed day recomputed from it, when: p_rebuild, it was never built, the
-- settings fingerprint changed, a crm lead table was truncated, unconsumed changes were pruned
-- from the log, or a captured lead change predates the Ids in the log.
-- Why its own horizon and not the run watermark: re-deriving a lead is idempotent (a lead
-- synced twice adds nothing the second time), so a backfill or verify may sync without
-- consuming what the run consumes; the facts always equal the sums of the stored state.
-- A negative count after the update means the facts and the state disagreed: it raises, and
-- the run fails with nothing written (verify and a backfill from the state repair it).
CREATE OR REPLACE FUNCTION metrics.sync_lead_state(
    p_rebuild boolean DEFAULT false,
    p_recompute_facts boolean DEFAULT true
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_fingerprint text := metrics.settings_fingerprint();
    v_qualified text [] := metrics.qualified_statuses();
    v_sync metrics.lead_state_sync;
    v_horizon bigint;
    v_pruned bigint;
    v_rebuild boolean := p_rebuild;
    v_ids text [];
    v_funnel_rows bigint := 0;
    v_snapshot_rows bigint := 0;
    v_rows bigint;
    v_negative boolean;
    v_empty_days date [];
    v_empty_keys text [];
    v_island record;
    v_index_defs text [];
    v_index_names text [];
    v_index text;
BEGIN
    IF
        current_setting('revops.lead_state_synced', true) = txid_current()::text
        AND NOT p_rebuild
    THEN
        RETURN jsonb_build_object('leads', 0, 'rebuilt', false, 'already_synced', true);
    END IF;
    IF NOT metrics.lock_metrics() THEN
        RAISE EXCEPTION 'another run holds the metrics lock (waited % s)',
            metrics.setting('lock_wait_seconds') #>> '{}'
            USING ERRCODE = 'lock_not_available';
    END IF;
    -- the refresh functions called below must not sync again
    PERFORM set_config('revops.lead_state_synced', txid_current()::text, true);
    -- the lead state's days are the source's (crm.lead_status_segments): its zone must be
    -- the business time zone
    PERFORM metrics.source_timezone();

    SELECT * INTO v_sync FROM metrics.lead_state_sync FOR UPDATE;
    SELECT h.xmin_horizon, h.pruned_through_xact
    INTO v_horizon, v_pruned
    FROM crm_remote.capture_horizon AS h;
    v_horizon := greatest(v_horizon, v_sync.synced_xmin);

    IF NOT v_rebuild THEN
        v_rebuild := v_sync.settings_fingerprint IS DISTINCT FROM v_fingerprint
            OR (v_pruned > 0 AND v_pruned >= v_sync.synced_xmin);
    END IF;
    IF NOT v_rebuild THEN
        WITH changed AS MATERIALIZED (
            SELECT c.affected_at, c.lead_ids
            FROM crm_remote.change_log AS c
            WHERE
                c.xact_id >= v_sync.synced_xmin
                AND c.xact_id < v_horizon
                AND c.source_table IN ('leads', 'lead_status_history')
                -- a lead write's point rows (its opportunity's created day) carry no Ids
                AND c.through_today
        )

        SELECT
            bool_or(c.affected_at = '-infinity' OR c.lead_ids IS NULL),
            ARRAY(
                SELECT DISTINCT i.lead_id
                FROM changed AS x
                CROSS JOIN unnest(x.lead_ids) AS i (lead_id)
            )
        INTO v_rebuild, v_ids
        FROM changed AS c;
        v_rebuild := coalesce(v_rebuild, false);
    END IF;

    IF v_rebuild THEN
        TRUNCATE metrics.lead_state, metrics.lead_segment_state;
        -- a bulk load: the secondary indexes are dropped and built again after it (about a
        -- quarter of the rebuild), from their own definitions
        SELECT
            coalesce(array_agg(i.indexdef ORDER BY i.indexname), ARRAY[]::text []),
            coalesce(array_agg(i.indexname::text ORDER BY i.indexname), ARRAY[]::text [])
        INTO v_index_defs, v_index_names
        FROM pg_catalog.pg_indexes AS i
        INNER JOIN pg_catalog.pg_class AS c
            ON c.relname = i.indexname AND c.relnamespace = 'metrics'::regnamespace
        INNER JOIN pg_catalog.pg_index AS x ON x.indexrelid = c.oid
        WHERE
            i.schemaname = 'metrics'
            AND i.tablename IN ('lead_state', 'lead_segment_state')
            AND NOT x.indisprimary;
        FOREACH v_index IN ARRAY v_index_names
        LOOP
            EXECUTE format('DROP INDEX metrics.%I', v_index);
        END LOOP;
        -- one read of every lead feeds both tables: its 'start' row is the lead's row, its
        -- non-empty segments are the segment rows
        WITH
        q AS MATERIALIZED (
            SELECT * FROM metrics.lead_qualification(NULL, v_qualified)
        ),

        segments AS (
            INSERT INTO metrics.lead_segment_state (
                lead_id, status, from_date, to_date, created_date
            )
            SELECT q.lead_id, q.status, q.from_date, q.to_date, q.created_date
            FROM q
            WHERE q.to_date IS NULL OR q.to_date > q.from_date
        )

        INSERT INTO metrics.lead_state (lead_id, lead_source, created_date, qualified_date)
        SELECT q.lead_id, q.lead_source, q.created_date, q.qualified_date
        FROM q
        WHERE q.segment_kind = 'start';
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        FOREACH v_index IN ARRAY v_index_defs
        LOOP
            EXECUTE v_index;
        END LOOP;
        ANALYZE metrics.lead_state;
        ANALYZE metrics.lead_segment_state;

        UPDATE metrics.lead_state_sync
        SET
            synced_xmin = v_horizon,
            settings_fingerprint = v_fingerprint,
            synced_at = clock_timestamp(),
            built_at = clock_timestamp();

        -- the lead facts of every computed day (under the current settings), recomputed from
        -- the new state, one call per run of adjacent computed days
        IF p_recompute_facts THEN
            PERFORM set_config('revops.base_from_facts', 'off', true);
            FOR v_island IN
                SELECT min(n.metric_date) AS from_date, max(n.metric_date) AS to_date
                FROM (
                    SELECT
                        c.metric_date,
                        c.metric_date - (row_number() OVER (ORDER BY c.metric_date))::integer
                        AS island
                    FROM metrics.computed_days AS c
                    -- days under other settings are recomputed whole by the run anyway
                    WHERE c.settings_fingerprint = v_fingerprint
                ) AS n
                GROUP BY n.island
                ORDER BY 1
            LOOP
                v_funnel_rows := v_funnel_rows
                    + metrics.refresh_daily_lead_funnel(v_island.from_date, v_island.to_date);
                v_snapshot_rows := v_snapshot_rows
                    + metrics.refresh_lead_stage_snapshot(v_island.from_date, v_island.to_date);
            END LOOP;
        END IF;
        RETURN jsonb_build_object(
            'leads', v_rows, 'rebuilt', true,
            'funnel_rows', v_funnel_rows, 'snapshot_rows', v_snapshot_rows
        );
    END IF;

    UPDATE metrics.lead_state_sync
    SET synced_xmin = v_horizon, synced_at = clock_timestamp();
    IF cardinality(v_ids) = 0 THEN
        RETURN jsonb_build_object('leads', 0, 'rebuilt', false);
    END IF;

    -- the changed leads' current state, read from the source once, for those Ids only: the
    -- lead rows ('start') and the non-empty segments, as in the rebuild above
    CREATE TEMPORARY TABLE pg_temp.synced_leads (
        lead_id text,
        lead_source text,
        created_date date,
        qualified_date date
    ) ON COMMIT DROP;
    CREATE TEMPORARY TABLE pg_temp.synced_segments (
        lead_id text,
        status text,
        from_date date,
        to_date date,
        created_date date
    ) ON COMMIT DROP;
    WITH
    q AS MATERIALIZED (
        SELECT * FROM metrics.lead_qualification(v_ids, v_qualified)
    ),

    segments AS (
        INSERT INTO pg_temp.synced_segments (lead_id, status, from_date, to_date, created_date)
        SELECT q.lead_id, q.status, q.from_date, q.to_date, q.created_date
        FROM q
        WHERE q.to_date IS NULL OR q.to_date > q.from_date
    )

    INSERT INTO pg_temp.synced_leads (lead_id, lead_source, created_date, qualified_date)
    SELECT q.lead_id, q.lead_source, q.created_date, q.qualified_date
    FROM q
    WHERE q.segment_kind = 'start';

    -- funnel steps per (lead source, day): total_step changes every day from `day` on,
    -- new_step and sqls_step that day only; the stored part is taken away, the new one added;
    -- the changes, as running sums of the steps, move the stored rows of the computed days
    -- they reach (the new values come back, for the rows left with nothing and the check)
    WITH
    steps AS MATERIALIZED (
        SELECT
            p.lead_source,
            p.step_date,
            sum(p.total_step) AS total_step,
            sum(p.new_step) AS new_step,
            sum(p.sqls_step) AS sqls_step
        FROM (
            SELECT n.lead_source, n.created_date AS step_date, 1 AS total_step, 1 AS new_step,
                0 AS sqls_step
            FROM pg_temp.synced_leads AS n
            UNION ALL
            SELECT n.lead_source, n.qualified_date, 0, 0, 1
            FROM pg_temp.synced_leads AS n
            WHERE n.qualified_date IS NOT NULL
            UNION ALL
            SELECT o.lead_source, o.created_date, -1, -1, 0
            FROM metrics.lead_state AS o
            WHERE o.lead_id = ANY(v_ids)
            UNION ALL
            SELECT o.lead_source, o.qualified_date, 0, 0, -1
            FROM metrics.lead_state AS o
            WHERE o.lead_id = ANY(v_ids) AND o.qualified_date IS NOT NULL
        ) AS p
        GROUP BY 1, 2
        HAVING sum(p.total_step) <> 0 OR sum(p.new_step) <> 0 OR sum(p.sqls_step) <> 0
    ),

    reach AS (
        SELECT k.lead_source, c.metric_date
        FROM (
            SELECT f.lead_source, min(f.step_date) AS first_date
            FROM steps AS f
            GROUP BY 1
        ) AS k
        INNER JOIN metrics.computed_days AS c
            ON c.metric_date >= k.first_date AND c.settings_fingerprint = v_fingerprint
    ),

    events AS (
        SELECT f.lead_source, f.step_date AS metric_date, f.total_step, f.new_step, f.sqls_step,
            false AS is_day
        FROM steps AS f
        UNION ALL
        SELECT r.lead_source, r.metric_date, 0, 0, 0, true
        FROM reach AS r
    ),

    running AS (
        SELECT
            e.lead_source,
            e.metric_date,
            e.is_day,
            sum(e.total_step) OVER (PARTITION BY e.lead_source ORDER BY e.metric_date)
            AS total_change,
            sum(e.new_step) OVER (PARTITION BY e.lead_source, e.metric_date) AS new_change,
            sum(e.sqls_step) OVER (PARTITION BY e.lead_source, e.metric_date) AS sqls_change
        FROM events AS e
    ),

    moved AS (
        INSERT INTO metrics.daily_lead_funnel AS f (
            metric_date, lead_source, total_leads_to_date, new_leads, sqls, opportunities_created
        )
        SELECT r.metric_date, r.lead_source, r.total_change, r.new_change, r.sqls_change, 0
        FROM running AS r
        WHERE r.is_day AND (r.total_change <> 0 OR r.new_change <> 0 OR r.sqls_change <> 0)
        ON CONFLICT (metric_date, lead_source) DO UPDATE
        SET
            total_leads_to_date = f.total_leads_to_date + excluded.total_leads_to_date,
            new_leads = f.new_leads + excluded.new_leads,
            sqls = f.sqls + excluded.sqls,
            computed_at = now()
        RETURNING
            f.metric_date, f.lead_source, f.total_leads_to_date, f.new_leads, f.sqls,
            f.opportunities_created
    )

    SELECT
        count(*),
        coalesce(bool_or(m.total_leads_to_date < 0 OR m.new_leads < 0 OR m.sqls < 0), false),
        coalesce(
            array_agg(m.metric_date) FILTER (
                WHERE m.total_leads_to_date = 0 AND m.sqls = 0 AND m.opportunities_created = 0
            ),
            ARRAY[]::date []
        ),
        coalesce(
            array_agg(m.lead_source) FILTER (
                WHERE m.total_leads_to_date = 0 AND m.sqls = 0 AND m.opportunities_created = 0
            ),
            ARRAY[]::text []
        )
    INTO v_funnel_rows, v_negative, v_empty_days, v_empty_keys
    FROM moved AS m;
    -- a row left with nothing goes (a full refresh leaves it out)
    DELETE FROM metrics.daily_lead_funnel AS f
    USING unnest(v_empty_days, v_empty_keys) AS e (metric_date, lead_source)
    WHERE f.metric_date = e.metric_date AND f.lead_source = e.lead_source;

    -- snapshot steps per (status, day): from that day on, lead_step more (or fewer) leads
    -- hold the status, with created_step more created days; the moved rows' averages come
    -- from their new sums in the same write
    WITH
    steps AS MATERIALIZED (
        SELECT
            p.status,
            p.step_date,
            sum(p.lead_step) AS lead_step,
            sum(p.created_step) AS created_step
        FROM (
            SELECT s.status, x.step_date, x.sign AS lead_step,
                x.sign * (s.created_date - date '2000-01-01') AS created_step
            FROM pg_temp.synced_segments AS s
            CROSS JOIN LATERAL (VALUES (s.from_date, 1), (s.to_date, -1)) AS x (step_date, sign)
            WHERE x.step_date IS NOT NULL
            UNION ALL
            SELECT s.status, x.step_date, -x.sign,
                -x.sign * (s.created_date - date '2000-01-01')
            FROM metrics.lead_segment_state AS s
            CROSS JOIN LATERAL (VALUES (s.from_date, 1), (s.to_date, -1)) AS x (step_date, sign)
            WHERE s.lead_id = ANY(v_ids) AND x.step_date IS NOT NULL
        ) AS p
        GROUP BY 1, 2
        HAVING sum(p.lead_step) <> 0 OR sum(p.created_step) <> 0
    ),

    reach AS (
        SELECT k.status, c.metric_date
        FROM (
            SELECT s.status, min(s.step_date) AS first_date
            FROM steps AS s
            GROUP BY 1
        ) AS k
        INNER JOIN metrics.computed_days AS c
            ON c.metric_date >= k.first_date AND c.settings_fingerprint = v_fingerprint
    ),

    events AS (
        SELECT s.status, s.step_date AS metric_date, s.lead_step, s.created_step,
            false AS is_day
        FROM steps AS s
        UNION ALL
        SELECT r.status, r.metric_date, 0, 0, true
        FROM reach AS r
    ),

    running AS (
        SELECT
            e.status,
            e.metric_date,
            e.is_day,
            sum(e.lead_step) OVER w AS lead_change,
            sum(e.created_step) OVER w AS created_change
        FROM events AS e
        WINDOW w AS (PARTITION BY e.status ORDER BY e.metric_date)
    ),

    moved AS (
        INSERT INTO metrics.lead_stage_snapshot AS s (
            metric_date, status, lead_count, created_day_sum, avg_lead_age_days
        )
        SELECT
            r.metric_date,
            r.status,
            r.lead_change,
            r.created_change,
            CASE
                WHEN r.lead_change > 0 THEN round(
                    (r.lead_change * (r.metric_date - date '2000-01-01') - r.created_change)::numeric
                    / r.lead_change,
                    2
                )
                ELSE 0
            END
        FROM running AS r
        WHERE r.is_day AND (r.lead_change <> 0 OR r.created_change <> 0)
        ON CONFLICT (metric_date, status) DO UPDATE
        SET
            lead_count = s.lead_count + excluded.lead_count,
            created_day_sum = s.created_day_sum + excluded.created_day_sum,
            -- rows from before the lead state (no sum) keep theirs until recomputed
            avg_lead_age_days = CASE
                WHEN s.created_day_sum IS NULL OR s.lead_count + excluded.lead_count <= 0
                    THEN s.avg_lead_age_days
                ELSE round(
                    (
                        (s.lead_count + excluded.lead_count) * (s.metric_date - date '2000-01-01')
                        - (s.created_day_sum + excluded.created_day_sum)
                    )::numeric
                    / (s.lead_count + excluded.lead_count),
                    2
                )
            END,
            computed_at = now()
        RETURNING s.metric_date, s.status, s.lead_count
    )

    SELECT
        count(*),
        v_negative OR coalesce(bool_or(m.lead_count < 0), false),
        coalesce(array_agg(m.metric_date) FILTER (WHERE m.lead_count = 0), ARRAY[]::date []),
        coalesce(array_agg(m.status) FILTER (WHERE m.lead_count = 0), ARRAY[]::text [])
    INTO v_snapshot_rows, v_negative, v_empty_days, v_empty_keys
    FROM moved AS m;
    -- a negative count means the facts and the state disagreed
    IF v_negative THEN
        RAISE EXCEPTION 'lead facts and metrics.lead_state disagree (a count went negative)'
            USING
                ERRCODE = 'data_exception',
                HINT = 'rebuild them: SELECT metrics.backfill_date_range(first day, last day)'
                || ' after SELECT metrics.sync_lead_state(true) as the owner';
    END IF;
    DELETE FROM metrics.lead_stage_snapshot AS s
    USING unnest(v_empty_days, v_empty_keys) AS e (metric_date, status)
    WHERE s.metric_date = e.metric_date AND s.status = e.status;

    -- the stored state becomes the new one, writing only what differs: leads gone are
    -- deleted, changed ones updated, new ones inserted; a lead's segments are compared as a
    -- multiset (per distinct segment, every stored copy goes and the new copies come)
    DELETE FROM metrics.lead_state AS o
    WHERE
        o.lead_id = ANY(v_ids)
        AND NOT EXISTS (SELECT FROM pg_temp.synced_leads AS n WHERE n.lead_id = o.lead_id);
    INSERT INTO metrics.lead_state AS o (lead_id, lead_source, created_date, qualified_date)
    SELECT n.lead_id, n.lead_source, n.created_date, n.qualified_date
    FROM pg_temp.synced_leads AS n
    ON CONFLICT (lead_id) DO UPDATE
    SET
        lead_source = excluded.lead_source,
        created_date = excluded.created_date,
        qualified_date = excluded.qualified_date
    WHERE
        (o.lead_source, o.created_date, o.qualified_date)
        IS DISTINCT FROM (excluded.lead_source, excluded.created_date, excluded.qualified_date);
    WITH
    differing AS MATERIALIZED (
        SELECT
            x.lead_id,
            x.status,
            x.from_date,
            x.to_date,
            x.created_date,
            count(*) FILTER (WHERE x.is_new) AS new_copies
        FROM (
            SELECT n.lead_id, n.status, n.from_date, n.to_date, n.created_date, true AS is_new
            FROM pg_temp.synced_segments AS n
            UNION ALL
            SELECT o.lead_id, o.status, o.from_date, o.to_date, o.created_date, false
            FROM metrics.lead_segment_state AS o
            WHERE o.lead_id = ANY(v_ids)
        ) AS x
        GROUP BY 1, 2, 3, 4, 5
        HAVING count(*) FILTER (WHERE x.is_new) <> count(*) FILTER (WHERE NOT x.is_new)
    ),

    removed AS (
        DELETE FROM metrics.lead_segment_state AS o
        USING differing AS d
        WHERE
            o.lead_id = d.lead_id
            AND o.status = d.status
            AND o.from_date = d.from_date
            AND o.to_date IS NOT DISTINCT FROM d.to_date
            AND o.created_date = d.created_date
    )

    INSERT INTO metrics.lead_segment_state (lead_id, status, from_date, to_date, created_date)
    SELECT d.lead_id, d.status, d.from_date, d.to_date, d.created_date
    FROM differing AS d
    CROSS JOIN LATERAL generate_series(1, d.new_copies) AS c (copy_number);

    DROP TABLE pg_temp.synced_leads, pg_temp.synced_segments;
    RETURN jsonb_build_object(
        'leads', cardinality(v_ids), 'rebuilt', false,
        'funnel_rows', v_funnel_rows, 'snapshot_rows', v_snapshot_rows
    );
END
$$;
COMMENT ON FUNCTION metrics.sync_lead_state(boolean, boolean) IS
'Re-derives the changed leads'' state and moves the lead facts of every computed day with it.';
