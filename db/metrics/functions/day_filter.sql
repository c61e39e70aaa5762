-- metrics.day_filter: a WHERE condition, as SQL text, that holds for the rows of a set of
-- metric days: for each island of consecutive days (metrics.day_islands), each instant column
-- in [start_at, end_at) and each date column between its first and last day, all OR-ed.
-- Grain: one condition. Inputs: the days, the business time zone, and the qualified column
-- names (constants written by the caller, e.g. 'o.created_at'; anything else raises).
-- Why text: the source is read through postgres_fdw, which sends a plain range condition on an
-- indexed column to the remote side (and its aggregates with it); a set of days with gaps
-- becomes a few such ranges in one remote query. A join to a local list of days would instead
-- run one remote query per day, and a computed local day (created_at AT TIME ZONE ...) cannot
-- use an index at all. The values are typed literals (%L of a timestamptz or date).
CREATE OR REPLACE FUNCTION metrics.day_filter(
    p_days date [],
    p_timezone text,
    p_instant_columns text [],
    p_date_columns text [] DEFAULT ARRAY[]::text []
)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_filter text;
BEGIN
    IF EXISTS (
        SELECT
        FROM unnest(p_instant_columns || p_date_columns) AS c (column_name)
        WHERE c.column_name IS NULL OR c.column_name !~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$'
    ) THEN
        RAISE EXCEPTION 'day_filter columns must be alias.column names (got %)',
            p_instant_columns || p_date_columns
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(x.condition, ' OR ' ORDER BY x.from_date, x.condition)
    INTO v_filter
    FROM (
        SELECT
            i.from_date,
            format(
                '(%s >= %L::timestamptz AND %s < %L::timestamptz)',
                c.column_name, i.start_at, c.column_name, i.end_at
            ) AS condition
        FROM metrics.day_islands(p_days, p_timezone) AS i
        CROSS JOIN unnest(p_instant_columns) AS c (column_name)
        UNION ALL
        SELECT
            i.from_date,
            format(
                '(%s BETWEEN %L::date AND %L::date)', c.column_name, i.from_date, i.to_date
            )
        FROM metrics.day_islands(p_days, p_timezone) AS i
        CROSS JOIN unnest(p_date_columns) AS c (column_name)
    ) AS x;
    -- no day: a condition that holds for no row
    RETURN coalesce('(' || v_filter || ')', 'false');
END
$$;
COMMENT ON FUNCTION metrics.day_filter(date [], text, text [], text []) IS
'SQL condition selecting the rows of a set of days: index-friendly ranges per island.';
