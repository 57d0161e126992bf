#!/usr/bin/env bash
# Run Molecule scenarios in lanes: the lanes run at the same time, the scenarios of one lane one
# after another. The scenarios spend much of their time waiting on downloads and on their hosts, so
# two or three lanes finish well before one long queue on a 2-core machine.
#
#   scripts/lanes.sh LANE...    LANE: scenarios separated by commas, e.g. resilience default,security;
#                               make:TARGET runs `make TARGET` in the lane (make:bench-smoke)
#   scripts/lanes.sh --destroy  destroy the scenarios whose hosts may still exist: those the last
#                               lanes or a run by hand left behind (after an interrupted run)
#
# A scenario runs on the Debian release in PYWEB_DEBIAN (13 unless set); SCENARIO@RELEASE runs it
# on another one, e.g. default@12, with that release's image. A %oldest suffix (default@12%oldest)
# runs it with the oldest ansible-core that meta/runtime.yml claims (the virtualenv of
# tests/requirements-oldest.txt, PYWEB_VENV_OLDEST, built by scripts/oldest.sh) instead of the
# newest one the rest of the suite runs on. When a call runs a scenario on
# PYWEB_DEBIAN too, its runs on other releases are repeats: they get PYWEB_RELEASE_REPEAT=1, so
# that tests whose outcome cannot depend on the host's release (a bad variable refused on the
# controller) run once, and they leave out the check-mode steps (Ansible's check mode plans the
# same way on either release; the primary run has them): create, prepare, converge, idempotence,
# verify, destroy.
# Scenarios that run on two releases name their hosts after the release, so the runs may share a
# lane or not.
#
# Each lane has its own ANSIBLE_HOME (Molecule installs this collection into it before each
# scenario, and keeps its ephemeral state there) and its own TMPDIR, so lanes never write the same
# files; its output goes to .state/logs/lane-N.log. A lane stops at its first failing scenario;
# the others run to the end. The summary (also in .state/logs/lanes.txt) gives each lane's and
# each scenario's time, names a failed scenario and prints the end of its lane's log. The test
# hosts use the download cache of scripts/cache.sh when it runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LANES_DIR="$PYWEB_STATE_DIR/lanes"
SUMMARY="$PYWEB_LOG_DIR/lanes.txt"
TAIL_LINES="${PYWEB_LANE_TAIL:-60}"

# The tooling virtualenv first, and plain output: the logs are files, not terminals.
export PATH="${PYWEB_VENV:-$PYWEB_ROOT/.venv}/bin:$PATH"
export PY_COLORS="${PY_COLORS:-0}" ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}" NO_COLOR="${NO_COLOR:-1}"

VENV_OLDEST="${PYWEB_VENV_OLDEST:-$PYWEB_ROOT/.venv-oldest}"

# An entry is SCENARIO[@RELEASE][%oldest].
# release_of ENTRY: the Debian release the entry runs on.
release_of() { local base=${1%%\%*}; if [[ $base == *@* ]]; then echo "${base#*@}"; else echo "$PYWEB_DEBIAN"; fi; }
# scenario_of ENTRY: the scenario's name.
scenario_of() { local base=${1%%\%*}; echo "${base%@*}"; }
# venv_of ENTRY: the tooling virtualenv the entry runs with.
venv_of() { if [[ $1 == *%oldest ]]; then echo "$VENV_OLDEST"; else echo "${PYWEB_VENV:-$PYWEB_ROOT/.venv}"; fi; }

# Molecule keeps a scenario's state under the ANSIBLE_HOME it ran with, so each lane's scenarios
# are destroyed with their lane's, and those run by hand (`make molecule-NAME`, `molecule test`)
# with the default ANSIBLE_HOME, on either release. Only scenarios whose state says their hosts
# may exist are destroyed.
destroy_all() {
  local dir name release home="${ANSIBLE_HOME:-$HOME/.ansible}"
  for dir in "$PYWEB_ROOT"/molecule/*/molecule.yml; do
    name=$(basename "$(dirname "$dir")")
    molecule_created "$home" "$name" || continue
    for release in 13 12; do
      (cd "$PYWEB_ROOT" && PYWEB_DEBIAN="$release" molecule destroy -s "$name") >/dev/null 2>&1 ||
        warn "could not destroy scenario $name (Debian $release)"
    done
  done
  for dir in "$LANES_DIR"/*/; do
    [[ -f "$dir/scenarios" ]] || continue
    for name in $(<"$dir/scenarios"); do
      molecule_created "$dir/ansible" "$(scenario_of "$name")" || continue
      (cd "$PYWEB_ROOT" && ANSIBLE_HOME="$dir/ansible" TMPDIR="$dir/tmp" PYWEB_DEBIAN="$(release_of "$name")" \
        molecule destroy -s "$(scenario_of "$name")") >/dev/null 2>&1 ||
        warn "could not destroy scenario $name (lane $(basename "$dir"))"
    done
  done
}

