-- metrics.rep_bucket: the reporting rep_id of an owner Id. A NULL or blank owner, or a queue
-- (Id prefix 00G), is the Unassigned bucket '-1'; anything else is reported as itself.
-- No SET clause and no table access, so the planner inlines it (it runs once per source row in
-- a backfill; a non-inlined call with a SET clause cost seconds at scale 1).
CREATE OR REPLACE FUNCTION metrics.rep_bucket(p_owner_id text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_owner_id IS NULL OR btrim(p_owner_id) = '' OR p_owner_id LIKE '00G%' THEN '-1'
        ELSE btrim(p_owner_id)
    END;
$$;
COMMENT ON FUNCTION metrics.rep_bucket(text) IS 'Owner Id to reporting rep_id (-1 = Unassigned).';
