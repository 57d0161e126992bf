#!/usr/bin/env bash
# Download cache for the Molecule test hosts, so that the scenarios of a run do not each fetch the
# same Debian packages and PyPI wheels. Two small servers, listening only on the container
# engine's bridge address (which every test host reaches, whatever network it sits on):
# - apt: apt-cacher-ng from Debian's packages;
# - pip: proxpi, a caching PyPI index from PyPI, in a virtualenv of its own.
# For tests only: molecule/resources/create.yml points the hosts it creates at them when the
# variables printed by `env` are set; the roles, the demo and users' hosts never see them. apt asks
# before each download whether the cache answers and goes direct when it does not; pip is pointed
# at the index only if it answers when the host is created, and otherwise fails naming its address.
# A cache that fails to start is a warning: the hosts then download directly.
#
#   scripts/cache.sh start    install and start both unless they answer
#   scripts/cache.sh stop     stop the servers this script started (by PID); the cached files stay
#   scripts/cache.sh status   say whether they answer
#   scripts/cache.sh env      print PYWEB_APT_CACHE and PYWEB_PIP_INDEX for the test hosts
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE_DIR="$PYWEB_STATE_DIR/cache"
APT_PORT="${PYWEB_APT_CACHE_PORT:-3142}"
PIP_PORT="${PYWEB_PIP_CACHE_PORT:-3141}"
PROXPI_VERSION=1.3.1
PROXPI_VENV="$CACHE_DIR/proxpi-venv"

# The default bridge's address on the controller (docker0's): how the test hosts see it.
gateway() {
  local dev
  dev=$("$PYWEB_DOCKER" network inspect bridge -f '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)
  ip -4 -o addr show dev "${dev:-docker0}" 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}'
}

pid_file() { echo "$PYWEB_STATE_DIR/$1.pid"; }

# our_pid NAME COMM: the PID of the NAME server this script started, if it still runs as COMM.
our_pid() {
  local file pid
  file=$(pid_file "$1")
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
  echo "$pid"
}

apt_url() { echo "http://$1:$APT_PORT/acng-report.html"; }
pip_url() { echo "http://$1:$PIP_PORT/index/"; }
# proxpi's own health page: its index root would make it fetch PyPI's whole list of projects.
pip_health() { echo "http://$1:$PIP_PORT/health"; }
answers() { curl -s -o /dev/null --max-time 3 "$1"; }

# wait_answer NAME URL: wait for a server just started; stop it again if it never answers.
wait_answer() {
  local name=$1 url=$2 pid _
  pid=$(<"$(pid_file "$name")")
  for _ in $(seq 1 40); do
    if answers "$url"; then
      log "$name ready (PID $pid, $url)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  warn "$name did not answer on $url (log: $PYWEB_LOG_DIR/$name.log); the test hosts will download directly"
  kill -TERM "$pid" 2>/dev/null || true
  rm -f "$(pid_file "$name")"
}

start_apt() {
  local gw=$1 conf="$PYWEB_STATE_DIR/apt-cacher-ng"
  if our_pid apt-cacher-ng apt-cacher-ng >/dev/null && answers "$(apt_url "$gw")"; then
    log "apt-cacher-ng already running ($(apt_url "$gw"))"
    return 0
  fi
  if ! dpkg-query -W -f='${Status}' apt-cacher-ng 2>/dev/null | grep -q 'install ok installed'; then
    apt_install apt-cacher-ng
    # On machines that allow it, the package's init script starts a system-wide daemon. That
    # install was ours, so stop that daemon again: only ours, on the bridge alone, runs.
    local sys_pid
    sys_pid=$(cat /run/apt-cacher-ng/pid 2>/dev/null || true)
    if [[ -n "$sys_pid" && "$(cat "/proc/$sys_pid/comm" 2>/dev/null)" == apt-cacher-ng ]]; then
      log "stopping the daemon the apt-cacher-ng package started (PID $sys_pid)"
      kill -TERM "$sys_pid"
    fi
  fi
  # A configuration of our own, not the package's: its mirror remapping sends deb.debian.org
  # requests to backends that a machine with its own mirror may not resolve. Without remapping it
  # caches by URL, for whatever mirror the hosts use.
  mkdir -p "$conf" "$CACHE_DIR/apt"
  cat >"$conf/acng.conf" <<EOF
CacheDir: $CACHE_DIR/apt
LogDir: $conf
SupportDir: /usr/lib/apt-cacher-ng
PidFile: $conf/pid
SocketPath: $conf/socket
Port: $APT_PORT
BindAddress: $gw
ReportPage: acng-report.html
ExThreshold: 4
EOF
  log "starting apt-cacher-ng on $gw:$APT_PORT (cache: $CACHE_DIR/apt)"
  (close_inherited_fds; exec nohup /usr/sbin/apt-cacher-ng -c "$conf" ForeGround=1) \
    >"$PYWEB_LOG_DIR/apt-cacher-ng.log" 2>&1 </dev/null &
  echo $! >"$(pid_file apt-cacher-ng)"
  wait_answer apt-cacher-ng "$(apt_url "$gw")"
}

