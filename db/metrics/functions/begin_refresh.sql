-- metrics.begin_refresh: what every refresh_* function does first, in one place: check the
-- day range (clear errors, nothing changed), take the metrics writer lock (bounded wait: raises
-- lock_not_available), check that the source computes local days in the business time zone,
-- and return that zone with the range's window [start_at, end_at) as timestamptz bounds (local
-- midnights: 23/25-hour DST days hold).
-- Grain: one call per refresh.
CREATE OR REPLACE FUNCTION metrics.begin_refresh(
    p_from_date date,
    p_to_date date,
    OUT business_timezone text,
    OUT start_at timestamptz,
    OUT end_at timestamptz
)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM metrics.check_date_range(p_from_date, p_to_date);
    IF NOT metrics.lock_metrics() THEN
        RAISE EXCEPTION 'another run holds the metrics lock (waited % s)',
            metrics.setting('lock_wait_seconds') #>> '{}'
            USING ERRCODE = 'lock_not_available';
    END IF;
    business_timezone := metrics.source_timezone();
    start_at := p_from_date::timestamp AT TIME ZONE business_timezone;
    end_at := (p_to_date + 1)::timestamp AT TIME ZONE business_timezone;
END
$$;
COMMENT ON FUNCTION metrics.begin_refresh(date, date) IS
'Checks a day range, takes the metrics lock, syncs the source time zone; returns zone and window.';
