-- crm.capture_changes: the statement-level trigger function behind change capture, and the
-- triggers that call it (repeatable: CREATE OR REPLACE).
--
-- Grain: one call per INSERT, UPDATE, DELETE or TRUNCATE statement on crm.leads,
-- crm.lead_status_history, crm.opportunities, crm.activities and crm.reps; it appends to
-- crm.change_log the metric days the old and the new version of every changed row touch.
-- A row rewritten with identical metric-relevant columns records nothing.
-- What each table touches (ARCHITECTURE.md section 6):
-- * leads: every day from the earliest of its created instant and converted date on (totals,
--   SQL day, snapshot are cumulative), plus the created day of the opportunity it converted
--   into when what that opportunity's funnel lead source reads changed (source, conversion,
--   created instant, deletion);
-- * lead_status_history: every day from the earliest of the change and its lead's creation on
--   (a first history row also rewrites the status the lead started with);
-- * opportunities: its created day when what the created day's rows read changed (created
--   instant, owner, amount, lead source, deletion), its close date when what the close day's
--   rows read changed (close date, won flag, stage, owner, amount, deletion): closing a deal
--   touches its close day only;
-- * activities: its activity date, the day of its start and of its creation (whichever the
--   activity-day rule picks);
-- * reps: the rep Id (its name on every day); TRUNCATE of any of them: every day.
-- Writes to leads and lead_status_history also record the distinct lead Ids of the statement
-- (lead_ids): the metrics side re-derives exactly those leads' state (metrics.sync_lead_state).
-- Point instants are folded into their UTC day (the consumer maps a UTC day to the one or two
-- local days it overlaps), dates into distinct dates: a bulk load of a year of activities adds
-- a few hundred rows, not one per activity. "Every day from here on" keeps the exact instant.
-- Why dynamic SQL: transition tables exist only for the events that have them; the one query
-- per table reads an empty relation in their place.
-- Why SECURITY INVOKER: the writer's own INSERT privilege on crm.change_log is enough, and a
-- writer cannot skip the trigger (it does not own the tables).
CREATE OR REPLACE FUNCTION crm.capture_changes()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_none text := format('(SELECT * FROM %I.%I WHERE false)', TG_TABLE_SCHEMA, TG_TABLE_NAME);
    v_old text := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN 'old_rows' ELSE v_none END;
    v_new text := CASE WHEN TG_OP IN ('UPDATE', 'INSERT') THEN 'new_rows' ELSE v_none END;
    v_xact bigint := pg_current_xact_id()::text::bigint;
    v_query text;