# Two runs on one state directory would install their collections into the same lane homes and
# write the same logs: the second refuses at once (run it from its own checkout instead). A PID
# file, not a lock held open: the lanes' children (Molecule, SSH masters) would inherit a lock.
LANES_PID="$PYWEB_STATE_DIR/lanes.pid"
claim_state_dir() {
  mkdir -p "$PYWEB_STATE_DIR"
  if [[ -f $LANES_PID ]] && kill -0 "$(cat "$LANES_PID")" 2>/dev/null; then
    fail "lanes" "" "scripts/lanes.sh (PID $(cat "$LANES_PID")) runs with the state directory $PYWEB_STATE_DIR;" \
      "wait for it, or run from another checkout"
  fi
  echo $$ >"$LANES_PID"
  trap 'rm -f "$LANES_PID"' EXIT
}

USAGE="usage: $0 LANE... | --destroy (LANE: scenario[@release][,scenario[@release]...])"
case "${1:-}" in
  "") echo "$USAGE" >&2; exit 2 ;;
  --destroy) claim_state_dir; destroy_all; exit 0 ;;
  -*) echo "$USAGE" >&2; exit 2 ;;
esac

# The scenarios that run on PYWEB_DEBIAN in this call: their runs on other releases are repeats.
primary=" "
for lane in "$@"; do
  IFS=, read -r -a names <<<"$lane"
  for name in "${names[@]}"; do
    [[ $name != make:* ]] || continue
    scenario=$(scenario_of "$name")
    [[ -f "$PYWEB_ROOT/molecule/$scenario/molecule.yml" ]] || { echo "$0: no scenario '$scenario' (molecule/$scenario/molecule.yml)" >&2; exit 2; }
    if [[ ${name%%\%*} == *@* ]]; then
      case $(release_of "$name") in
        12 | 13) ;;
        *) echo "$0: '$name': the release after @ must be 12 or 13" >&2; exit 2 ;;
      esac
    fi
    if [[ $name == *%* && $name != *%oldest ]]; then
      echo "$0: '$name': the only suffix after % is oldest" >&2; exit 2
    fi
    if [[ $name == *%oldest && ! -x "$VENV_OLDEST/bin/molecule" ]]; then
      echo "$0: '$name' needs the virtualenv $VENV_OLDEST (scripts/oldest.sh venv)" >&2; exit 2
    fi
    [[ $(release_of "$name") != "$PYWEB_DEBIAN" ]] || primary+="$scenario "
  done
done

eval "$("$PYWEB_ROOT/scripts/cache.sh" env)"
if [[ -n "$PYWEB_APT_CACHE" ]]; then
  log "test hosts use the apt cache at $PYWEB_APT_CACHE"
else
  log "no apt cache answers; the test hosts download Debian packages directly"
fi
if [[ -n "$PYWEB_PIP_INDEX" ]]; then
  log "test hosts use the PyPI cache at $PYWEB_PIP_INDEX"
else
  log "no PyPI cache answers; the test hosts download from PyPI directly"
fi

# run_scenario SCENARIO REPEAT: Molecule's test sequence of the scenario, or a repeat's.
run_scenario() {
  [[ -n $2 ]] || { molecule test -s "$1"; return; }
  local rc=0
  { molecule destroy -s "$1" && molecule converge -s "$1" && molecule idempotence -s "$1" &&
    molecule verify -s "$1"; } || rc=$?
  molecule destroy -s "$1" || ((rc)) || rc=1
  return "$rc"
}

