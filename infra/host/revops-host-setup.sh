#!/usr/bin/env bash
# revops-host-setup: make this EC2 host (Amazon Linux 2023) the RevOps PostgreSQL host.
#
# Started by revops-fetch-bundle (cloud-init, once per instance) from the unpacked release;
# idempotent: every step checks before it changes anything, so a re-run (by hand, through SSM,
# or to apply a rotated password) changes nothing else. Settings come from /etc/revops/host.env
# (written from the Pulumi stack; names, no secrets). Passwords are read from Secrets Manager by
# `revops bootstrap` with the instance role and never pass through this script.
#
# Steps: packages -> data volume (format only when empty, mount by UUID) -> initdb (scram) ->
# TLS certificate -> postgresql.conf/pg_hba.conf -> PostgreSQL running -> code (venv of this
# release) -> `revops bootstrap` as the local postgres superuser over the Unix socket ->
# systemd units and timer -> logs to CloudWatch -> security updates (dnf-automatic) -> one run
# per new release. With REVOPS_DATABASE=rds (stack config `database: rds`) there is no local
# PostgreSQL: no server package, no data volume, no initdb/TLS/pg_hba; bootstrap runs against
# RDS as its master user (bootstrap_rds).
#
# The render_* functions are pure (stdout only) and are tested without root or AWS:
#   bash -c 'source infra/host/revops-host-setup.sh; render_pg_hba revops_training revops_metrics'
set -euo pipefail
# `render_x | write_if_changed FILE` must run write_if_changed in this shell, so that its
# CHANGED=1 is seen (a restart of PostgreSQL depends on it): run the last pipe stage here.
shopt -s lastpipe

REVOPS_ROOT=${REVOPS_ROOT:-/opt/revops}
PG_HOME=/var/lib/pgsql # the postgres user's home on AL2023; the data volume is mounted here
PGDATA=${PGDATA:-$PG_HOME/data}
SOCKET_DIR=/run/postgresql
CHANGED=0

log() { printf 'revops-host-setup: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# ---------------------------------------------------------------------------------------------
# Pure rendering (no root, no AWS): tested in tests/infra/test_host_setup.py.
# ---------------------------------------------------------------------------------------------

# render_pg_hba SOURCE_DB METRICS_DB [CIDR...]
# Loopback: the FDW (revops_fdw_reader, source db only), the runner and BI (metrics db), the ETL
# role (source db); SSM port forwarding arrives on loopback too. Other networks: TLS only.
render_pg_hba() {
    local source_db=$1 metrics_db=$2 cidr loop
    shift 2
    cat <<EOF
# pg_hba.conf: written by revops-host-setup on every run (edit the stack, not this file).
# TYPE   DATABASE        USER                      ADDRESS          METHOD
local    all             postgres                                   peer
EOF
    for loop in 127.0.0.1/32 ::1/128; do
        printf 'host     %-15s %-25s %-16s scram-sha-256\n' \
            "$source_db" revops_fdw_reader "$loop" \
            "$source_db" revops_etl "$loop" \
            "$metrics_db" revops_runner,revops_bi "$loop"
    done
    for cidr in "$@"; do
        printf 'hostssl  %-15s %-25s %-16s scram-sha-256\n' \
            "$source_db" revops_etl "$cidr" \
            "$metrics_db" revops_runner,revops_bi "$cidr"
    done
}

# render_postgresql_conf LISTEN_ADDRESSES
render_postgresql_conf() {
    cat <<EOF
# revops.conf: written by revops-host-setup, included from postgresql.conf.
listen_addresses = '$1'
port = 5432
unix_socket_directories = '$SOCKET_DIR'
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
log_connections = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

# render_timer_dropin TIMEZONE HH:MM
render_timer_dropin() {
    cat <<EOF
# Written by revops-host-setup from the stack (business_timezone, run_time).
[Timer]
OnCalendar=
OnCalendar=*-*-* $2:00 $1
EOF
}

# render_runner_env REGION RUNNER_SECRET_ARN SOURCE_DB METRICS_DB STACK [ETL_SECRET_ARN BUCKET]
# Names only: the runner reads its password from the secret at run time. REVOPS_STACK is the
# CloudWatch dimension the run metrics are published under (revops-run, revops.cloudwatch).
# With a landing bucket, revops-run ingests s3://<bucket>/incoming/ before the daily run, as
# revops_etl (REVOPS_ETL_SECRET_ID: the instance role reads that secret already).
render_runner_env() {
    cat <<EOF
# Written by revops-host-setup. No credential: the secret's ARN, not its value.
AWS_REGION=$1
REVOPS_DB_SECRET_ID=$2
REVOPS_SOURCE_DB=$3
REVOPS_METRICS_DB=$4
REVOPS_STACK=$5
EOF
    if [[ -n ${6:-} && -n ${7:-} ]]; then
        printf 'REVOPS_ETL_SECRET_ID=%s\nREVOPS_LANDING_BUCKET=%s\n' "$6" "$7"
    fi
}

# render_cloudwatch_agent_config LOG_GROUP: the CloudWatch agent ships the exported journal and
# cloud-init's output to the stack's log group (retention is the log group's, set by the stack).
render_cloudwatch_agent_config() {
    cat <<EOF
{
  "agent": {"run_as_user": "root", "logfile": "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log"},
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          {"file_path": "/var/log/revops/journal.log", "log_group_name": "$1", "log_stream_name": "{instance_id}/journal"},
          {"file_path": "/var/log/cloud-init-output.log", "log_group_name": "$1", "log_stream_name": "{instance_id}/cloud-init"}
        ]
      }
    }
  }
}
EOF
}

