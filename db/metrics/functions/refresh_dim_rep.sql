-- metrics.refresh_dim_rep: rebuilds metrics.dim_rep from the current Users and the rep facts.
-- Called by metrics.run_metrics_range after the fact tables (so every run, run_daily_metrics
-- and backfill maintains it in the same transaction) and by metrics.verify_range.
--
-- Grain: one row per reporting rep_id: every User in crm.reps (deleted ones too: they still
-- name the work they owned), every other rep_id of rep_daily_activity / rep_daily_pipeline
-- (an owner missing from crm.reps: rep_kind 'unknown', rep_name 'Unknown'), and always '-1'
-- (queues and no owner: 'Unassigned').
-- Inputs: crm_remote.reps (one fetch of every User), metrics.rep_daily_activity,
-- metrics.rep_daily_pipeline.
-- Columns: rep_name as the facts name the rep (metrics.rep_label: a blank name is 'Unknown');
-- manager_name the manager's rep_label ('Unknown' when the manager is not in crm.reps);
-- role_name, team_name, department, title, division from the User record's raw JSON, where
-- the export has them: keys match ignoring case and anything but letters and digits, one level
-- of nesting is flattened (REST `"UserRole": {"Name": ...}`, bulk `"UserRole.Name"` and
-- snake_case `user_role_name` all read as userrolename; team_name from `Team__c` or `Team`);
-- only string and number values count, blank is NULL. first_metric_date / last_metric_date:
-- the first and last metric day with a row for the rep in either rep fact table.
-- Why a full rebuild every run: Users are few (one fetch), and email, activity flag, manager,
-- role and department changes are not in the change log (it records renames only), so
-- rebuilding is what makes any User change reach the dimension on the next run. Only rows
-- that differ are written (updated_at says when a row last changed); rows of reps gone from
-- both the source and the facts are deleted.
-- Returns the number of rows inserted, updated or deleted.
CREATE OR REPLACE FUNCTION metrics.refresh_dim_rep()
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rows bigint;
BEGIN
    WITH
    users AS MATERIALIZED (
        SELECT
            rr.rep_id,
            rr.name,
            rr.email,
            rr.is_active,
            rr.is_deleted,
            rr.manager_id,
            rr.raw
        FROM crm_remote.reps AS rr
    ),

    raw_fields AS (
        SELECT
            u.rep_id,
            lower(regexp_replace(e.key, '[^[:alnum:]]', '', 'g')) AS field_key,
            e.value AS field_value
        FROM users AS u
        CROSS JOIN LATERAL jsonb_each(
            CASE WHEN jsonb_typeof(u.raw) = 'object' THEN u.raw ELSE '{}'::jsonb END
        ) AS e
    ),

    -- top-level scalars, and the scalars of nested objects under parent key + child key
    flat_fields AS (
        SELECT f.rep_id, f.field_key, f.field_value
        FROM raw_fields AS f
        WHERE jsonb_typeof(f.field_value) IN ('string', 'number')
        UNION ALL
        SELECT
            f.rep_id,
            f.field_key || lower(regexp_replace(n.key, '[^[:alnum:]]', '', 'g')),
            n.value
        FROM raw_fields AS f
        CROSS JOIN LATERAL jsonb_each(f.field_value) AS n
        WHERE
            jsonb_typeof(f.field_value) = 'object'
            AND jsonb_typeof(n.value) IN ('string', 'number')
    ),

    attributes AS (
        SELECT
            ff.rep_id,
            min(nullif(btrim(ff.field_value #>> '{}'), '')) FILTER (
                WHERE ff.field_key = 'userrolename'
            ) AS role_name,
            min(nullif(btrim(ff.field_value #>> '{}'), '')) FILTER (
                WHERE ff.field_key IN ('teamc', 'team')
            ) AS team_name,
            min(nullif(btrim(ff.field_value #>> '{}'), '')) FILTER (
                WHERE ff.field_key = 'department'
            ) AS department,
            min(nullif(btrim(ff.field_value #>> '{}'), '')) FILTER (
                WHERE ff.field_key = 'title'
            ) AS title,
            min(nullif(btrim(ff.field_value #>> '{}'), '')) FILTER (
                WHERE ff.field_key = 'division'
            ) AS division
        FROM flat_fields AS ff
        GROUP BY ff.rep_id
    ),

    -- the rep_ids of the facts, one index probe each (a skip scan over (rep_id, metric_date)),
    -- then each one's first and last day from the ends of its index range: the cost follows
    -- the reps, not the days of history (migration 0008)
    fact_reps AS (
        WITH RECURSIVE
        activity_reps AS (
            SELECT min(a.rep_id) AS rep_id FROM metrics.rep_daily_activity AS a
            UNION ALL
            SELECT (
                SELECT min(a.rep_id) FROM metrics.rep_daily_activity AS a
                WHERE a.rep_id > r.rep_id
            )
            FROM activity_reps AS r
            WHERE r.rep_id IS NOT NULL
        ),

        pipeline_reps AS (
            SELECT min(p.rep_id) AS rep_id FROM metrics.rep_daily_pipeline AS p
            UNION ALL
            SELECT (
                SELECT min(p.rep_id) FROM metrics.rep_daily_pipeline AS p
                WHERE p.rep_id > r.rep_id
            )
            FROM pipeline_reps AS r
            WHERE r.rep_id IS NOT NULL
        )

        SELECT a.rep_id FROM activity_reps AS a WHERE a.rep_id IS NOT NULL
        UNION
        SELECT p.rep_id FROM pipeline_reps AS p WHERE p.rep_id IS NOT NULL
    ),

    fact_days AS (
        SELECT
            r.rep_id,
            least(
                (
                    SELECT min(a.metric_date) FROM metrics.rep_daily_activity AS a
                    WHERE a.rep_id = r.rep_id
                ),
                (
                    SELECT min(p.metric_date) FROM metrics.rep_daily_pipeline AS p
                    WHERE p.rep_id = r.rep_id
                )
            ) AS first_metric_date,
            greatest(
                (
                    SELECT max(a.metric_date) FROM metrics.rep_daily_activity AS a
                    WHERE a.rep_id = r.rep_id
                ),
                (
                    SELECT max(p.metric_date) FROM metrics.rep_daily_pipeline AS p
                    WHERE p.rep_id = r.rep_id
                )
            ) AS last_metric_date
        FROM fact_reps AS r
    ),

    fresh AS MATERIALIZED (
        SELECT
            u.rep_id,
            metrics.rep_label(u.rep_id, u.name) AS rep_name,
            'user' AS rep_kind,
            nullif(btrim(u.email), '') AS email,
            u.is_active,
            u.is_deleted,
            nullif(btrim(u.manager_id), '') AS manager_id,
            CASE
                WHEN nullif(btrim(u.manager_id), '') IS NOT NULL
                    THEN metrics.rep_label(u.manager_id, m.name)
            END AS manager_name,
            at.role_name,
            at.team_name,
            at.department,
            at.title,
            at.division,
            fd.first_metric_date,
            fd.last_metric_date
        FROM users AS u
        LEFT JOIN users AS m
            ON btrim(u.manager_id) = m.rep_id
        LEFT JOIN attributes AS at
            ON u.rep_id = at.rep_id
        LEFT JOIN fact_days AS fd
            ON u.rep_id = fd.rep_id
        WHERE u.rep_id <> '-1'
        UNION ALL
        SELECT
            fd.rep_id,
            metrics.rep_label(fd.rep_id, NULL),
            'unknown',
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            fd.first_metric_date,
            fd.last_metric_date
        FROM fact_days AS fd
        WHERE
            fd.rep_id <> '-1'
            AND NOT EXISTS (SELECT FROM users AS u WHERE u.rep_id = fd.rep_id)
        UNION ALL
        SELECT
            '-1',
            metrics.rep_label('-1', NULL),
            'unassigned',
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            (SELECT fd.first_metric_date FROM fact_days AS fd WHERE fd.rep_id = '-1'),
            (SELECT fd.last_metric_date FROM fact_days AS fd WHERE fd.rep_id = '-1')
    ),

    removed AS (
        DELETE FROM metrics.dim_rep AS d
        WHERE NOT EXISTS (SELECT FROM fresh AS f WHERE f.rep_id = d.rep_id)
        RETURNING 1
    ),

    upserted AS (
        INSERT INTO metrics.dim_rep AS d (
            rep_id, rep_name, rep_kind, email, is_active, is_deleted, manager_id, manager_name,
            role_name, team_name, department, title, division, first_metric_date,
            last_metric_date, updated_at
        )
        SELECT
            f.rep_id, f.rep_name, f.rep_kind, f.email, f.is_active, f.is_deleted, f.manager_id,
            f.manager_name, f.role_name, f.team_name, f.department, f.title, f.division,
            f.first_metric_date, f.last_metric_date, clock_timestamp()
        FROM fresh AS f
        ON CONFLICT (rep_id) DO UPDATE
        SET
            rep_name = excluded.rep_name,
            rep_kind = excluded.rep_kind,
            email = excluded.email,
            is_active = excluded.is_active,
            is_deleted = excluded.is_deleted,
            manager_id = excluded.manager_id,
            manager_name = excluded.manager_name,
            role_name = excluded.role_name,
            team_name = excluded.team_name,
            department = excluded.department,
            title = excluded.title,
            division = excluded.division,
            first_metric_date = excluded.first_metric_date,
            last_metric_date = excluded.last_metric_date,
            updated_at = excluded.updated_at
        WHERE
            (
                d.rep_name, d.rep_kind, d.email, d.is_active, d.is_deleted, d.manager_id,
                d.manager_name, d.role_name, d.team_name, d.department, d.title, d.division,
                d.first_metric_date, d.last_metric_date
            ) IS DISTINCT FROM (
                excluded.rep_name, excluded.rep_kind, excluded.email, excluded.is_active,
                excluded.is_deleted, excluded.manager_id, excluded.manager_name,
                excluded.role_name, excluded.team_name, excluded.department, excluded.title,
                excluded.division, excluded.first_metric_date, excluded.last_metric_date
            )
        RETURNING 1
    )

    SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM upserted)
    INTO v_rows;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION metrics.refresh_dim_rep() IS
'Rebuilds metrics.dim_rep (one row per reporting rep_id) from crm.reps and the rep facts.';