# run_lane N SCENARIOS: the scenarios of lane N one after another; one "scenario rc seconds" line
# per scenario run in the lane's times file.
run_lane() {
  local n=$1 dir="$LANES_DIR/$1" logfile="$PYWEB_LOG_DIR/lane-$1.log" name start rc
  local -a names
  IFS=, read -r -a names <<<"$2"
  rm -rf "$dir"
  mkdir -p "$dir/ansible" "$dir/tmp"
  : >"$dir/times"
  echo "${names[*]}" >"$dir/scenarios"
  : >"$logfile"
  local scenario release repeat venv
  for name in "${names[@]}"; do
    if [[ $name == make:* ]]; then
      log "lane $n: make ${name#make:}"
      printf '\n===== make %s (%s) =====\n' "${name#make:}" "$(date -u +%H:%M:%S)" >>"$logfile"
      start=$(date +%s)
      rc=0
      (cd "$PYWEB_ROOT" && TMPDIR="$dir/tmp" make --no-print-directory "${name#make:}") >>"$logfile" 2>&1 </dev/null || rc=$?
      echo "$name $rc $(($(date +%s) - start))" >>"$dir/times"
      log "lane $n: $name $( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - start)) s"
      ((rc == 0)) || return "$rc"
      continue
    fi
    scenario=$(scenario_of "$name") release=$(release_of "$name") repeat="" venv=$(venv_of "$name")
    [[ $release == "$PYWEB_DEBIAN" || $primary != *" $scenario "* ]] || repeat=1
    log "lane $n: molecule test -s $scenario on Debian $release${repeat:+ (repeat: no check mode)}, $("$venv/bin/ansible" --version | sed -n 1p)"
    printf '\n===== molecule test -s %s on Debian %s%s, %s (%s) =====\n' "$scenario" "$release" "${repeat:+ (repeat)}" \
      "$("$venv/bin/ansible" --version | sed -n 1p)" "$(date -u +%H:%M:%S)" >>"$logfile"
    start=$(date +%s)
    rc=0
    (cd "$PYWEB_ROOT" && PATH="$venv/bin:$PATH" ANSIBLE_HOME="$dir/ansible" TMPDIR="$dir/tmp" PYWEB_DEBIAN="$release" \
      PYWEB_IMAGE="pyweb/debian$release-systemd:latest" PYWEB_RELEASE_REPEAT="$repeat" run_scenario "$scenario" "$repeat") \
      >>"$logfile" 2>&1 </dev/null || rc=$?
    echo "$name $rc $(($(date +%s) - start))" >>"$dir/times"
    log "lane $n: $name $( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - start)) s"
    ((rc == 0)) || return "$rc"
  done
}

# Each lane is a background job in a process group of its own (set -m), so an interrupt stops
# exactly the lanes started here, with their molecule and ansible children.
claim_state_dir
rm -rf "$LANES_DIR"
set -m
pids=()
lanes=("$@")
# Called from the trap below, which shellcheck does not follow.
# shellcheck disable=SC2317
stop_lanes() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
}
trap 'warn "interrupted: stopping the lanes"; stop_lanes; exit 130' INT TERM

started=$(date +%s)
for i in "${!lanes[@]}"; do
  run_lane "$((i + 1))" "${lanes[i]}" &
  pids+=("$!")
done

failed=()
for i in "${!lanes[@]}"; do
  wait "${pids[i]}" || failed+=("$((i + 1))")
done
set +m
trap - INT TERM

{
  printf '\nMolecule lanes (%s s in all):\n' "$(($(date +%s) - started))"
  for i in "${!lanes[@]}"; do
    n=$((i + 1)) total=0 detail=""
    while read -r name rc secs; do
      total=$((total + secs))
      detail+=" $name ${secs}s$( ((rc == 0)) || echo " FAILED")"
    done <"$LANES_DIR/$n/times"
    # Scenarios after a failure in the same lane did not run.
    for name in $(<"$LANES_DIR/$n/scenarios"); do
      grep -q "^$name " "$LANES_DIR/$n/times" || detail+=" $name not run"
    done
    printf '  lane %d  %5d s  %-8s%s   (log: %s)\n' "$n" "$total" \
      "$([[ " ${failed[*]} " == *" $n "* ]] && echo FAILED || echo passed)" "$detail" "${PYWEB_LOG_DIR#"$PYWEB_ROOT"/}/lane-$n.log"
  done
} | tee "$SUMMARY"

((${#failed[@]})) || exit 0
for n in "${failed[@]}"; do
  scenario=$(awk '$2 != 0 {print $1}' "$LANES_DIR/$n/times" | tail -n 1)
  printf '\nFAILED: molecule scenario %s (lane %d); last %d lines of %s:\n' \
    "${scenario:-?}" "$n" "$TAIL_LINES" "$PYWEB_LOG_DIR/lane-$n.log" >&2
  tail -n "$TAIL_LINES" "$PYWEB_LOG_DIR/lane-$n.log" | sed 's/^/    | /' >&2
done
printf '\nFAILED scenarios: %s\n' \
  "$(for n in "${failed[@]}"; do awk '$2 != 0 {print $1}' "$LANES_DIR/$n/times"; done | tr '\n' ' ')" >&2
exit 1
