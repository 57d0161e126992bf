#!/usr/bin/env bash
# ansible-test sanity for the collection, on the tooling virtualenv's ansible-core and its Python
# only (one version keeps CI short; the tests that need other interpreters are skipped).
#
# ansible-test wants the collection at .../ansible_collections/pyweb/stack, so the tracked files of
# this checkout (and new ones git does not ignore) are copied to
# $PYWEB_STATE_DIR/sanity/ansible_collections/pyweb/stack first. Its --venv option builds one
# virtualenv per test from PyPI; they live under $PYWEB_STATE_DIR/sanity/home (ansible-test keeps
# them in ~/.ansible/test/venv, pip its downloads in ~/.cache/pip), so a rerun installs nothing.
#
#   scripts/sanity.sh                  every sanity test that applies
#   scripts/sanity.sh --test pylint    extra arguments go to ansible-test sanity
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SANITY_DIR="$PYWEB_STATE_DIR/sanity"
DEST="$SANITY_DIR/ansible_collections/pyweb/stack"
export HOME="$SANITY_DIR/home"
mkdir -p "$DEST" "$HOME"

command -v ansible-test >/dev/null || fail "find ansible-test" "" "no ansible-test on PATH: run make venv"
# The interpreter ansible-test itself runs on (the virtualenv's).
python="$(dirname "$(command -v ansible-test)")/python"
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# ansible-test starts each virtualenv with pip's bootstrap script from ci-files.testing.ansible.com,
# which CI machines may not reach; PyPI they do. A stand-in of the same name installs pip from its
# wheel, fetched from PyPI once.
cache="$HOME/.ansible/test/cache"
pip_version=$("$python" -c '
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])' "$version")
bootstrap="$cache/get_pip_${pip_version//./_}.py"
if [[ ! -f "$bootstrap" ]]; then
  mkdir -p "$cache"
  run_logged "download pip $pip_version for ansible-test's virtualenvs" "$PYWEB_LOG_DIR/sanity.log" \
    "$python" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: -d "$cache" "pip==$pip_version"
  cat >"$bootstrap.tmp" <<'PY'
# Stands in for get-pip.py: pip installs the requested packages with itself, run from its wheel.
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, glob.glob(os.path.join(here, "pip-*.whl"))[0])
from pip._internal.cli.main import main  # noqa: E402

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--find-links", here] + args))
PY
  mv "$bootstrap.tmp" "$bootstrap"
fi

# A fresh copy of the sources each run; tests/output keeps ansible-test's own delegation venv.
find "$DEST" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
if [[ -d "$DEST/tests" ]]; then
  find "$DEST/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
fi
(cd "$PYWEB_ROOT" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' path; do
    # Skip deleted files, and links to the virtualenvs that a worktree may hold.
    [[ -e "$path" && ! (-L "$path" && -d "$path") ]] && printf '%s\0' "$path"
  done |
  tar --null -T - -cf -) | tar -xf - -C "$DEST"

# A git repository of its own, or ansible-test would take the checkout's (which ignores .state) for
# the collection's and find no files; tests/output is ansible-test's, not the collection's.
if [[ ! -d "$DEST/.git" ]]; then
  git init -q "$DEST"
  echo /tests/output/ >>"$DEST/.git/info/exclude"
fi

log "ansible-test sanity ($(ansible --version | sed -n 1p), Python $version) in $DEST"
cd "$DEST" || exit 1
ansible-test sanity --venv --python "$version" --color no "$@"
