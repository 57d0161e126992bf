#!/usr/bin/env bash
# Build the collection's Galaxy artifact from this checkout and install it into .state/collections,
# the collections path of the project's ansible.cfg: `ansible-playbook site.yml`, `make demo` and
# the benchmarks run what users install from Galaxy, not the working tree. (Molecule installs the
# artifact into each scenario's own ANSIBLE_HOME by itself.) Takes a few seconds; run it after
# every change.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIST="$PYWEB_STATE_DIR/dist"
DEST="$PYWEB_STATE_DIR/collections"
LOG_FILE="$PYWEB_LOG_DIR/collection.log"

mkdir -p "$PYWEB_STATE_DIR"
# One build at a time: `make test` runs lint, the oldest ansible-core's checks and the benchmark
# smoke run in lanes side by side, and each asks for the collection.
exec {lock}>"$PYWEB_STATE_DIR/collection.lock"
flock "$lock"
rm -rf "$DIST"
mkdir -p "$DIST" "$DEST"
run_logged "build the collection artifact" "$LOG_FILE" \
  ansible-galaxy collection build "$PYWEB_ROOT" --output-path "$DIST"
artifact=$(find "$DIST" -maxdepth 1 -name '*.tar.gz' -print -quit)
# --no-deps: community.crypto, community.general and ansible.posix come with the `ansible` package
# of the tooling virtualenv.
run_logged "install $(basename "$artifact") into $DEST" "$LOG_FILE" \
  ansible-galaxy collection install --no-deps --force -p "$DEST" "$artifact"
log "collection installed: $DEST/ansible_collections/pyweb/stack"
