-- 0002_grant_crm_access: least-privilege access to the source database (revops_training).
--
-- revops_etl writes crm.*; revops_fdw_reader reads crm.* (the FDW user mappings log in as it);
-- nobody else, PUBLIC included, can connect or read. revops_runner and revops_bi get nothing
-- here: the metrics database reaches crm only through the read-only FDW role.
DO $grants$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format(
        'GRANT CONNECT, TEMPORARY ON DATABASE %I TO revops_etl, revops_fdw_reader',
        current_database()
    );
END
$grants$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA crm FROM PUBLIC;
GRANT USAGE ON SCHEMA crm TO revops_etl, revops_fdw_reader;

GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA crm TO revops_etl;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA crm TO revops_etl;
GRANT SELECT ON ALL TABLES IN SCHEMA crm TO revops_fdw_reader;

-- Tables added by later migrations (run by the bootstrap admin) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA crm
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO revops_etl;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT USAGE, SELECT ON SEQUENCES TO revops_etl;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT SELECT ON TABLES TO revops_fdw_reader;
