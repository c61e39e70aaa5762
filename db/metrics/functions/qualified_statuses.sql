-- metrics.qualified_statuses: lead statuses that mean sales-qualified, trimmed and lowercased
-- so comparisons against lower(btrim(status)) are case-insensitive (setting qualified_statuses).
CREATE OR REPLACE FUNCTION metrics.qualified_statuses()
RETURNS text []
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(lower(btrim(s.status_name))), ARRAY[]::text [])
    FROM jsonb_array_elements_text(metrics.setting('qualified_statuses')) AS s (status_name);
$$;
COMMENT ON FUNCTION metrics.qualified_statuses() IS 'Qualified lead statuses, trimmed and lowercased.';
