#!/usr/bin/env bash
# A Debian 12 host container with systemd as PID 1, outside Molecule (for the demo and the
# benchmark). Same settings as the Molecule platforms in molecule/*/molecule.yml.
#
#   scripts/host.sh create NAME [PUBLISH...]   create and boot NAME unless it runs; PUBLISH is a
#                                              docker --publish value, e.g. 127.0.0.1:8080:80
#   scripts/host.sh remove NAME                remove NAME if it exists
#   scripts/host.sh address NAME               print NAME's address on its container network
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Every capability that docker.io 20.10 knows except SYS_RESOURCE: `--privileged` fails on hosts
# whose root lacks CAP_SYS_RESOURCE ("unable to apply caps"); and except SYS_MODULE, with which
# Debian 13's systemd-modules-load fails at boot (a container has no /lib/modules).
CAPS=(AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER
  FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN
  NET_BIND_SERVICE NET_BROADCAST NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT SYS_CHROOT
  SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_TIME SYS_TTY_CONFIG SYSLOG WAKE_ALARM)

create() {
  local name=$1
  shift
  local state
  state=$("$PYWEB_DOCKER" inspect -f '{{.State.Status}}' "$name" 2>/dev/null || true)
  case "$state" in
    running) log "host $name already running"; return 0 ;;
    "") ;;
    *) log "removing stopped host $name"; "$PYWEB_DOCKER" rm -f "$name" >/dev/null ;;
  esac
  local args=(--detach --name "$name" --hostname "$name"
    --cgroupns host --volume /sys/fs/cgroup:/sys/fs/cgroup:rw
    --tmpfs /run --tmpfs /run/lock --tmpfs "/tmp:exec,mode=1777"
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined
    --stop-signal SIGRTMIN+3)
  local item
  for item in "${CAPS[@]}"; do args+=(--cap-add "$item"); done
  for item in "$@"; do args+=(--publish "$item"); done
  run_logged "create host $name" "$PYWEB_LOG_DIR/host-$name.log" \
    "$PYWEB_DOCKER" run "${args[@]}" "$PYWEB_IMAGE" /lib/systemd/systemd
  # systemctl answers only once PID 1 has its bus up; until then it prints nothing, so ask again.
  local booted="" _
  for _ in $(seq 1 90); do
    booted=$("$PYWEB_DOCKER" exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
    [[ -z "$booted" || "$booted" == starting || "$booted" == initializing ]] || break
    sleep 1
  done
  [[ "$booted" == running ]] || fail "boot host $name" "" "systemd in $name reports '$booted', expected 'running'"
  log "host $name booted (systemd: $booted)"
}

remove() {
  if "$PYWEB_DOCKER" inspect "$1" >/dev/null 2>&1; then
    "$PYWEB_DOCKER" rm -f "$1" >/dev/null && log "host $1 removed"
  else
    log "no host $1 to remove"
  fi
}

address() {
  "$PYWEB_DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}'
}

action=${1:-}
case "$action" in
  create) [[ $# -ge 2 ]] || { echo "usage: $0 create NAME [PUBLISH...]" >&2; exit 2; }; shift; create "$@" ;;
  remove) [[ $# -eq 2 ]] || { echo "usage: $0 remove NAME" >&2; exit 2; }; remove "$2" ;;
  address) [[ $# -eq 2 ]] || { echo "usage: $0 address NAME" >&2; exit 2; }; address "$2" ;;
  *) echo "usage: $0 create|remove|address NAME" >&2; exit 2 ;;
esac
