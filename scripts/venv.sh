#!/usr/bin/env bash
# Build a tooling virtualenv from a requirements file. Re-running is cheap: pip is only called when
# the file changed since the last successful install.
#
#   scripts/venv.sh            .venv from requirements.txt: the newest ansible-core, which the whole
#                              test suite runs on (it needs Python 3.12 or newer on the controller)
#   PYWEB_VENV=DIR PYWEB_REQUIREMENTS=FILE scripts/venv.sh
#                              another one, e.g. .venv-oldest from tests/requirements-oldest.txt, the
#                              oldest ansible-core that meta/runtime.yml claims (scripts/oldest.sh)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="${PYWEB_VENV:-$PYWEB_ROOT/.venv}"
REQUIREMENTS="${PYWEB_REQUIREMENTS:-$PYWEB_ROOT/requirements.txt}"
LOG_FILE="$PYWEB_LOG_DIR/venv-$(basename "$VENV").log"
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(<"$STAMP")" == "$want" ]]; then
  log "virtualenv $VENV up to date"
  exit 0
fi

# The interpreter the file asks for: its "# python>=3.X" line (ansible-core 2.20 and newer need
# 3.12 on the controller). The newest one found on PATH, or under pyenv's versions, that is new
# enough.
need=$(sed -n 's/^# python>=\([0-9.]*\).*/\1/p' "$REQUIREMENTS" | head -n 1)
need=${need:-3.11}
new_enough() { "$1" -c "import sys; sys.exit(sys.version_info[:2] < tuple(map(int, '$need'.split('.'))))" 2>/dev/null; }
python=
for candidate in python3.14 python3.13 python3.12 python3 \
  "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if new_enough "$path"; then python=$path; break; fi
done
[[ -n "$python" ]] || fail "find a Python for $VENV" "" \
  "$(basename "$REQUIREMENTS") needs Python $need or newer on the controller; none found on PATH or under pyenv"

if [[ -x "$VENV/bin/python" ]] && ! new_enough "$VENV/bin/python"; then
  log "virtualenv $VENV has an older Python than $need: building it again"
  rm -rf "$VENV"
fi
"$python" -m venv --help >/dev/null 2>&1 || apt_install python3-venv
[[ -x "$VENV/bin/python" ]] || run_logged "create virtualenv $VENV ($("$python" --version))" "$LOG_FILE" "$python" -m venv "$VENV"
run_logged "pip install -r $(basename "$REQUIREMENTS")" "$LOG_FILE" \
  "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$REQUIREMENTS"
echo "$want" >"$STAMP"
log "virtualenv $VENV ready"
