-- metrics.settings_fingerprint: a digest of the settings that define what a fact row means
-- (business_timezone, qualified_statuses: trimmed, lowercased, sorted). Every computed day
-- records it (metrics.computed_days, run_log); a day computed under another fingerprint is due
-- on the next run, so changing a setting re-cuts every day, not only the lookback.
-- Grain: one value.
CREATE OR REPLACE FUNCTION metrics.settings_fingerprint()
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT md5(
        'business_timezone=' || metrics.business_timezone()
        || ';qualified_statuses='
        || array_to_string(
            ARRAY(SELECT DISTINCT q.status FROM unnest(metrics.qualified_statuses()) AS q (status)
                ORDER BY 1),
            '|'
        )
    );
$$;
COMMENT ON FUNCTION metrics.settings_fingerprint() IS
'Digest of the settings that define the facts (time zone, qualified statuses).';
