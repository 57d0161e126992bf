#!/usr/bin/env bash
# Build the test-host image (systemd as PID 1) locally: there is no image registry.
#
#   scripts/image.sh            build unless the image exists
#   scripts/image.sh --rebuild  build even if it exists
#
# PYWEB_DEBIAN picks the release: 13 (trixie, the default) or 12 (bookworm); the image is
# pyweb/debian<release>-systemd:latest unless PYWEB_IMAGE names another.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOG_FILE="$PYWEB_LOG_DIR/image-debian$PYWEB_DEBIAN.log"
ROOTFS="$PYWEB_STATE_DIR/debian$PYWEB_DEBIAN-rootfs.tar"
BASE_IMAGE="${PYWEB_IMAGE%:*}-base:latest"

# What a bare test host has: enough for systemd, Ansible (python3, python3-apt, sudo) and for
# debugging by hand; every package the roles need is installed by the roles themselves.
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,curl
case "$PYWEB_DEBIAN" in
  12) SUITE=bookworm ;;
  # trixie's apt variant has no groupadd/useradd: passwd brings them.
  13) SUITE=trixie PACKAGES+=,passwd ;;
  *) echo "$0: PYWEB_DEBIAN must be 12 or 13, not '$PYWEB_DEBIAN'" >&2; exit 2 ;;
esac

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
# Single quotes on purpose: mmdebstrap runs each hook with the rootfs as $1.
# shellcheck disable=SC2016
hook_ca='mkdir -p "$1/usr/local/share/ca-certificates"; for crt in /usr/local/share/ca-certificates/*.crt; do [ -e "$crt" ] && cp "$crt" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates >/dev/null'
# shellcheck disable=SC2016
hook_machine_id=': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"'

rm -f "$ROOTFS"
run_logged "mmdebstrap Debian $PYWEB_DEBIAN ($SUITE) rootfs" "$LOG_FILE" \
  mmdebstrap --variant=apt --include="$PACKAGES" \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --customize-hook="$hook_ca" --customize-hook="$hook_machine_id" \
  "$SUITE" "$ROOTFS"

run_logged "docker import rootfs" "$PYWEB_LOG_DIR/image-debian$PYWEB_DEBIAN-import.log" \
  "$PYWEB_DOCKER" import "$ROOTFS" "$BASE_IMAGE"
rm -f "$ROOTFS"

run_logged "docker build $PYWEB_IMAGE" "$PYWEB_LOG_DIR/image-debian$PYWEB_DEBIAN-build.log" \
  "$PYWEB_DOCKER" build --build-arg "BASE=$BASE_IMAGE" -t "$PYWEB_IMAGE" "$PYWEB_ROOT/scripts/image"
log "image $PYWEB_IMAGE built"
