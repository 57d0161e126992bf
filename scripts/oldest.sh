#!/usr/bin/env bash
# The oldest ansible-core that meta/runtime.yml claims (tests/requirements-oldest.txt), beside the
# newest one the rest of the suite runs on (requirements.txt).
#
#   scripts/oldest.sh venv     build .venv-oldest (PYWEB_VENV_OLDEST) unless it is up to date
#   scripts/oldest.sh check    ansible-lint and the unit tests on it (the lanes run a Molecule
#                              scenario on it too: the %oldest entries of LANES)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV_OLDEST="${PYWEB_VENV_OLDEST:-$PYWEB_ROOT/.venv-oldest}"
venv() { PYWEB_VENV="$VENV_OLDEST" PYWEB_REQUIREMENTS="$PYWEB_ROOT/tests/requirements-oldest.txt" "$PYWEB_ROOT/scripts/venv.sh"; }

case "${1:-}" in
  venv) venv ;;
  check)
    venv
    log "$("$VENV_OLDEST/bin/ansible" --version | sed -n 1p): ansible-lint and the unit tests"
    (cd "$PYWEB_ROOT" && PATH="$VENV_OLDEST/bin:$PATH" ansible-lint && PATH="$VENV_OLDEST/bin:$PATH" pytest -q -n auto -p no:cacheprovider tests/unit)
    ;;
  *) echo "usage: $0 venv|check" >&2; exit 2 ;;
esac
