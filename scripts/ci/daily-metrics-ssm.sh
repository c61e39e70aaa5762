#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# daily-metrics-ssm.sh: the ssm mode of .github/workflows/daily-metrics.yml.
#
# Sends the stack's SSM document (SSM_DOCUMENT) to the host (SSM_INSTANCE_ID) with the AWS
# credentials of the OIDC role, waits, prints the host's output and fails when the run failed:
#   action=run                         BACKFILL_DAYS empty or 0 (yesterday plus the lookback)
#   action=backfill backfillDays=N     BACKFILL_DAYS=N, 1..3650
# RUN_DATE is refused: the document has no date parameter (use direct mode, or a backfill).
# Exit: 0 the host's run succeeded, 1 it failed (or was not delivered / did not finish), 2 bad input.
set -euo pipefail
CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$CI_DIR/lib.sh"

validate_inputs "${BACKFILL_DAYS:-}" "${RUN_DATE:-}" || exit 2
if [[ -n $CI_RUN_DATE ]]; then
    ci_error "date is not supported in ssm mode (the host's SSM document runs yesterday plus the lookback, or a backfill of the last N days): leave date empty or use backfill_days"
    exit 2
fi
exec "${REVOPS_PYTHON:-python3}" "$CI_DIR/ssm_run.py" run --days "$CI_BACKFILL_DAYS"
