#!/usr/bin/env bash
# The demo: one Debian 12 host container with every role, its HTTP and HTTPS ports published on
# 127.0.0.1, deployed with `ansible-playbook -i inventory/demo site.yml`.
#
#   scripts/demo.sh up     create the host (if needed), deploy, print the URLs and real answers
#   scripts/demo.sh show   print the URLs and answers of a deployed demo
#   scripts/demo.sh down   remove the demo host
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME=pyweb-demo
HTTP_PORT="${PYWEB_DEMO_HTTP_PORT:-8080}"
HTTPS_PORT="${PYWEB_DEMO_HTTPS_PORT:-8443}"
DEPLOY_LOG="$PYWEB_LOG_DIR/demo-deploy.log"

# The same container settings as the Molecule platforms (molecule/*/molecule.yml): systemd as
# PID 1, every capability but SYS_RESOURCE (privileged mode fails on these hosts).
CAPS=(AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER
  FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN
  NET_BIND_SERVICE NET_BROADCAST NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT SYS_CHROOT
  SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_TIME SYS_TTY_CONFIG SYSLOG WAKE_ALARM)

create_host() {
  local state
  state=$("$PYWEB_DOCKER" inspect -f '{{.State.Status}}' "$NAME" 2>/dev/null || true)
  case "$state" in
    running) log "demo host $NAME already running" ; return 0 ;;
    "") ;;
    *) log "removing stopped demo host $NAME"; "$PYWEB_DOCKER" rm -f "$NAME" >/dev/null ;;
  esac
  local args=(--detach --name "$NAME" --hostname "$NAME"
    --cgroupns host --volume /sys/fs/cgroup:/sys/fs/cgroup:rw
    --tmpfs /run --tmpfs /run/lock --tmpfs "/tmp:exec,mode=1777"
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined
    --stop-signal SIGRTMIN+3
    --publish "127.0.0.1:$HTTP_PORT:80" --publish "127.0.0.1:$HTTPS_PORT:443")
  local cap
  for cap in "${CAPS[@]}"; do args+=(--cap-add "$cap"); done
  run_logged "create demo host $NAME" "$PYWEB_LOG_DIR/demo-create.log" \
    "$PYWEB_DOCKER" run "${args[@]}" "$PYWEB_IMAGE" /lib/systemd/systemd
  local state_now
  state_now=$("$PYWEB_DOCKER" exec "$NAME" timeout 60 systemctl is-system-running --wait 2>/dev/null || true)
  [[ "$state_now" == running ]] || fail "boot demo host" "" "systemd in $NAME reports '$state_now', expected 'running'"
  log "demo host $NAME booted (systemd: $state_now)"
}

deploy() {
  log "ansible-playbook -i inventory/demo site.yml (log: $DEPLOY_LOG)"
  # Output goes to the terminal and to the log, so a failure can be read again later.
  if ! (cd "$PYWEB_ROOT" && ansible-playbook -i inventory/demo site.yml) 2>&1 | tee "$DEPLOY_LOG"; then
    fail "deploy the demo stack" "$DEPLOY_LOG" "ansible-playbook site.yml failed"
  fi
}

# show: each route with the answer it gives right now, fetched through Nginx on the published ports.
show() {
  local base="https://localhost:$HTTPS_PORT" url
  printf '\nThe demo answers on 127.0.0.1 (self-signed certificate, hence curl -k):\n\n'
  for url in "$base/sync-api/hello" "$base/async-api/hello" "$base/sync-api/healthz" \
    "$base/async-api/healthz" "$base/static/index.html"; do
    printf '  %s\n' "$url"
    curl -ksS --max-time 10 -o "$PYWEB_STATE_DIR/answer" -w '    -> HTTP %{http_code}, %{content_type}\n' "$url" ||
      fail "query the demo" "" "no answer from $url"
    head -c 300 "$PYWEB_STATE_DIR/answer" | tr -s '\n' ' ' | sed 's/^/       /'
    printf '\n'
  done
  printf '  http://localhost:%s/sync-api/hello\n' "$HTTP_PORT"
  curl -sS --max-time 10 -o /dev/null -w '    -> HTTP %{http_code}, Location: %{redirect_url}\n' \
    "http://localhost:$HTTP_PORT/sync-api/hello"
}

case "${1:-}" in
  up) create_host; deploy; show ;;
  show) show ;;
  down)
    if "$PYWEB_DOCKER" inspect "$NAME" >/dev/null 2>&1; then
      "$PYWEB_DOCKER" rm -f "$NAME" >/dev/null && log "demo host $NAME removed"
    else
      log "no demo host to remove"
    fi
    ;;
  *) echo "usage: $0 up|show|down" >&2; exit 2 ;;
esac
