#!/usr/bin/env bash
# revops-run ARGS...: what the host's metrics units run (ExecStart): `revops ARGS --json`, its
# JSON result to the journal, the data-quality gate (`revops check --fail-on error`, recorded),
# then the run's metrics to CloudWatch (revops.cloudwatch, with the status and data-quality
# reports), and the exit code of revops (1 when a successful run leaves data-quality errors).
#
# Installed as /usr/local/sbin/revops-run by revops-host-setup. Runs inside the hardened units
# (DynamicUser, PrivateTmp): its files live in the unit's private /tmp. Publishing is best
# effort: CloudWatch being unreachable never changes the run's result (and the dead-man's
# switch alarm notices when nothing arrives). REVOPS_STACK (from /etc/revops/runner.env) names
# the stack; without it nothing is published.
#
# The daily run (`revops-run run ...`) first ingests s3://$REVOPS_LANDING_BUCKET/incoming/ when
# runner.env names the bucket (revops.ingest.s3: new objects only, each tagged once loaded), as
# revops_etl (REVOPS_ETL_SECRET_ID). Its report goes to the journal (stderr). Rejected records
# or a file that failed (exit 1) do not hold the metrics back: they stay in crm.load_errors and
# `revops check` reports the failed batch. An ingest that could not work at all (exit 2: S3
# unusable; 4: no database) fails the unit after the run, so the failed-run alarm fires.
set -uo pipefail

bin=${REVOPS_BIN:-/opt/revops/venv/bin}
work=$(mktemp -d "${TMPDIR:-/tmp}/revops-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

ingest_rc=0
if [[ ${1:-} == run && -n ${REVOPS_LANDING_BUCKET:-} && -n ${REVOPS_ETL_SECRET_ID:-} ]]; then
    REVOPS_DB_SECRET_ID=$REVOPS_ETL_SECRET_ID \
        "$bin/revops" ingest "s3://$REVOPS_LANDING_BUCKET/incoming/" >&2 || ingest_rc=$?
    if ((ingest_rc >= 2)); then
        echo "revops-run: ingest of s3://$REVOPS_LANDING_BUCKET/incoming/ failed (exit $ingest_rc)" >&2
    fi
fi

rc=0
"$bin/revops" "$@" --json >"$work/run.json" || rc=$?
if ((rc == 0 && ingest_rc >= 2)); then
    rc=$ingest_rc
fi
cat "$work/run.json"
run_rc=$rc # what CloudWatch hears about the run itself (the gate below is its own alarm)

# The data-quality gate of a scheduled run: after a successful `run`, `revops check --fail-on
# error` (recorded in metrics.data_quality_history) turns errors, reconciliation differences
# included, into a failed unit (exit 1), so OnFailure= and the alarms hear of them.
trigger=manual
previous=
for arg in "$@"; do
    [[ $previous == --trigger ]] && trigger=$arg
    previous=$arg
done
check_rc=0
"$bin/revops" check --json --fail-on error --trigger "$trigger" >"$work/check.json" || check_rc=$?
if [[ ${1:-} == run && $rc == 0 && $check_rc == 1 ]]; then
    echo "revops-run: data-quality errors after the run (revops check --fail-on error):" >&2
    cat "$work/check.json" >&2
    rc=1
fi

if [[ -n ${REVOPS_STACK:-} ]]; then
    # exit 3 (stale) and 1 (data-quality errors) still print their JSON report
    "$bin/revops" status --json >"$work/status.json" || true
    args=(--stack "$REVOPS_STACK" --run "$work/run.json" --exit-code "$run_rc")
    [[ -s $work/status.json ]] && args+=(--status "$work/status.json")
    [[ -s $work/check.json ]] && args+=(--check "$work/check.json")
    if ! "$bin/python" -m revops.cloudwatch "${args[@]}"; then
        echo "revops-run: run metrics not published to CloudWatch (see above)" >&2
    fi
fi
exit "$rc"
