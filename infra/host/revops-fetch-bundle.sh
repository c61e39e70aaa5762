#!/usr/bin/env bash
# revops-fetch-bundle: download the stack's code bundle, check it, unpack it, run the host setup.
#
# Run once by cloud-init (runcmd), and safe to run again by hand or through SSM
# (`sudo /usr/local/sbin/revops-fetch-bundle`): an unpacked release is reused, and the setup
# script it starts is idempotent. Reads only /etc/revops/host.env (no secret in it).
set -euo pipefail
umask 022

env_file=${REVOPS_HOST_ENV:-/etc/revops/host.env}
# shellcheck source=/dev/null
set -a && . "$env_file" && set +a

root=${REVOPS_ROOT:-/opt/revops}
release="$root/releases/$REVOPS_BUNDLE_SHA256"

log() { printf 'revops-fetch-bundle: %s\n' "$*" >&2; }

if [[ ! -f "$release/.complete" ]]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    log "downloading $REVOPS_BUNDLE_URI"
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        if aws s3 cp --only-show-errors --region "$AWS_REGION" \
            "$REVOPS_BUNDLE_URI" "$work/bundle.tar.gz"; then
            break
        fi
        if [[ $attempt == 10 ]]; then
            log "cannot download the bundle (instance role, S3 endpoint or NAT?)"
            exit 1
        fi
        sleep $((attempt * 6))
    done
    # The bundle is named by the sha256 of its uncompressed tar (the same content always gives
    # the same name, whatever zlib compressed it).
    actual=$(gzip -dc "$work/bundle.tar.gz" | sha256sum | cut -d' ' -f1) || actual=unreadable
    if [[ $actual != "$REVOPS_BUNDLE_SHA256" ]]; then
        log "sha256 mismatch: refusing to install $REVOPS_BUNDLE_URI"
        exit 1
    fi
    mkdir -p "$root/releases" "$work/unpacked"
    tar -xzf "$work/bundle.tar.gz" -C "$work/unpacked" --no-same-owner
    touch "$work/unpacked/.complete"
    rm -rf "$release"
    mv -T "$work/unpacked" "$release"
    chmod 755 "$root" "$root/releases" "$release"
fi
ln -sfn "$release" "$root/current"
log "release $REVOPS_BUNDLE_SHA256 in place, running the host setup"
exec "$release/infra/host/revops-host-setup.sh"
