-- crm.capture_horizon: what a metrics run may consume from crm.change_log, read through
-- postgres_fdw in the run's own remote transaction (so it agrees with every row the run reads).
-- Grain: one row.
-- * xmin_horizon: the oldest transaction still running in this snapshot: every change with a
--   smaller xact_id is final and visible, none with a larger one is consumed yet;
-- * ingest_running: a `revops ingest` invocation holds its advisory lock (key 7311003): its
--   files commit one by one, and a run waits for the whole invocation rather than consume
--   half of it;
-- * pruned_through_xact: changes up to this transaction id were pruned (crm.prune_change_log).
CREATE OR REPLACE VIEW crm.capture_horizon AS
SELECT
    pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin_horizon,
    EXISTS (
        SELECT
        FROM pg_locks AS lk
        WHERE
            lk.locktype = 'advisory'
            AND lk.database = (
                SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database()
            )
            AND lk.classid = 0
            AND lk.objid = 7311003
            AND lk.objsubid = 1
            AND lk.granted
    ) AS ingest_running,
    (SELECT s.pruned_through_xact FROM crm.capture_state AS s) AS pruned_through_xact;

COMMENT ON VIEW crm.capture_horizon IS
'Transaction horizon, running ingest and prune mark for consuming crm.change_log.';
GRANT SELECT ON crm.capture_horizon TO revops_fdw_reader;
