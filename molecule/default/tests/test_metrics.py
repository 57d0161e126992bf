"""Metrics of the stack as a real Prometheus scrapes them (molecule/default/prepare.yml installs it,
scraping every second): Nginx's counters through prometheus-nginx-exporter, and each app's requests
by status class with a latency histogram, from both a Flask app (gthread workers) and a FastAPI app
(Uvicorn workers). The metrics listen on loopback only and no public site serves them."""

import json
import re
import urllib.parse

import pytest
from pyweb_testlib import host_http, wait_for

BASE = "https://localhost"
PROMETHEUS_PORT = 9090
# The demo inventory's addresses (inventory/demo/group_vars/all).
NGINX_EXPORTER = "127.0.0.1:9113"
STUB_STATUS = "127.0.0.1:8089"
APPS = {"sync-api": "127.0.0.1:9210", "async-api": "127.0.0.1:9211"}
# Requests sent to each app: found, and not found (the app's own 404).
FOUND, MISSING = 12, 5


def query(host, expr):
    """The value of a PromQL expression that yields one number, or None when it yields nothing."""
    response = host_http(host, "/api/v1/query?query=" + urllib.parse.quote(expr), port=PROMETHEUS_PORT)
    assert response["status"] == 200, response["body"]
    result = json.loads(response["body"])["data"]["result"]
    assert len(result) <= 1, f"{expr} gave {len(result)} series"
    return float(result[0]["value"][1]) if result else None


def value(host, expr):
    return query(host, expr) or 0.0


def send(host, url, count):
    """count requests with curl from the host, each on a new connection; their status codes."""
    out = host.check_output(f"for i in $(seq {count}); do curl -ks -o /dev/null -w '%{{http_code}}\\n' {url}; done")
    return out.split()


def scraped(host):
    """Every target Prometheus scrapes answers (one scrape after it started is enough)."""
    return value(host, "count(up == 1)") == 1 + len(APPS)


@pytest.fixture(scope="module")
def traffic(host):
    """Counters before and after FOUND + MISSING requests to each app through Nginx, once Prometheus
    has scraped the requests (both apps' counters and Nginx's moved by at least what was sent)."""
    assert wait_for(lambda: scraped(host), timeout=30), host_http(host, "/api/v1/targets", port=PROMETHEUS_PORT)
    exprs = {"nginx_requests": "sum(nginx_http_requests_total)", "nginx_accepted": "sum(nginx_connections_accepted)"}
    for app in APPS:
        exprs[f"{app} requests"] = f'sum(pyweb_http_requests_total{{app="{app}"}})'
        exprs[f"{app} 4xx"] = f'sum(pyweb_http_requests_total{{app="{app}",status="4xx"}})'
        exprs[f"{app} count"] = f'sum(pyweb_http_request_duration_seconds_count{{app="{app}"}})'
        exprs[f"{app} +Inf"] = f'sum(pyweb_http_request_duration_seconds_bucket{{app="{app}",le="+Inf"}})'
    before = {name: value(host, expr) for name, expr in exprs.items()}
    statuses = {}
    for app in APPS:
        statuses[app] = send(host, f"{BASE}/{app}/hello", FOUND) + send(host, f"{BASE}/{app}/no-such-page", MISSING)
    sent = FOUND + MISSING

    def moved():
        after = {name: value(host, expr) for name, expr in exprs.items()}
        # Each target is scraped on its own schedule: wait for every counter asserted below.
        apps_done = all(after[f"{app} count"] - before[f"{app} count"] >= sent for app in APPS)
        nginx_done = all(after[name] - before[name] >= len(APPS) * sent
                         for name in ("nginx_requests", "nginx_accepted"))
        done = apps_done and nginx_done
        return after if done else None

    after = wait_for(moved, timeout=20) or {name: value(host, expr) for name, expr in exprs.items()}
    return {"before": before, "after": after, "statuses": statuses}


def delta(traffic, name):
    return traffic["after"][name] - traffic["before"][name]


def test_requests_reached_the_apps(traffic):
    for app, statuses in traffic["statuses"].items():
        assert statuses == ["200"] * FOUND + ["404"] * MISSING, app


def test_nginx_exporter_counts_connections_and_requests(traffic):
    sent = len(APPS) * (FOUND + MISSING)
    assert delta(traffic, "nginx_requests") >= sent, traffic
    # curl opens a connection per request.
    assert delta(traffic, "nginx_accepted") >= sent, traffic


@pytest.mark.parametrize("app", APPS)
def test_app_counts_every_request_and_the_4xx_class(traffic, app):
    assert delta(traffic, f"{app} requests") >= FOUND + MISSING, traffic
    assert delta(traffic, f"{app} 4xx") >= MISSING, traffic


