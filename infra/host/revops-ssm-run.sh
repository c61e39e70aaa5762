#!/usr/bin/env bash
# revops-ssm-run ACTION [DAYS [TRIGGER]]: what the stack's SSM document runs on the host (as root).
#   run          start revops-metrics@TRIGGER.service (yesterday plus lookback; TRIGGER github
#                or manual, recorded in metrics.run_log), wait for it
#   backfill N   start revops-backfill@N.service (the last N days), wait for it
#   status       print `revops status --json` (freshness; exit 3 when stale), run as a
#                transient unit with the service's user model and credentials file
# Prints the run's journal so the SSM command output (and the GitHub Actions log) shows it,
# and exits with the unit's result. An already running unit is waited for, not started twice.
set -euo pipefail

action=${1:-run}
days=${2:-0}
trigger=${3:-manual}
case $action in
run)
    case $trigger in
    github | manual) unit="revops-metrics@${trigger}.service" ;;
    *)
        echo "revops-ssm-run: trigger must be github or manual, got '$trigger'" >&2
        exit 2
        ;;
    esac
    ;;
backfill)
    if [[ ! $days =~ ^[1-9][0-9]{0,3}$ ]]; then
        echo "revops-ssm-run: backfill needs a number of days (1-9999), got '$days'" >&2
        exit 2
    fi
    unit="revops-backfill@${days}.service"
    ;;
status)
    exec systemd-run --quiet --wait --pipe --collect \
        --property=DynamicUser=yes \
        --property=EnvironmentFile=/etc/revops/runner.env \
        --property=ProtectSystem=strict --property=ProtectHome=yes \
        --property=PrivateTmp=yes --property=NoNewPrivileges=yes \
        /opt/revops/venv/bin/revops status --json
    ;;
*)
    echo "revops-ssm-run: unknown action '$action' (run, backfill or status)" >&2
    exit 2
    ;;
esac

rc=0
systemctl start "$unit" || rc=$?
invocation=$(systemctl show --property=InvocationID --value "$unit")
if [[ -n $invocation ]]; then
    journalctl --no-pager --output=cat "_SYSTEMD_INVOCATION_ID=$invocation" || true
fi
if [[ $rc != 0 ]]; then
    echo "revops-ssm-run: $unit failed (exit $rc); see journalctl -u $unit" >&2
fi
exit "$rc"
