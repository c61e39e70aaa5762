-- metrics.data_quality_report: the rows of the view metrics.data_quality, for `revops check`
-- run as revops_runner (which executes entry points only and reads no view or table itself).
-- Grain: one row per check.
CREATE OR REPLACE FUNCTION metrics.data_quality_report()
RETURNS TABLE (
    check_name text,
    severity text,
    affected_count bigint,
    sample_ids text [],
    description text
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT q.check_name, q.severity, q.affected_count, q.sample_ids, q.description
    FROM metrics.data_quality AS q;
$$;
COMMENT ON FUNCTION metrics.data_quality_report() IS 'The metrics.data_quality rows (for revops check).';