# render_journal_export_unit: follows the journal of the revops units, PostgreSQL and
# cloud-init into /var/log/revops/journal.log (the CloudWatch agent reads files, not journald).
render_journal_export_unit() {
    cat <<'EOF'
# Written by revops-host-setup: the journal the CloudWatch agent ships (log group /revops/<stack>).
[Unit]
Description=Export the RevOps journal to /var/log/revops/journal.log for CloudWatch Logs
After=systemd-journald.service

[Service]
Type=simple
ExecStart=/usr/bin/journalctl --follow --lines=all --output=short-iso --no-pager --unit=revops-* --unit=postgresql.service --unit=cloud-final.service --unit=dnf-automatic.service
StandardOutput=append:/var/log/revops/journal.log
Restart=always
RestartSec=10s

[Install]
WantedBy=multi-user.target
EOF
}

# render_dnf_automatic_conf: dnf-automatic applies security updates only (daily timer). A new
# PostgreSQL minor release is installed but runs after the next restart or reboot; a kernel
# update after the next reboot (or instance replacement).
render_dnf_automatic_conf() {
    cat <<EOF
# Written by revops-host-setup (stack key security_updates): daily security updates.
[commands]
upgrade_type = security
random_sleep = 1800
network_online_timeout = 60
download_updates = yes
apply_updates = yes

[emitters]
emit_via = stdio

[base]
debuglevel = 1
EOF
}

