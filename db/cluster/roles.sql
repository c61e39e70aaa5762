-- roles: the four application roles of the product, cluster-wide (repeatable, idempotent).
--
-- Grain: one role each; none is a superuser or can create roles or databases.
-- Inputs: none. Passwords and LOGIN are set afterwards by `revops bootstrap` as SCRAM verifiers
-- computed client-side, so no plaintext password is ever part of a statement text here.
-- Why NOLOGIN on creation: a role is unusable until bootstrap has given it a password.
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['revops_etl', 'revops_fdw_reader', 'revops_runner', 'revops_bi']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
        EXECUTE format(
            'ALTER ROLE %I NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT',
            v_role
        );
    END LOOP;
END
$roles$;

COMMENT ON ROLE revops_etl IS 'Writes crm.* in the source database; nothing in the metrics database.';
COMMENT ON ROLE revops_fdw_reader IS 'SELECT on crm.* only; used by the postgres_fdw user mappings.';
COMMENT ON ROLE revops_runner IS 'Owns metrics.*, runs the metric functions; cannot write crm.';
COMMENT ON ROLE revops_bi IS 'SELECT on metrics facts and views only.';
