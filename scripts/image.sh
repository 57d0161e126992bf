#!/usr/bin/env bash
# Build the Debian 12 test-host image (systemd as PID 1) locally: there is no image registry.
#
#   scripts/image.sh            build unless the image exists
#   scripts/image.sh --rebuild  build even if it exists
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOG_FILE="$PYWEB_LOG_DIR/image.log"
ROOTFS="$PYWEB_STATE_DIR/debian12-rootfs.tar"
BASE_IMAGE="${PYWEB_IMAGE%:*}-base:latest"

# What a bare test host has: enough for systemd, Ansible (python3, python3-apt, sudo) and for
# debugging by hand; every package the roles need is installed by the roles themselves.
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,curl

rebuild=false
case "${1:-}" in
  "") ;;
  --rebuild) rebuild=true ;;
  *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

docker_ok || fail "build image" "" "no container engine answers; run scripts/engine.sh start first"

if ! $rebuild && "$PYWEB_DOCKER" image inspect "$PYWEB_IMAGE" >/dev/null 2>&1; then
  log "image $PYWEB_IMAGE present (scripts/image.sh --rebuild to build it again)"
  exit 0
fi

apt_install mmdebstrap

# The hosts must trust the same extra CAs as this machine, or HTTPS from inside (pip) fails with
# CERTIFICATE_VERIFY_FAILED. machine-id is emptied so that each container gets its own.
hook_ca='mkdir -p "$1/usr/local/share/ca-certificates"; for crt in /usr/local/share/ca-certificates/*.crt; do [ -e "$crt" ] && cp "$crt" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates >/dev/null'
hook_machine_id=': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"'

rm -f "$ROOTFS"
run_logged "mmdebstrap Debian 12 rootfs" "$LOG_FILE" \
  mmdebstrap --variant=apt --include="$PACKAGES" \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --customize-hook="$hook_ca" --customize-hook="$hook_machine_id" \
  bookworm "$ROOTFS"

run_logged "docker import rootfs" "$PYWEB_LOG_DIR/image-import.log" \
  "$PYWEB_DOCKER" import "$ROOTFS" "$BASE_IMAGE"
rm -f "$ROOTFS"

run_logged "docker build $PYWEB_IMAGE" "$PYWEB_LOG_DIR/image-build.log" \
  "$PYWEB_DOCKER" build --build-arg "BASE=$BASE_IMAGE" -t "$PYWEB_IMAGE" "$PYWEB_ROOT/scripts/image"
log "image $PYWEB_IMAGE built"