@pytest.mark.parametrize("app", APPS)
def test_app_latency_histogram_moves(host, traffic, app):
    assert delta(traffic, f"{app} count") >= FOUND + MISSING, traffic
    # Every request falls in the +Inf bucket; the finite buckets are there and ordered.
    assert traffic["after"][f"{app} +Inf"] == traffic["after"][f"{app} count"], traffic
    buckets = [query(host, f'sum(pyweb_http_request_duration_seconds_bucket{{app="{app}",le="{le}"}})')
               for le in ("0.005", "0.1", "10.0")]
    assert None not in buckets, buckets
    assert buckets == sorted(buckets), buckets
    # The demo's hello answers well within 10 s.
    assert buckets[-1] >= FOUND


def test_labels_stay_bounded(host, traffic):
    """No paths and no exact codes as labels: the status label is a class."""
    response = host_http(host, "/api/v1/label/status/values", port=PROMETHEUS_PORT)
    statuses = set(json.loads(response["body"])["data"])
    assert statuses <= {"1xx", "2xx", "3xx", "4xx", "5xx", "other"}, statuses
    response = host_http(host, "/api/v1/series?match[]=" + urllib.parse.quote("pyweb_http_requests_total"),
                         port=PROMETHEUS_PORT)
    labels = {name for series in json.loads(response["body"])["data"] for name in series}
    assert labels == {"__name__", "app", "method", "status", "instance", "job"}, labels


@pytest.mark.parametrize("path", ["/metrics", "/stub_status", "/sync-api/metrics", "/async-api/metrics"])
def test_public_sites_do_not_serve_metrics(host, path):
    for https in (True, False):
        response = host_http(host, path, https=https)
        assert response["status"] in (301, 404), (path, https, response["status"])
        assert "pyweb_http_requests" not in response["body"]
        assert "nginx_connections" not in response["body"]
        assert "Active connections" not in response["body"]


def listeners(host):
    """Local address:port of every listening TCP socket."""
    return {line.split()[3] for line in host.check_output("ss -ltnH").splitlines()}


@pytest.mark.parametrize("address", [NGINX_EXPORTER, STUB_STATUS, *APPS.values()])
def test_metrics_listen_only_on_their_documented_address(host, address):
    port = address.rsplit(":", 1)[1]
    on_port = {local for local in listeners(host) if local.rsplit(":", 1)[1] == port}
    assert on_port == {address}, on_port


@pytest.mark.parametrize("app, address", APPS.items())
def test_counts_survive_a_graceful_reload(host, app, address):
    """HUP replaces every worker; the counts they wrote stay, and the new workers count on."""

    def total():
        page = host_http(host, "/metrics", port=int(address.rsplit(":", 1)[1]))["body"]
        return sum(float(v) for v in re.findall(rf'^pyweb_http_requests_total{{[^}}]*app="{app}"[^}}]*}} (\S+)$',
                                                page, re.M))

    def workers():
        return set(host.check_output(f"pgrep -f 'gunicorn: worker \\[{app} '").split())

    send(host, f"{BASE}/{app}/hello", 3)
    counted, old_workers = total(), workers()
    assert counted >= 3
    since = host.check_output("date +@%s.%N")
    host.run_expect([0], f"systemctl reload {app}.service")
    assert wait_for(lambda: workers() and not workers() & old_workers, timeout=30), "the workers were not replaced"
    # The old workers stopped cleanly: with uvloop, Uvicorn's workers logged a failed close of the
    # listening socket on every reload ("Error while closing socket [Errno 9]") before the hooks
    # handed them the sockets themselves.
    journal = host.check_output("journalctl --unit %s.service --since %s --no-pager --output cat", app, since)
    assert "Error while closing socket" not in journal and "Traceback" not in journal, journal
    assert total() >= counted, "counts were lost with the old workers"
    assert send(host, f"{BASE}/{app}/hello", 3) == ["200"] * 3
    assert wait_for(lambda: total() >= counted + 3, timeout=10), "the new workers do not count"


def test_the_exporter_runs_in_its_sandbox(host):
    """Debian's unit runs the exporter with the host's whole file system writable and every
    system call; the role's drop-in (roles/nginx/templates/etc/systemd/system/
    prometheus-nginx-exporter.service.d/) takes that away, and the exporter still serves (the
    tests above read its page)."""
    unit = "prometheus-nginx-exporter.service"
    dropins = host.check_output("systemctl show --property DropInPaths --value %s", unit)
    assert "/etc/systemd/system/prometheus-nginx-exporter.service.d/pyweb-hardening.conf" in dropins.split()
    assert host.check_output("systemctl show --property ActiveState --value %s", unit) == "active"
    out = host.check_output("systemd-analyze security --no-pager %s", unit)
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out)[1])
    print(f"{unit} exposure under the role's sandbox: {exposure}")
    assert exposure <= 1.5, out[-2000:]
