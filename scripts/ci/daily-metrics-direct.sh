#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# daily-metrics-direct.sh: the direct mode of .github/workflows/daily-metrics.yml.
#
# Connects to PostgreSQL with the repository secrets (PG_HOST, PG_PORT, PG_DATABASE, PG_USER,
# PG_PASSWORD, mapped by lib.sh to libpq's variables, TLS required) and runs
#   revops run --trigger github                      (BACKFILL_DAYS empty or 0, no RUN_DATE)
#   revops run --date RUN_DATE --trigger github      (one day)
#   revops backfill --days N --trigger github        (BACKFILL_DAYS=N, 1..3650)
# The run's JSON result goes to the log and a table of it to $GITHUB_STEP_SUMMARY.
# Exit: revops's own code (0 ok, 1 a run failed, 2 bad input or configuration, 4 cannot connect).
# Without PG_HOST (and without REVOPS_REQUIRE_PG_SECRETS=true) it uses whatever server the
# environment points at: PG* variables, or the embedded server of a local checkout.
set -euo pipefail
CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$CI_DIR/lib.sh"

validate_inputs "${BACKFILL_DAYS:-}" "${RUN_DATE:-}" || exit 2
map_pg_secrets || exit 2

if ((CI_BACKFILL_DAYS > 0)); then
    title="Backfill of the last $CI_BACKFILL_DAYS day(s)"
    args=(backfill --days "$CI_BACKFILL_DAYS" --trigger github --json)
elif [[ -n $CI_RUN_DATE ]]; then
    title="Metrics run of $CI_RUN_DATE"
    args=(run --date "$CI_RUN_DATE" --trigger github --json)
else
    title="Daily metrics run"
    args=(run --trigger github --json)
fi

result=$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/revops-result.XXXXXX")
trap 'rm -f "$result"' EXIT
echo "revops ${args[*]}"
rc=0
revops_cli "${args[@]}" >"$result" || rc=$?
cat "$result"
ci_summary run "$title (direct)" "$rc" "$result"
# Optional: the run's metrics to CloudWatch (the stack's alarms) when METRICS_CLOUDWATCH_STACK
# is set and the runner has AWS credentials (a self-hosted runner's instance role, say).
if [[ -n ${CLOUDWATCH_STACK:-} ]]; then
    "${REVOPS_PYTHON:-python3}" -m revops.cloudwatch --stack "$CLOUDWATCH_STACK" \
        --run "$result" --exit-code "$rc" ||
        ci_warning "$title: run metrics not published to CloudWatch"
fi
case $rc in
0) ;;
1) ci_error "$title: at least one day failed (see the summary and metrics.run_log)" ;;
4) ci_error "$title: cannot connect to PostgreSQL (check PG_HOST/PG_PORT, that the server accepts TLS from GitHub's runners, and the credentials)" ;;
*) ci_error "$title: revops exited $rc (bad input or configuration, see the log above)" ;;
esac
exit "$rc"
