#!/usr/bin/env bash
# The demo: one Debian 12 host container with every role, its HTTP and HTTPS ports published on
# 127.0.0.1, deployed with `ansible-playbook -i inventory/demo site.yml`.
#
#   scripts/demo.sh up     create the host (if needed), deploy, print the URLs and real answers
#   scripts/demo.sh show   print the URLs and answers of a deployed demo
#   scripts/demo.sh down   remove the demo host
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME=pyweb-demo
HTTP_PORT="${PYWEB_DEMO_HTTP_PORT:-8080}"
HTTPS_PORT="${PYWEB_DEMO_HTTPS_PORT:-8443}"
DEPLOY_LOG="$PYWEB_LOG_DIR/demo-deploy.log"

deploy() {
  log "ansible-playbook -i inventory/demo site.yml (log: $DEPLOY_LOG)"
  # Output goes to the terminal and to the log, so a failure can be read again later.
  if ! (cd "$PYWEB_ROOT" && ansible-playbook -i inventory/demo site.yml) 2>&1 | tee "$DEPLOY_LOG"; then
    fail "deploy the demo stack" "$DEPLOY_LOG" "ansible-playbook site.yml failed"
  fi
}

# show: each route with the answer it gives right now, fetched through Nginx on the published ports.
show() {
  local base="https://localhost:$HTTPS_PORT" url
  printf '\nThe demo answers on 127.0.0.1 (self-signed certificate, hence curl -k):\n\n'
  for url in "$base/sync-api/hello" "$base/async-api/hello" "$base/sync-api/healthz" \
    "$base/async-api/healthz" "$base/static/index.html"; do
    printf '  %s\n' "$url"
    curl -ksS --max-time 10 -o "$PYWEB_STATE_DIR/answer" -w '    -> HTTP %{http_code}, %{content_type}\n' "$url" ||
      fail "query the demo" "" "no answer from $url"
    head -c 300 "$PYWEB_STATE_DIR/answer" | tr -s '\n' ' ' | sed 's/^/       /'
    printf '\n'
  done
  printf '  http://localhost:%s/sync-api/hello\n' "$HTTP_PORT"
  curl -sS --max-time 10 -o /dev/null -w '    -> HTTP %{http_code}, Location: %{redirect_url}\n' \
    "http://localhost:$HTTP_PORT/sync-api/hello"
}

case "${1:-}" in
  up)
    "$PYWEB_ROOT/scripts/host.sh" create "$NAME" "127.0.0.1:$HTTP_PORT:80" "127.0.0.1:$HTTPS_PORT:443"
    deploy
    show
    ;;
  show) show ;;
  down) "$PYWEB_ROOT/scripts/host.sh" remove "$NAME" ;;
  *) echo "usage: $0 up|show|down" >&2; exit 2 ;;
esac
