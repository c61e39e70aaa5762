#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# digest.sh: the daily digest of the direct mode (`revops report`), attached to the run.
#
# The digest reads through the BI read path, so it connects as PG_BI_USER (default revops_bi)
# with the secret PG_BI_PASSWORD, to the run's PG_HOST/PG_PORT/PG_DATABASE (TLS required, as in
# lib.sh). It writes DIGEST_DIR/revops-digest-DAY.html (the workflow uploads that folder as the
# artifact `daily-digest`) and appends a short summary to $GITHUB_STEP_SUMMARY.
# Without PG_BI_PASSWORD (PG_HOST set) it warns and writes nothing: the digest is optional.
# Without PG_HOST it uses whatever server the environment points at (a local checkout).
# Exit: 0 written (also when yesterday was not computed: the page says so, and the freshness
# step fails the job); otherwise revops's code (2 bad configuration, 4 cannot connect).
set -euo pipefail
CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$CI_DIR/lib.sh"

if [[ -n ${PG_HOST:-} ]]; then
    if [[ -z ${PG_BI_PASSWORD:-} ]]; then
        ci_warning "no daily digest: add the secret PG_BI_PASSWORD (the password of revops_bi) to attach one (see docs/GITHUB_ACTIONS.md)"
        summary "Daily digest not built: the secret PG_BI_PASSWORD is not set."
        exit 0
    fi
    export PG_USER=${PG_BI_USER:-revops_bi}
    export PG_PASSWORD=$PG_BI_PASSWORD
    unset PG_BI_PASSWORD
fi
map_pg_secrets || exit 2

out_dir=${DIGEST_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/digest}
mkdir -p "$out_dir"
args=(report --out "$out_dir")
if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
    args+=(--summary-md "$GITHUB_STEP_SUMMARY")
fi
echo "revops ${args[*]}"
rc=0
revops_cli "${args[@]}" || rc=$?
case $rc in
0) ;;
3)
    ci_warning "daily digest: yesterday has not been computed; the page says what is missing"
    rc=0
    ;;
4) ci_error "daily digest: cannot connect to PostgreSQL as ${PG_USER:-the configured user}" ;;
*) ci_error "daily digest: revops report exited $rc (see the log above)" ;;
esac
exit "$rc"
