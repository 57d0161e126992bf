#!/usr/bin/env bash
# Install the Debian packages the test suite runs on the controller (not inside the test hosts):
# testssl.sh grades the deployed TLS endpoint from outside, as a client on the network would.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apt_install testssl.sh
log "controller test tools present: testssl.sh"