# listen_addresses for the host: loopback only unless other networks may connect.
listen_addresses() {
    local private_ip=$1
    shift
    if [[ $# -gt 0 && -n $private_ip ]]; then
        printf 'localhost,%s\n' "$private_ip"
    else
        printf 'localhost\n'
    fi
}

# ensure_tls DIR: a self-signed certificate for PostgreSQL, created once (clients use
# sslmode=require; for verify-full install a certificate from your CA under the same names).
ensure_tls() {
    local dir=$1
    if [[ -s $dir/server.crt && -s $dir/server.key ]]; then
        return 0
    fi
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -days 3650 -subj "/CN=$(hostname -f 2>/dev/null || hostname)" \
            -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
    )
    chmod 600 "$dir/server.key"
    chmod 644 "$dir/server.crt"
    CHANGED=1
}

# write_if_changed FILE MODE: stdin to FILE when different; sets CHANGED=1 when it wrote.
write_if_changed() {
    local file=$1 mode=$2 tmp
    tmp=$(mktemp "$file.XXXXXX")
    cat >"$tmp"
    if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 0
    fi
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$file"
    CHANGED=1
}

# ---------------------------------------------------------------------------------------------
# Host steps (root, AL2023, AWS).
# ---------------------------------------------------------------------------------------------

install_packages() {
    local packages=(
        "postgresql${REVOPS_PG_MAJOR}-server" "postgresql${REVOPS_PG_MAJOR}-contrib"
        python3.11 python3.11-pip openssl xfsprogs
    )
    if [[ ${REVOPS_DATABASE:-ec2} == rds ]]; then
        # database: rds: no local server; psql/pg_dump for the operator (docs/DEPLOY.md)
        packages=("postgresql${REVOPS_PG_MAJOR}" python3.11 python3.11-pip)
    fi
    if ! rpm -q "${packages[@]}" >/dev/null 2>&1; then
        log "installing ${packages[*]}"
        dnf -y -q install "${packages[@]}"
    fi
}

imds() {
    local token
    token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
    curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# The data volume's block device: NVMe by-id name (serial = volume id), else the attach name.
# Pulumi attaches the volume after the instance starts, so wait for it (up to 10 minutes).
data_device() {
    local serial=${REVOPS_DATA_VOLUME_ID//-/} candidate _
    for _ in $(seq 1 120); do
        for candidate in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${serial}" /dev/sdf /dev/xvdf; do
            if [[ -b $candidate ]]; then
                readlink -f "$candidate"
                return 0
            fi
        done
        sleep 5
    done
    return 1
}

prepare_volume() {
    local device rc=0 uuid
    device=$(data_device) || die "data volume $REVOPS_DATA_VOLUME_ID never appeared"
    # blkid -p: 0 = a filesystem/partition table is there, 2 = nothing there, else an error.
    blkid -p "$device" >/dev/null 2>&1 || rc=$?
    if [[ $rc == 2 ]]; then
        log "data volume $device is empty: creating an XFS filesystem"
        mkfs.xfs -q -L revops-pgdata "$device"
    elif [[ $rc != 0 ]]; then
        die "cannot probe $device (blkid exit $rc): refusing to format"
    fi
    uuid=$(blkid -s UUID -o value "$device")
    [[ -n $uuid ]] || die "no filesystem UUID on $device"
    if ! grep -q "^UUID=$uuid " /etc/fstab; then
        printf 'UUID=%s %s xfs defaults,noatime,nofail,x-systemd.device-timeout=10min 0 2\n' \
            "$uuid" "$PG_HOME" >>/etc/fstab
        systemctl daemon-reload
    fi
    mkdir -p "$PG_HOME"
    mountpoint -q "$PG_HOME" || mount "$PG_HOME"
    chown postgres:postgres "$PG_HOME"
    chmod 700 "$PG_HOME"
    mkdir -p /etc/systemd/system/postgresql.service.d
    printf '[Unit]\nRequiresMountsFor=%s\n' "$PG_HOME" |
        write_if_changed /etc/systemd/system/postgresql.service.d/revops.conf 0644
}

init_cluster() {
    if [[ -f $PGDATA/PG_VERSION ]]; then
        local have
        have=$(<"$PGDATA/PG_VERSION")
        [[ $have == "$REVOPS_PG_MAJOR" ]] ||
            die "PGDATA holds PostgreSQL $have, the stack asks for $REVOPS_PG_MAJOR: upgrade with pg_upgrade first (docs/DEPLOY.md)"
        return 0
    fi
    log "initialising PostgreSQL $REVOPS_PG_MAJOR in $PGDATA"
    PGSETUP_INITDB_OPTIONS="--auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --data-checksums" \
        postgresql-setup --initdb
}

configure_postgres() {
    local private_ip="" include="include_if_exists = 'revops.conf'"
    local -a cidrs
    read -r -a cidrs <<<"${REVOPS_HBA_CIDRS:-}"
    if [[ ${#cidrs[@]} -gt 0 ]]; then
        private_ip=$(imds local-ipv4)
    fi
    ensure_tls "$PGDATA"
    render_postgresql_conf "$(listen_addresses "$private_ip" "${cidrs[@]}")" |
        write_if_changed "$PGDATA/revops.conf" 0600
    render_pg_hba "$REVOPS_SOURCE_DB" "$REVOPS_METRICS_DB" "${cidrs[@]}" |
        write_if_changed "$PGDATA/pg_hba.conf" 0600
    if ! grep -qxF "$include" "$PGDATA/postgresql.conf"; then
        printf '%s\n' "$include" >>"$PGDATA/postgresql.conf"
        CHANGED=1
    fi
    chown postgres:postgres "$PGDATA/revops.conf" "$PGDATA/pg_hba.conf" \
        "$PGDATA/server.crt" "$PGDATA/server.key"
    systemctl daemon-reload
    systemctl enable postgresql.service
    if [[ $CHANGED == 1 ]] && systemctl is-active --quiet postgresql.service; then
        log "configuration changed: restarting PostgreSQL"
        systemctl restart postgresql.service
    else
        systemctl start postgresql.service
    fi
    for _ in $(seq 1 60); do
        runuser -u postgres -- pg_isready -q -h "$SOCKET_DIR" && return 0
        sleep 2
    done
    die "PostgreSQL did not become ready"
}

install_code() {
    local release=$REVOPS_ROOT/current venv=$REVOPS_ROOT/venvs/$REVOPS_BUNDLE_SHA256
    if [[ ! -x $venv/bin/revops ]]; then
        log "installing the code of release $REVOPS_BUNDLE_SHA256"
        rm -rf "$venv"
        python3.11 -m venv "$venv"
        if compgen -G "$release/wheels/*.whl" >/dev/null; then
            "$venv/bin/pip" install --quiet --no-index --find-links "$release/wheels" \
                -e "$(readlink -f "$release")[aws]"
        else
            "$venv/bin/pip" install --quiet -e "$(readlink -f "$release")[aws]"
        fi
    fi
    ln -sfn "$venv" "$REVOPS_ROOT/venv"
}

# database: rds: bootstrap as the RDS master user, whose RDS-managed secret `revops` reads itself
# (REVOPS_ADMIN_SECRET_ID, with the instance role); TLS to RDS, and the FDW connects to the
# instance's own endpoint with sslmode=require. Root runs it: there is no postgres OS user, and
# the command only talks to RDS and Secrets Manager.
bootstrap_rds() {
    env -i PATH=/usr/bin:/bin HOME=/root \
        REVOPS_HOME=/var/lib/revops/.revops AWS_REGION="$AWS_REGION" \
        REVOPS_ADMIN_SECRET_ID="$REVOPS_ADMIN_SECRET_ID" REVOPS_DB_HOST="$REVOPS_DB_HOST" \
        REVOPS_DB_SSLMODE=require PGDATABASE=postgres \
        REVOPS_FDW_HOST="$REVOPS_DB_HOST" REVOPS_FDW_PORT=5432 REVOPS_FDW_SSLMODE=require \
        REVOPS_SOURCE_DB="$REVOPS_SOURCE_DB" REVOPS_METRICS_DB="$REVOPS_METRICS_DB" \
        REVOPS_ETL_SECRET_ID="$REVOPS_ETL_SECRET_ID" \
        REVOPS_FDW_READER_SECRET_ID="$REVOPS_FDW_READER_SECRET_ID" \
        REVOPS_RUNNER_SECRET_ID="$REVOPS_RUNNER_SECRET_ID" \
        REVOPS_BI_SECRET_ID="$REVOPS_BI_SECRET_ID" \
        "$REVOPS_ROOT/venv/bin/revops" bootstrap --timezone "$REVOPS_BUSINESS_TIMEZONE"
}

bootstrap_databases() {
    local attempt
    if [[ ${REVOPS_DATABASE:-ec2} == rds ]]; then
        for attempt in 1 2 3 4 5; do
            bootstrap_rds && return 0
            log "bootstrap attempt $attempt failed; retrying (RDS or secrets may not be ready)"
            sleep $((attempt * 30))
        done
        die "revops bootstrap (RDS) failed"
    fi
    for attempt in 1 2 3 4 5; do
        # The local superuser over the Unix socket (peer); role passwords come from the
        # REVOPS_<ROLE>_SECRET_ID secrets, read by `revops` itself with the instance role.
        if runuser -u postgres -- env -i PATH=/usr/bin:/bin HOME="$PG_HOME" \
            PGHOST="$SOCKET_DIR" PGPORT=5432 PGUSER=postgres \
            REVOPS_HOME="$PG_HOME/.revops" AWS_REGION="$AWS_REGION" \
            REVOPS_SOURCE_DB="$REVOPS_SOURCE_DB" REVOPS_METRICS_DB="$REVOPS_METRICS_DB" \
            REVOPS_ETL_SECRET_ID="$REVOPS_ETL_SECRET_ID" \
            REVOPS_FDW_READER_SECRET_ID="$REVOPS_FDW_READER_SECRET_ID" \
            REVOPS_RUNNER_SECRET_ID="$REVOPS_RUNNER_SECRET_ID" \
            REVOPS_BI_SECRET_ID="$REVOPS_BI_SECRET_ID" \
            "$REVOPS_ROOT/venv/bin/revops" bootstrap --timezone "$REVOPS_BUSINESS_TIMEZONE"; then
            return 0
        fi
        log "bootstrap attempt $attempt failed; retrying (secrets may still be propagating)"
        sleep $((attempt * 15))
    done
    die "revops bootstrap failed"
}

install_units() {
    local release=$REVOPS_ROOT/current unit
    for unit in revops-metrics.service revops-metrics@.service revops-metrics.timer \
        revops-backfill@.service revops-metrics-failed@.service; do
        write_if_changed "/etc/systemd/system/$unit" 0644 <"$release/runner/systemd/$unit"
    done
    mkdir -p /etc/systemd/system/revops-metrics.timer.d /etc/revops
    render_timer_dropin "$REVOPS_BUSINESS_TIMEZONE" "$REVOPS_RUN_TIME" |
        write_if_changed /etc/systemd/system/revops-metrics.timer.d/schedule.conf 0644
    render_runner_env "$AWS_REGION" "$REVOPS_RUNNER_SECRET_ID" "$REVOPS_SOURCE_DB" "$REVOPS_METRICS_DB" \
        "$REVOPS_STACK" "$REVOPS_ETL_SECRET_ID" "${REVOPS_LANDING_BUCKET:-}" |
        write_if_changed /etc/revops/runner.env 0644
    write_if_changed /usr/local/sbin/revops-ssm-run 0755 <"$release/infra/host/revops-ssm-run.sh"
    write_if_changed /usr/local/sbin/revops-run 0755 <"$release/infra/host/revops-run.sh"
    systemctl daemon-reload
    systemctl enable --now revops-metrics.timer
}

# security_updates: dnf-automatic for security updates (REVOPS_SECURITY_UPDATES=true, the
# default), or its timer off. Amazon Linux 2023 locks the repositories to the AMI's release, so
# without `releasever=latest` dnf-automatic would find nothing newer than the AMI.
security_updates() {
    if [[ ${REVOPS_SECURITY_UPDATES:-true} != true ]]; then
        systemctl disable --now dnf-automatic.timer >/dev/null 2>&1 || true
        return 0
    fi
    rpm -q dnf-automatic >/dev/null 2>&1 || dnf -y -q install dnf-automatic
    mkdir -p /etc/dnf/vars
    printf 'latest\n' | write_if_changed /etc/dnf/vars/releasever 0644
    render_dnf_automatic_conf | write_if_changed /etc/dnf/automatic.conf 0644
    systemctl enable --now dnf-automatic.timer
}

# start_run_once_per_release: a replaced host has no timer stamp, so Persistent=true cannot
# catch up a run missed during the swap (it would wait a day). The first setup of each release
# on this host starts the daily service once, without waiting for it; re-runs do not.
start_run_once_per_release() {
    local state=${REVOPS_STATE_DIR:-/var/lib/revops} stamp
    stamp=$state/started-release
    if [[ -f $stamp && $(<"$stamp") == "$REVOPS_BUNDLE_SHA256" ]]; then
        return 0
    fi
    mkdir -p "$state"
    log "release $REVOPS_BUNDLE_SHA256 is new on this host: starting revops-metrics.service once"
    systemctl start --no-block revops-metrics.service
    printf '%s\n' "$REVOPS_BUNDLE_SHA256" >"$stamp"
}

# ship_logs: the journal of the revops units (and PostgreSQL, cloud-init) to CloudWatch Logs,
# /revops/<stack>: the local journal lives on the root volume, which a replacement deletes.
ship_logs() {
    local config=/opt/aws/amazon-cloudwatch-agent/etc/revops.json
    rpm -q amazon-cloudwatch-agent logrotate >/dev/null 2>&1 ||
        dnf -y -q install amazon-cloudwatch-agent logrotate
    mkdir -p /var/log/revops "$(dirname "$config")"
    render_journal_export_unit | write_if_changed /etc/systemd/system/revops-journal-export.service 0644
    printf '%s\n' '/var/log/revops/journal.log {' '    daily' '    rotate 3' '    compress' \
        '    missingok' '    notifempty' '    copytruncate' '}' |
        write_if_changed /etc/logrotate.d/revops 0644
    render_cloudwatch_agent_config "/revops/$REVOPS_STACK" | write_if_changed "$config" 0644
    systemctl daemon-reload
    systemctl enable --now revops-journal-export.service
    /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
        -c "file:$config" >/dev/null
}

main() {
    [[ $EUID == 0 ]] || die "run as root"
    local env_file=${REVOPS_HOST_ENV:-/etc/revops/host.env}
    # shellcheck source=/dev/null
    set -a && . "$env_file" && set +a
    install_packages
    if [[ ${REVOPS_DATABASE:-ec2} != rds ]]; then
        prepare_volume
        init_cluster
        configure_postgres
    fi
    install_code
    bootstrap_databases
    install_units
    ship_logs
    security_updates
    start_run_once_per_release
    log "done: ${REVOPS_DATABASE:-ec2} PostgreSQL, release $REVOPS_BUNDLE_SHA256, timer enabled"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
