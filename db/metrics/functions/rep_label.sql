-- metrics.rep_label: the rep_name reported for a bucketed rep_id (see metrics.rep_bucket) and
-- the name found in crm.reps: '-1' is 'Unassigned'; an owner missing from crm.reps (or with a
-- blank name) is 'Unknown'. Inlinable (no SET clause, no table access).
CREATE OR REPLACE FUNCTION metrics.rep_label(p_rep_id text, p_rep_name text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_rep_id = '-1' THEN 'Unassigned'
        ELSE coalesce(nullif(btrim(p_rep_name), ''), 'Unknown')
    END;
$$;
COMMENT ON FUNCTION metrics.rep_label(text, text) IS 'rep_name for a reporting rep_id: Unassigned / Unknown / the name.';
