# shellcheck shell=bash
# Shared helpers for the platform scripts. Sourced, never run.
#
# Every script keeps its state (PID files, logs, the rootfs tarball) under $PYWEB_STATE_DIR so
# that `make clean` knows exactly what this project started and nothing else.

set -euo pipefail

PYWEB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYWEB_STATE_DIR="${PYWEB_STATE_DIR:-$PYWEB_ROOT/.state}"
PYWEB_LOG_DIR="$PYWEB_STATE_DIR/logs"
# The Debian release of the test hosts (13, the stable release, unless set; or 12) names their
# image; PYWEB_IMAGE overrides the name. molecule/resources/vars/platform.yml derives the same
# name from the same two variables.
PYWEB_DEBIAN="${PYWEB_DEBIAN:-13}"
PYWEB_IMAGE="${PYWEB_IMAGE:-pyweb/debian${PYWEB_DEBIAN}-systemd:latest}"
mkdir -p "$PYWEB_LOG_DIR"

# Prefer Debian's client when both exist: it matches the engine we start (API 1.41); a newer
# client on PATH also works, so either is fine.
PYWEB_DOCKER="${PYWEB_DOCKER:-$(command -v docker || echo /usr/bin/docker)}"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

# fail STEP LOGFILE MESSAGE: stop with a message that says which step broke and where to look.
fail() {
  local step=$1 logfile=$2
  shift 2
  printf '\nFAILED step "%s": %s\n' "$step" "$*" >&2
  if [[ -n "$logfile" && -f "$logfile" ]]; then
    printf 'Read the log: %s (last lines below)\n' "$logfile" >&2
    tail -n 20 "$logfile" | sed 's/^/    | /' >&2
  fi
  exit 1
}

# run_logged STEP LOGFILE CMD...: run CMD with its output in LOGFILE; fail with that log if it fails.
run_logged() {
  local step=$1 logfile=$2
  shift 2
  log "$step (log: $logfile)"
  if ! "$@" >"$logfile" 2>&1; then
    fail "$step" "$logfile" "command failed: $*"
  fi
}

# molecule_created ANSIBLE_HOME SCENARIO: whether Molecule's state under that ANSIBLE_HOME says
# the scenario's hosts may exist. A scenario whose last step was `destroy` says no; destroying it
# again would only cost Molecule's start-up, some 15 s a scenario and release.
molecule_created() {
  local state
  for state in "$1"/tmp/molecule.*."$2"/state.yml; do
    [[ -f "$state" ]] || continue
    grep -q '^created: false' "$state" || return 0
  done
  return 1
}

# apt_install PKG...: install Debian packages that are missing; no-op when all are present. One
# script at a time (`make test` prepares the hosts beside the checks): apt and dpkg refuse a
# second caller instead of waiting for the first, so each waits here for the lock of this project.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  local logfile="$PYWEB_LOG_DIR/apt.log"
  mkdir -p "$PYWEB_STATE_DIR"
  run_logged "apt-get update" "$logfile" flock "$PYWEB_STATE_DIR/apt.lock" apt-get update
  run_logged "apt-get install ${missing[*]}" "$logfile" flock "$PYWEB_STATE_DIR/apt.lock" \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# For a daemon started in the background: close every descriptor but stdin, stdout and stderr in
# the subshell that then execs it, so that a lock or pipe the caller holds (`flock FILE make ...`,
# a CI runner's pipe) is not held for the daemon's whole life. Use: ( close_inherited_fds; exec ... ) &
close_inherited_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
  done
}

docker_ok() { "$PYWEB_DOCKER" info >/dev/null 2>&1; }