BEGIN
    -- after a TRUNCATE in this transaction every day is already due: bulk reloads (the
    -- generator) pay nothing more per row
    IF EXISTS (
        SELECT
        FROM crm.change_log AS c
        WHERE
            c.xact_id = v_xact
            AND c.source_table = TG_TABLE_NAME
            AND c.affected_at = '-infinity'
    ) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO crm.change_log (source_table, affected_at, through_today)
        VALUES (TG_TABLE_NAME, '-infinity', true);
        RETURN NULL;
    END IF;

    v_query := CASE TG_TABLE_NAME
        WHEN 'leads' THEN $q$
            WITH changed AS MATERIALIZED (
                SELECT
                    coalesce(n.lead_id, o.lead_id) AS lead_id,
                    o.created_at AS old_created_at, n.created_at AS new_created_at,
                    o.converted_date AS old_converted_date,
                    n.converted_date AS new_converted_date,
                    o.converted_opportunity_id AS old_opportunity_id,
                    n.converted_opportunity_id AS new_opportunity_id,
                    -- what an opportunity's funnel lead source reads of its converted leads
                    ROW(o.lead_source, o.converted_opportunity_id, o.created_at, o.is_deleted)
                    IS DISTINCT FROM
                    ROW(n.lead_source, n.converted_opportunity_id, n.created_at, n.is_deleted)
                    AS moves_opportunity_source
                FROM %1$s AS o
                FULL JOIN %2$s AS n ON o.lead_id = n.lead_id
                WHERE
                    ROW(o.status, o.lead_source, o.created_at, o.is_converted, o.converted_date,
                        o.converted_opportunity_id, o.last_modified_at, o.is_deleted)
                    IS DISTINCT FROM
                    ROW(n.status, n.lead_source, n.created_at, n.is_converted, n.converted_date,
                        n.converted_opportunity_id, n.last_modified_at, n.is_deleted)
            )
            INSERT INTO crm.change_log (
                source_table, affected_at, affected_date, through_today, lead_ids
            )
            SELECT 'leads', s.affected_at, s.affected_date, true, s.lead_ids
            FROM (
                SELECT
                    min(least(c.old_created_at, c.new_created_at)) AS affected_at,
                    min(least(c.old_converted_date, c.new_converted_date)) AS affected_date,
                    array_agg(DISTINCT c.lead_id) AS lead_ids
                FROM changed AS c
            ) AS s
            WHERE s.affected_at IS NOT NULL OR s.affected_date IS NOT NULL
            UNION ALL
            SELECT DISTINCT
                'leads',
                date_bin('1 day', op.created_at, timestamptz '2000-01-01 00:00+00'),
                NULL::date,
                false,
                NULL::text []
            FROM changed AS c
            INNER JOIN crm.opportunities AS op
                ON op.opportunity_id IN (c.old_opportunity_id, c.new_opportunity_id)
            WHERE op.created_at IS NOT NULL AND c.moves_opportunity_source
        $q$
        WHEN 'lead_status_history' THEN $q$
            WITH changed AS MATERIALIZED (
                SELECT
                    o.lead_id AS old_lead_id, n.lead_id AS new_lead_id,
                    o.changed_at AS old_changed_at, n.changed_at AS new_changed_at
                FROM %1$s AS o
                FULL JOIN %2$s AS n ON o.history_id = n.history_id
                WHERE
                    ROW(o.lead_id, o.changed_at, o.old_status, o.new_status, o.is_deleted)
                    IS DISTINCT FROM
                    ROW(n.lead_id, n.changed_at, n.old_status, n.new_status, n.is_deleted)
            )
            INSERT INTO crm.change_log (source_table, affected_at, through_today, lead_ids)
            SELECT 'lead_status_history', s.affected_at, true, s.lead_ids
            FROM (
                SELECT
                    min(least(c.old_changed_at, c.new_changed_at, l.created_at)) AS affected_at,
                    (
                        SELECT array_agg(DISTINCT i.lead_id)
                        FROM changed AS x
                        CROSS JOIN LATERAL (VALUES (x.old_lead_id), (x.new_lead_id)) AS i (lead_id)
                        WHERE i.lead_id IS NOT NULL
                    ) AS lead_ids
                FROM changed AS c
                LEFT JOIN crm.leads AS l
                    ON l.lead_id IN (c.old_lead_id, c.new_lead_id)
            ) AS s
            WHERE s.affected_at IS NOT NULL
        $q$
        WHEN 'opportunities' THEN $q$
            WITH changed AS MATERIALIZED (
                SELECT
                    o.created_at AS old_created_at, n.created_at AS new_created_at,
                    o.close_date AS old_close_date, n.close_date AS new_close_date,
                    -- what its created day's rows read (funnel, pipeline created)
                    ROW(o.created_at, o.owner_id, o.amount, o.lead_source, o.is_deleted)
                    IS DISTINCT FROM
                    ROW(n.created_at, n.owner_id, n.amount, n.lead_source, n.is_deleted)
                    AS moves_created_day,
                    -- what its close day's rows read (pipeline won)
                    ROW(o.close_date, o.is_won, o.stage_name, o.owner_id, o.amount, o.is_deleted)
                    IS DISTINCT FROM
                    ROW(n.close_date, n.is_won, n.stage_name, n.owner_id, n.amount, n.is_deleted)
                    AS moves_close_day
                FROM %1$s AS o
                FULL JOIN %2$s AS n ON o.opportunity_id = n.opportunity_id
                WHERE
                    ROW(o.owner_id, o.amount, o.created_at, o.close_date, o.is_won, o.stage_name,
                        o.lead_source, o.is_deleted)
                    IS DISTINCT FROM
                    ROW(n.owner_id, n.amount, n.created_at, n.close_date, n.is_won, n.stage_name,
                        n.lead_source, n.is_deleted)
            )
            INSERT INTO crm.change_log (source_table, affected_at, affected_date)
            SELECT DISTINCT
                'opportunities',
                date_bin('1 day', p.affected_at, timestamptz '2000-01-01 00:00+00'),
                p.affected_date
            FROM changed AS c
            CROSS JOIN LATERAL (
                SELECT x.affected_at, NULL::date AS affected_date
                FROM (VALUES (c.old_created_at), (c.new_created_at)) AS x (affected_at)
                WHERE c.moves_created_day
                UNION ALL
                SELECT NULL::timestamptz, x.affected_date
                FROM (VALUES (c.old_close_date), (c.new_close_date)) AS x (affected_date)
                WHERE c.moves_close_day
            ) AS p
            WHERE p.affected_at IS NOT NULL OR p.affected_date IS NOT NULL
        $q$
        WHEN 'activities' THEN $q$
            WITH changed AS MATERIALIZED (
                SELECT
                    o.activity_date AS old_activity_date, n.activity_date AS new_activity_date,
                    o.activity_at AS old_activity_at, n.activity_at AS new_activity_at,
                    o.created_at AS old_created_at, n.created_at AS new_created_at
                FROM %1$s AS o
                FULL JOIN %2$s AS n ON o.activity_id = n.activity_id
                WHERE
                    ROW(o.owner_id, o.source_object, o.type, o.task_subtype, o.call_type,
                        o.activity_date, o.activity_at, o.created_at, o.is_child, o.is_deleted,
                        o.is_all_day_event)
                    IS DISTINCT FROM
                    ROW(n.owner_id, n.source_object, n.type, n.task_subtype, n.call_type,
                        n.activity_date, n.activity_at, n.created_at, n.is_child, n.is_deleted,
                        n.is_all_day_event)
            )
            INSERT INTO crm.change_log (source_table, affected_at, affected_date)
            SELECT DISTINCT
                'activities',
                date_bin('1 day', p.affected_at, timestamptz '2000-01-01 00:00+00'),
                p.affected_date
            FROM changed AS c
            CROSS JOIN LATERAL (
                VALUES
                (c.old_activity_at, NULL::date), (c.new_activity_at, NULL::date),
                (c.old_created_at, NULL::date), (c.new_created_at, NULL::date),
                (NULL::timestamptz, c.old_activity_date), (NULL::timestamptz, c.new_activity_date)
            ) AS p (affected_at, affected_date)
            WHERE p.affected_at IS NOT NULL OR p.affected_date IS NOT NULL
        $q$
        WHEN 'reps' THEN $q$
            INSERT INTO crm.change_log (source_table, rep_id)
            SELECT DISTINCT 'reps', r.rep_id
            FROM %1$s AS o
            FULL JOIN %2$s AS n ON o.rep_id = n.rep_id
            CROSS JOIN LATERAL (VALUES (o.rep_id), (n.rep_id)) AS r (rep_id)
            WHERE
                r.rep_id IS NOT NULL
                AND o.name IS DISTINCT FROM n.name
        $q$
    END;
    IF v_query IS NULL THEN
        RAISE EXCEPTION 'crm.capture_changes has no rule for crm.%', TG_TABLE_NAME;
    END IF;
    EXECUTE format(v_query, v_old, v_new);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm.capture_changes() IS
'Statement trigger: records in crm.change_log the metric days a write to crm touched.';

DO $triggers$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY[
        'leads', 'lead_status_history', 'opportunities', 'activities', 'reps'
    ]
    LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER capture_insert AFTER INSERT ON crm.%I'
            ' REFERENCING NEW TABLE AS new_rows'
            ' FOR EACH STATEMENT EXECUTE FUNCTION crm.capture_changes()',
            v_table
        );
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER capture_update AFTER UPDATE ON crm.%I'
            ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
            ' FOR EACH STATEMENT EXECUTE FUNCTION crm.capture_changes()',
            v_table
        );
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER capture_delete AFTER DELETE ON crm.%I'
            ' REFERENCING OLD TABLE AS old_rows'
            ' FOR EACH STATEMENT EXECUTE FUNCTION crm.capture_changes()',
            v_table
        );
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER capture_truncate AFTER TRUNCATE ON crm.%I'
            ' FOR EACH STATEMENT EXECUTE FUNCTION crm.capture_changes()',
            v_table
        );
    END LOOP;
END
$triggers$;
