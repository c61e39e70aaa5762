-- metrics.setting: the value of one metrics.settings row, as jsonb.
-- Grain: one value. Input: the setting name. Raises when the setting is missing, so a typo
-- never silently becomes a NULL.
CREATE OR REPLACE FUNCTION metrics.setting(p_setting_name text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_value jsonb;
BEGIN
    SELECT s.setting_value INTO v_value
    FROM metrics.settings AS s
    WHERE s.setting_name = p_setting_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'metrics setting "%" is missing', p_setting_name
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v_value;
END
$$;
COMMENT ON FUNCTION metrics.setting(text) IS 'The jsonb value of one metrics.settings row.';
