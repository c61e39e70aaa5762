-- roles: the application roles of the product, cluster-wide (repeatable, idempotent).
--
-- Grain: one role each; none is a superuser or can create roles or databases.
-- Inputs: none. Passwords and LOGIN are set afterwards by `revops bootstrap` as SCRAM verifiers
-- computed client-side, so no plaintext password is ever part of a statement text here.
-- Why NOLOGIN on creation: a role is unusable until bootstrap has given it a password.
-- revops_owner never logs in: it owns the metrics database's objects, and only the bootstrap
-- admin becomes it (SET ROLE) to create or alter them. No login role is a member of it.
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[
        'revops_etl', 'revops_fdw_reader', 'revops_runner', 'revops_bi', 'revops_owner'
    ]
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
        -- only when an attribute differs: a non-superuser admin (CREATEROLE, e.g. the RDS
        -- master user) may not name SUPERUSER, REPLICATION or BYPASSRLS at all, even to deny them
        IF EXISTS (
            SELECT FROM pg_catalog.pg_roles
            WHERE
                rolname = v_role
                AND (
                    rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls
                    OR NOT rolinherit
                )
        ) THEN
            EXECUTE format(
                'ALTER ROLE %I NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT',
                v_role
            );
        END IF;
    END LOOP;
    ALTER ROLE revops_owner NOLOGIN PASSWORD NULL;
END
$roles$;

-- A run that leaves a transaction open (and with it the metrics lock) is ended by the server
-- instead of blocking every later run.
ALTER ROLE revops_runner SET idle_in_transaction_session_timeout = '10min';

COMMENT ON ROLE revops_etl IS 'Writes crm.* in the source database; nothing in the metrics database.';
COMMENT ON ROLE revops_fdw_reader IS 'SELECT on crm.* only; used by the postgres_fdw user mapping.';
COMMENT ON ROLE revops_owner IS
'NOLOGIN owner of the metrics database objects; entry points run as it (SECURITY DEFINER).';
COMMENT ON ROLE revops_runner IS 'EXECUTE on the metric entry points only; owns nothing.';
COMMENT ON ROLE revops_bi IS 'SELECT on metrics facts and views only.';