start_pip() {
  local gw=$1
  if our_pid proxpi flask >/dev/null && answers "$(pip_health "$gw")"; then
    log "proxpi already running ($(pip_url "$gw"))"
    return 0
  fi
  if [[ ! -x "$PROXPI_VENV/bin/flask" ]]; then
    python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
    run_logged "install proxpi $PROXPI_VERSION into $PROXPI_VENV" "$PYWEB_LOG_DIR/proxpi-install.log" \
      bash -c "python3 -m venv '$PROXPI_VENV' && '$PROXPI_VENV/bin/pip' install --disable-pip-version-check 'proxpi==$PROXPI_VERSION'"
  fi
  mkdir -p "$CACHE_DIR/pypi"
  log "starting proxpi on $gw:$PIP_PORT (cache: $CACHE_DIR/pypi)"
  # It fetches from PyPI with requests, which trusts certifi's CAs only unless told otherwise; the
  # system bundle carries this machine's extra CAs. Flask's threaded server is enough for tests.
  (close_inherited_fds
   PROXPI_CACHE_DIR="$CACHE_DIR/pypi" REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
     exec nohup "$PROXPI_VENV/bin/flask" --app proxpi.server run --host "$gw" --port "$PIP_PORT" --no-reload) \
    >"$PYWEB_LOG_DIR/proxpi.log" 2>&1 </dev/null &
  echo $! >"$(pid_file proxpi)"
  wait_answer proxpi "$(pip_health "$gw")"
}

start() {
  local gw
  docker_ok || { warn "no container engine answers; the test hosts will download directly"; return 0; }
  gw=$(gateway)
  [[ -n "$gw" ]] || { warn "no bridge address found; the test hosts will download directly"; return 0; }
  start_apt "$gw" || warn "apt-cacher-ng not started; the test hosts will download Debian packages directly"
  start_pip "$gw" || warn "proxpi not started; the test hosts will download from PyPI directly"
}

# stop_one NAME COMM
stop_one() {
  local pid _
  if ! pid=$(our_pid "$1" "$2"); then
    rm -f "$(pid_file "$1")"
    return 0
  fi
  log "stopping $1 (PID $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$(pid_file "$1")"; return 0; }
    sleep 0.5
  done
  fail "stop $1" "$PYWEB_LOG_DIR/$1.log" "$1 (PID $pid) still running 10 s after SIGTERM"
}

stop() {
  stop_one apt-cacher-ng apt-cacher-ng
  stop_one proxpi flask
  log "download cache stopped (cached files stay in $CACHE_DIR)"
}

status() {
  local gw rc=0
  gw=$(gateway)
  if [[ -n "$gw" ]] && our_pid apt-cacher-ng apt-cacher-ng >/dev/null && answers "$(apt_url "$gw")"; then
    echo "apt-cacher-ng: running ($gw:$APT_PORT)"
  else
    echo "apt-cacher-ng: not running"
    rc=1
  fi
  if [[ -n "$gw" ]] && our_pid proxpi flask >/dev/null && answers "$(pip_health "$gw")"; then
    echo "proxpi: running ($(pip_url "$gw"))"
  else
    echo "proxpi: not running"
    rc=1
  fi
  return "$rc"
}

# Shell assignments for `eval`: each stays empty unless that server of ours answers right now.
env_vars() {
  local gw apt="" pip=""
  gw=$(gateway)
  if [[ -n "$gw" ]]; then
    if our_pid apt-cacher-ng apt-cacher-ng >/dev/null && answers "$(apt_url "$gw")"; then apt="$gw:$APT_PORT"; fi
    if our_pid proxpi flask >/dev/null && answers "$(pip_health "$gw")"; then pip=$(pip_url "$gw"); fi
  fi
  printf 'export PYWEB_APT_CACHE=%q PYWEB_PIP_INDEX=%q\n' "$apt" "$pip"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_vars ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
