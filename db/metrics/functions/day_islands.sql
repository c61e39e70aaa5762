-- metrics.day_islands: a set of metric days as its runs of consecutive days (islands), each
-- with its window [start_at, end_at) of instants in the time zone p_timezone (local
-- midnights: 23/25-hour DST days hold).
-- Grain: one row per island, in day order. NULL days and repeats are ignored.
-- Why: the refresh functions take any set of days (metrics.run_due refreshes the days a
-- change touched, one pass per table); the source is asked for the instants of each island,
-- as ranges on its indexed timestamp and date columns (metrics.day_filter).
CREATE OR REPLACE FUNCTION metrics.day_islands(p_days date [], p_timezone text)
RETURNS TABLE (from_date date, to_date date, start_at timestamptz, end_at timestamptz)
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        min(n.metric_date),
        max(n.metric_date),
        min(n.metric_date)::timestamp AT TIME ZONE p_timezone,
        (max(n.metric_date) + 1)::timestamp AT TIME ZONE p_timezone
    FROM (
        SELECT
            d.metric_date,
            d.metric_date - (row_number() OVER (ORDER BY d.metric_date))::integer AS island
        FROM (SELECT DISTINCT u.metric_date FROM unnest(p_days) AS u (metric_date)) AS d
        WHERE d.metric_date IS NOT NULL
    ) AS n
    GROUP BY n.island
    ORDER BY 1;
$$;
COMMENT ON FUNCTION metrics.day_islands(date [], text) IS
'Runs of consecutive days of a day set, with their instant windows in a time zone.';
