-- 0003_transfer_metrics_to_owner: the NOLOGIN role revops_owner owns everything in the
-- metrics database; revops_runner owns nothing and keeps only EXECUTE on the entry points
-- (granted by grants.sql).
--
-- Grain: the whole metrics database, once. Runs as the bootstrap admin.
-- Inputs: objects created by 0001/0002 (owned by revops_runner) and the repeatable functions of
-- earlier bootstraps (owned by the admin).
-- Why: while the login role revops_runner owned the schemas and tables, it could drop and
-- recreate any function in them, or add triggers, rules or policies, and code running as the
-- superuser (bootstrap, SECURITY DEFINER functions) would then run its code: a path to
-- superuser. An installation that ran as the old model may already hold such objects, so this
-- migration removes whatever a login role could have planted (functions, triggers, rules,
-- policies, foreign tables) before handing the rest to revops_owner; bootstrap re-creates the
-- functions, views and foreign tables from the repository right after, as revops_owner.

DO $owner$
DECLARE
    v_object record;
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO revops_owner', current_database());
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM revops_runner', current_database());

    -- functions a login role created (ours were created by the bootstrap admin): planted or
    -- replaced code; CASCADE also removes what was built on them (triggers, column defaults)
    FOR v_object IN
        SELECT p.oid::regprocedure AS signature, p.prokind
        FROM pg_catalog.pg_proc AS p
        INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
        INNER JOIN pg_catalog.pg_roles AS r ON p.proowner = r.oid
        WHERE
            n.nspname IN ('metrics', 'crm_remote', 'public')
            AND r.rolname IN ('revops_runner', 'revops_bi', 'revops_etl', 'revops_fdw_reader')
    LOOP
        RAISE WARNING 'dropping % % (owned by a login role; not part of this product)',
            CASE v_object.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
            v_object.signature;
        EXECUTE format(
            'DROP %s %s CASCADE',
            CASE v_object.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
            v_object.signature
        );
    END LOOP;

    -- the product defines no triggers, rules or row-level security in these schemas
    FOR v_object IN
        SELECT t.tgname, t.tgrelid::regclass AS relation
        FROM pg_catalog.pg_trigger AS t
        INNER JOIN pg_catalog.pg_class AS c ON t.tgrelid = c.oid
        INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
        WHERE n.nspname IN ('metrics', 'crm_remote') AND NOT t.tgisinternal
    LOOP
        RAISE WARNING 'dropping trigger % on %', v_object.tgname, v_object.relation;
        EXECUTE format('DROP TRIGGER %I ON %s', v_object.tgname, v_object.relation);
    END LOOP;
    FOR v_object IN
        SELECT rw.rulename, rw.ev_class::regclass AS relation
        FROM pg_catalog.pg_rewrite AS rw
        INNER JOIN pg_catalog.pg_class AS c ON rw.ev_class = c.oid
        INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
        WHERE n.nspname IN ('metrics', 'crm_remote') AND rw.rulename <> '_RETURN'
    LOOP
        RAISE WARNING 'dropping rule % on %', v_object.rulename, v_object.relation;
        EXECUTE format('DROP RULE %I ON %s', v_object.rulename, v_object.relation);
    END LOOP;
    FOR v_object IN
        SELECT pol.polname, pol.polrelid::regclass AS relation
        FROM pg_catalog.pg_policy AS pol
        INNER JOIN pg_catalog.pg_class AS c ON pol.polrelid = c.oid
        INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
        WHERE n.nspname IN ('metrics', 'crm_remote')
    LOOP
        EXECUTE format('DROP POLICY %I ON %s', v_object.polname, v_object.relation);
    END LOOP;
    FOR v_object IN
        SELECT c.oid::regclass AS relation
        FROM pg_catalog.pg_class AS c
        INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
        WHERE
            n.nspname = 'metrics'
            AND c.relkind IN ('r', 'p')
            AND (c.relrowsecurity OR c.relforcerowsecurity)
    LOOP
        EXECUTE format(
            'ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY',
            v_object.relation
        );
    END LOOP;

    -- foreign tables are re-imported by bootstrap through revops_owner's user mapping, so
    -- none keeps options a login role chose
    FOR v_object IN
        SELECT c.oid::regclass AS relation
        FROM pg_catalog.pg_class AS c
        INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
        WHERE n.nspname = 'crm_remote' AND c.relkind = 'f'
    LOOP
        EXECUTE format('DROP FOREIGN TABLE %s CASCADE', v_object.relation);
    END LOOP;

    -- the product's own functions (created by the admin) now belong to revops_owner
    FOR v_object IN
        SELECT p.oid::regprocedure AS signature
        FROM pg_catalog.pg_proc AS p
        INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
        WHERE n.nspname = 'metrics' AND p.prokind = 'f'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO revops_owner', v_object.signature);
    END LOOP;
END
$owner$;

-- schemas, tables (with their identity sequences), views and anything else left
REASSIGN OWNED BY revops_runner TO revops_owner;
ALTER SCHEMA metrics OWNER TO revops_owner;
ALTER SCHEMA crm_remote OWNER TO revops_owner;

-- what the runner (or anyone) was granted directly on the objects; grants.sql gives back
-- exactly the product's privileges
REVOKE ALL ON ALL TABLES IN SCHEMA metrics FROM PUBLIC, revops_runner, revops_bi;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA metrics FROM PUBLIC, revops_runner, revops_bi;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA metrics FROM PUBLIC, revops_runner, revops_bi;
REVOKE ALL ON SCHEMA crm_remote FROM PUBLIC, revops_runner, revops_bi;
REVOKE ALL ON SCHEMA metrics FROM PUBLIC, revops_runner, revops_bi;

-- the sync function altered the foreign server as its SECURITY DEFINER owner on the run path;
-- bootstrap now sets the server option and runs only check it (metrics.check_source_settings)
DROP FUNCTION IF EXISTS metrics.sync_source_settings();
-- lock_metrics() became lock_metrics(numeric) returning whether the lock was taken in time
DROP FUNCTION IF EXISTS metrics.lock_metrics();

INSERT INTO metrics.settings (setting_name, setting_value, description)
VALUES (
    'lock_wait_seconds', '300',
    'How long a run waits for the metrics lock held by another run before it is logged as skipped.'
)
ON CONFLICT (setting_name) DO NOTHING;
