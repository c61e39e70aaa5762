-- metrics.backfill_last_n_days: backfills the p_days days ending yesterday in the business time
-- zone (p_days = 1 is yesterday alone). p_days must be between 1 and 36500.
-- Grain: a day range. Inputs: metrics.backfill_date_range.
CREATE OR REPLACE FUNCTION metrics.backfill_last_n_days(
    p_days integer,
    p_trigger text DEFAULT 'backfill',
    p_code_version text DEFAULT NULL,
    p_host text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_yesterday date := metrics.business_today() - 1;
BEGIN
    IF p_days IS NULL OR p_days < 1 OR p_days > 36500 THEN
        RAISE EXCEPTION 'number of days must be between 1 and 36500 (got %)',
            coalesce(p_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN metrics.backfill_date_range(
        v_yesterday - (p_days - 1), v_yesterday, p_trigger, p_code_version, p_host
    );
END
$$;
COMMENT ON FUNCTION metrics.backfill_last_n_days(integer, text, text, text) IS
'Backfills the n days ending yesterday (business time zone).';
