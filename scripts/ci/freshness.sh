#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# freshness.sh: fail the job when the metrics are stale (direct mode).
#
# Runs `revops status --json` (with --max-lag-days MAX_LAG_DAYS when set, else the database's
# freshness_max_lag_days setting) and writes a summary to $GITHUB_STEP_SUMMARY: fresh or stale,
# the newest successful day and its lag, each table's newest day, and the recent runs.
# Exit 0 fresh, 3 stale (GitHub then notifies), 4 cannot connect, 2 bad configuration.
set -euo pipefail
CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$CI_DIR/lib.sh"

map_pg_secrets || exit 2
args=(status --json)
if [[ -n ${MAX_LAG_DAYS:-} ]]; then
    # The same range `revops status --max-lag-days` accepts (0..3650).
    if [[ ! $MAX_LAG_DAYS =~ ^[0-9]{1,4}$ ]] || ((10#$MAX_LAG_DAYS > 3650)); then
        ci_error "METRICS_MAX_LAG_DAYS must be a whole number of days from 0 to 3650, got $(quoted "$MAX_LAG_DAYS")"
        exit 2
    fi
    args+=(--max-lag-days "$((10#$MAX_LAG_DAYS))")
fi

report=$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/revops-status.XXXXXX")
trap 'rm -f "$report"' EXIT
rc=0
revops_cli "${args[@]}" >"$report" || rc=$?
if [[ $rc != 0 && $rc != 3 ]]; then
    summary "## ⚠️ Metrics freshness not checked" "" "\`revops status\` exited $rc (4 = cannot connect); see the job log."
    ci_error "freshness check failed: revops status exited $rc"
    exit "$rc"
fi
ci_summary freshness "$report"
