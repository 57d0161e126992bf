#!/usr/bin/env bash
# Build the tooling virtualenv (.venv) from requirements.txt. Re-running is cheap: pip is only
# called when requirements.txt changed since the last successful install.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="${PYWEB_VENV:-$PYWEB_ROOT/.venv}"
LOG_FILE="$PYWEB_LOG_DIR/venv.log"
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum "$PYWEB_ROOT/requirements.txt" | cut -d' ' -f1)

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(<"$STAMP")" == "$want" ]]; then
  log "virtualenv $VENV up to date"
  exit 0
fi

python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
[[ -x "$VENV/bin/python" ]] || run_logged "create virtualenv $VENV" "$LOG_FILE" python3 -m venv "$VENV"
run_logged "pip install -r requirements.txt" "$LOG_FILE" \
  "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$PYWEB_ROOT/requirements.txt"
echo "$want" >"$STAMP"
log "virtualenv $VENV ready"
