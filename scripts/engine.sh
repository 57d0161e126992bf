#!/usr/bin/env bash
# Container engine for the test hosts: Debian's docker.io, started by hand because these machines
# have no systemd on the host.
#
#   scripts/engine.sh start    install docker.io if missing, start dockerd unless one answers
#   scripts/engine.sh stop     stop dockerd, but only when this script started it
#   scripts/engine.sh status   say whether an engine answers and who started it
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PID_FILE="$PYWEB_STATE_DIR/dockerd.pid"
LOG_FILE="$PYWEB_LOG_DIR/dockerd.log"

our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid=$(<"$PID_FILE")
  # The PID must still be a dockerd: PIDs are reused after a reboot.
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
  echo "$pid"
}

# The uplink MTU: containers must not send bigger frames than the host's route out, or TLS and
# pip downloads stall (seen with an uplink of 1400).
uplink_mtu() {
  local dev
  dev=$(ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}' | head -n 1)
  if [[ -n "$dev" && -r "/sys/class/net/$dev/mtu" ]]; then
    cat "/sys/class/net/$dev/mtu"
  else
    echo 1500
  fi
}

start() {
  if docker_ok; then
    if pid=$(our_pid); then log "engine already running (ours, PID $pid)"; else log "engine already running (not started by pyweb; left alone)"; fi
    return 0
  fi
  apt_install docker.io containerd runc iptables
  local mtu
  mtu=$(uplink_mtu)
  log "starting dockerd --mtu $mtu (log: $LOG_FILE)"
  (close_inherited_fds; exec nohup /usr/sbin/dockerd --mtu "$mtu") >"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  local i
  for i in $(seq 1 60); do
    if docker_ok; then
      log "engine ready after ${i}s (PID $(<"$PID_FILE"))"
      return 0
    fi
    if ! kill -0 "$(<"$PID_FILE")" 2>/dev/null; then
      rm -f "$PID_FILE"
      fail "start engine" "$LOG_FILE" "dockerd exited during start-up"
    fi
    sleep 1
  done
  fail "start engine" "$LOG_FILE" "dockerd did not answer 'docker info' within 60 s"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PID_FILE"
    log "no engine started by pyweb; nothing to stop"
    return 0
  fi
  log "stopping dockerd (PID $pid)"
  kill -TERM "$pid"
  local i
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; log "engine stopped"; return 0; }
    sleep 1
  done
  fail "stop engine" "$LOG_FILE" "dockerd (PID $pid) still running 30 s after SIGTERM"
}

status() {
  if docker_ok; then
    if pid=$(our_pid); then echo "running (started by pyweb, PID $pid)"; else echo "running (not started by pyweb)"; fi
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
