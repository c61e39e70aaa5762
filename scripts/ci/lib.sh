# shellcheck shell=bash
# Shared helpers of the GitHub Actions scripts in scripts/ci (sourced, not run).
#
# Inputs arrive through the environment only (the workflows map `inputs.*`, `vars.*` and
# `secrets.*` into `env:`), never through `${{ }}` inside a `run:` script. Nothing here prints
# a password: PG_PASSWORD/PGPASSWORD are only ever exported, never echoed.

MAX_BACKFILL_DAYS=3650

# ci_error MESSAGE: a GitHub error annotation (also readable in a plain terminal), on stderr.
ci_error() {
    printf '::error title=revops metrics::%s\n' "$1" >&2
}

# ci_warning MESSAGE: a GitHub warning annotation, on stderr.
ci_warning() {
    printf '::warning title=revops metrics::%s\n' "$1" >&2
}

# quoted VALUE: VALUE made safe to print in a message (no newline, no workflow command), with
# shell quoting, at most 60 characters.
quoted() {
    local value=${1:0:60}
    printf '%q' "$value"
}

# summary TEXT...: append lines of Markdown to the job summary ($GITHUB_STEP_SUMMARY), or to
# stderr when run outside GitHub Actions.
summary() {
    if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
        printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"
    else
        printf '%s\n' "$@" >&2
    fi
}

# validate_backfill_days RAW: sets CI_BACKFILL_DAYS to a whole number 0..3650 (empty means 0,
# the normal daily run), or reports what is wrong and returns 2.
validate_backfill_days() {
    local raw=$1
    if [[ -z $raw ]]; then
        CI_BACKFILL_DAYS=0
        return 0
    fi
    if [[ ! $raw =~ ^[0-9]+$ ]]; then
        ci_error "backfill_days must be a whole number from 0 to ${MAX_BACKFILL_DAYS} (0 = the normal daily run), got $(quoted "$raw")"
        return 2
    fi
    if ((${#raw} > 4)) || ((10#$raw > MAX_BACKFILL_DAYS)); then
        ci_error "backfill_days must be at most ${MAX_BACKFILL_DAYS} (ten years), got $(quoted "$raw"); use revops backfill --from/--to on the host for more"
        return 2
    fi
    CI_BACKFILL_DAYS=$((10#$raw))
}

# validate_run_date RAW: sets CI_RUN_DATE to a real calendar day YYYY-MM-DD (or empty), or
# reports what is wrong and returns 2. Days in the future are refused by `revops run` itself.
validate_run_date() {
    local raw=$1
    CI_RUN_DATE=
    [[ -z $raw ]] && return 0
    if [[ ! $raw =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
        ci_error "date must be a day as YYYY-MM-DD (or empty for yesterday plus the lookback), got $(quoted "$raw")"
        return 2
    fi
    local normal
    if ! normal=$(date -u -d "$raw" +%F 2>/dev/null) || [[ $normal != "$raw" ]]; then
        ci_error "date $raw is not a calendar day"
        return 2
    fi
    CI_RUN_DATE=$raw
}

# validate_inputs BACKFILL_DAYS DATE: both of the above, and not both at once.
validate_inputs() {
    validate_backfill_days "$1" || return 2
    validate_run_date "$2" || return 2
    if ((CI_BACKFILL_DAYS > 0)) && [[ -n $CI_RUN_DATE ]]; then
        ci_error "give either backfill_days (the last N days) or date (one day), not both"
        return 2
    fi
}

# validate_mode MODE: sets CI_MODE to ssm, direct or off. Unset is the explicit default `off`:
# nothing runs and the job says so with a warning (a fresh fork or a repository without a
# deployment stays green instead of failing every day); any other value is an error.
validate_mode() {
    # shellcheck disable=SC2034  # CI_MODE is read by the scripts that source this file
    case $1 in
    direct | ssm | off) CI_MODE=$1 ;;
    '')
        CI_MODE=off
        ci_warning "repository variable METRICS_MODE is not set, so nothing runs (default: off). Set it to 'ssm' for the Pulumi host or 'direct' for a server GitHub can reach (see docs/GITHUB_ACTIONS.md)"
        ;;
    *)
        ci_error "repository variable METRICS_MODE must be 'ssm', 'direct' or 'off', got $(quoted "$1")"
        return 2
        ;;
    esac
}

# map_pg_secrets: turn the repository secrets PG_HOST, PG_PORT, PG_DATABASE, PG_USER,
# PG_PASSWORD (and optional PG_SSLROOTCERT, a CA certificate in PEM) into what libpq and revops
# read: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and REVOPS_METRICS_DB. With no PG_HOST,
# the environment is left as it is (PG* variables, or the embedded server of a local checkout);
# REVOPS_REQUIRE_PG_SECRETS=true (set by the workflow) makes a missing PG_HOST an error.
# Any remote connection must use TLS: PGSSLMODE defaults to require (verify-full with a CA) and
# disable/allow/prefer are refused.
map_pg_secrets() {
    if [[ -n ${PG_HOST:-} ]]; then
        local missing=()
        [[ -n ${PG_USER:-} ]] || missing+=(PG_USER)
        [[ -n ${PG_PASSWORD:-} ]] || missing+=(PG_PASSWORD)
        if ((${#missing[@]} > 0)); then
            ci_error "PG_HOST is set but ${missing[*]} is empty: add the repository secret(s)"
            return 2
        fi
        export PGHOST=$PG_HOST PGUSER=$PG_USER PGPASSWORD=$PG_PASSWORD
        export PGPORT=${PG_PORT:-5432}
        if [[ -n ${PG_DATABASE:-} ]]; then
            export PGDATABASE=$PG_DATABASE REVOPS_METRICS_DB=$PG_DATABASE
        fi
        unset PG_PASSWORD
    elif [[ ${REVOPS_REQUIRE_PG_SECRETS:-} == true ]]; then
        ci_error "direct mode needs the repository secrets PG_HOST, PG_PORT, PG_DATABASE, PG_USER and PG_PASSWORD (see docs/GITHUB_ACTIONS.md)"
        return 2
    fi
    [[ -n ${PGHOST:-} ]] || return 0
    if [[ -n ${PG_SSLROOTCERT:-} ]]; then
        local ca_dir
        ca_dir=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/revops-ca.XXXXXX")
        printf '%s\n' "$PG_SSLROOTCERT" >"$ca_dir/root.crt"
        export PGSSLROOTCERT=$ca_dir/root.crt
        export PGSSLMODE=${PGSSLMODE:-verify-full}
    fi
    export PGSSLMODE=${PGSSLMODE:-require}
    case $PGSSLMODE in
    require | verify-ca | verify-full) ;;
    *)
        ci_error "a direct connection must use TLS: PGSSLMODE=$(quoted "$PGSSLMODE") is not allowed (use require, verify-ca or verify-full)"
        return 2
        ;;
    esac
}

# revops_cli ARGS...: the revops command line of the installed package.
revops_cli() {
    "${REVOPS_PYTHON:-python3}" -m revops.cli "$@"
}

# ci_summary ARGS...: scripts/ci/ci_summary.py (Markdown for the job summary).
ci_summary() {
    "${REVOPS_PYTHON:-python3}" "$CI_DIR/ci_summary.py" "$@"
}
