#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# validate-inputs.sh: check the daily-metrics workflow's inputs before anything runs.
#
# Environment: BACKFILL_DAYS (workflow_dispatch input; empty = 0 = the normal daily run),
# RUN_DATE (optional YYYY-MM-DD), METRICS_MODE (repository variable: ssm | direct | off; unset
# means off: nothing runs, with a warning).
# Writes mode, backfill_days and date to $GITHUB_OUTPUT (when set) and a line to stdout.
# Exit 0 when valid, 2 with a clear message (a GitHub error annotation) when not.
set -euo pipefail
CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$CI_DIR/lib.sh"

validate_inputs "${BACKFILL_DAYS:-}" "${RUN_DATE:-}"
validate_mode "${METRICS_MODE:-}"
if [[ $CI_MODE == ssm && -n $CI_RUN_DATE ]]; then
    ci_error "date is not supported in ssm mode (the host's SSM document runs yesterday plus the lookback, or a backfill of the last N days): leave date empty or use backfill_days"
    exit 2
fi

if [[ $CI_MODE == off ]]; then
    what="nothing (METRICS_MODE off)"
elif ((CI_BACKFILL_DAYS > 0)); then
    what="backfill of the last $CI_BACKFILL_DAYS day(s)"
elif [[ -n $CI_RUN_DATE ]]; then
    what="run of $CI_RUN_DATE"
else
    what="daily run (yesterday plus the lookback and missing days)"
fi
echo "mode=$CI_MODE: $what"
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    {
        echo "mode=$CI_MODE"
        echo "backfill_days=$CI_BACKFILL_DAYS"
        echo "date=$CI_RUN_DATE"
    } >>"$GITHUB_OUTPUT"
fi
