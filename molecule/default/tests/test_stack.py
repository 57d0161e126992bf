"""The whole stack of site.yml on one host, proven through Nginx the way a client sees it."""

import time

import pytest

BASE = "https://localhost"


@pytest.mark.parametrize("service", ["nginx", "sync-api", "async-api"])
def test_service_running_and_enabled(host, service):
    unit = host.service(service)
    assert unit.is_running
    assert unit.is_enabled


@pytest.mark.parametrize(
    "prefix, app, framework",
    [("/sync-api", "sync-api", "flask"), ("/async-api", "async-api", "fastapi")],
)
def test_each_prefix_reaches_its_own_app(http, prefix, app, framework):
    response = http(f"{BASE}{prefix}/hello")
    assert response.status == 200
    assert response.json()["app"] == app
    assert response.json()["framework"] == framework


@pytest.mark.parametrize("prefix, app", [("/sync-api", "sync-api"), ("/async-api", "async-api")])
def test_health_endpoints_answer_through_nginx(http, prefix, app):
    response = http(f"{BASE}{prefix}/healthz")
    assert response.status == 200
    assert response.json() == {"status": "ok", "app": app}


def test_static_file_served_by_nginx_with_cache_headers(http):
    response = http(f"{BASE}/static/index.html", "--compressed")
    assert response.status == 200
    assert "<html" in response.body.lower()
    assert "max-age=" in response.headers["cache-control"]
    assert response.headers["content-encoding"] == "gzip"
    # Nginx served it from disk: the app servers never set this header.
    assert response.headers.get("server") == "nginx"


def test_http_redirects_to_https(http):
    response = http("http://localhost/sync-api/hello")
    assert response.status == 301
    assert response.headers["location"] == "https://localhost/sync-api/hello"


def test_hsts_on_https(http):
    response = http(f"{BASE}/sync-api/hello")
    max_age = int(response.headers["strict-transport-security"].split("max-age=")[1].split(";")[0])
    assert max_age >= 31536000


def test_unknown_host_name_is_dropped(host):
    # 444: Nginx closes the connection without an answer, so curl sees an empty reply.
    result = host.run("curl -sS -o /dev/null -w '%{http_code}' -H 'Host: unknown.example' http://localhost/")
    assert result.rc in (52, 56), result.stderr  # empty reply or reset, depending on timing
    assert result.stdout == "000"


@pytest.mark.parametrize("protocol, accepted",
                         [("-tls1", False), ("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)])
def test_tls_protocols(host, protocol, accepted):
    # SECLEVEL=0 lets this client offer the old protocols, so only the server can refuse them.
    result = host.run("openssl s_client -connect localhost:443 -servername localhost %s -cipher DEFAULT@SECLEVEL=0 "
                      "</dev/null", protocol)
    assert (result.rc == 0) == accepted, result.stdout + result.stderr


def test_nginx_answers_its_own_health_path(http):
    response = http(f"{BASE}/nginx-health")
    assert response.status == 200
    assert response.json() == {"status": "ok"}


def test_nginx_drops_an_idle_upstream_connection_before_gunicorn_does(host, http):
    """Nginx must close an idle keep-alive connection to Gunicorn first: if Gunicorn closes it
    (gunicorn_keepalive, 5 s) while Nginx still holds it (its upstream keepalive_timeout), the next
    request Nginx sends on it fails, and a POST is not retried."""
    socket = "/run/gunicorn/async-api.sock"

    def connections():
        # Accepted connections list the socket's path as their local address; `ss -x` omits LISTEN.
        return sum(socket in line.split() for line in host.check_output("ss -xH").splitlines())

    assert http(f"{BASE}/async-api/hello").status == 200
    answered = time.monotonic()
    assert connections() >= 1, "Nginx kept no idle connection to the app: keep-alive is off"
    while connections() and time.monotonic() - answered < 10:
        time.sleep(0.1)
    closed_after = time.monotonic() - answered
    # Nginx closes at 4 s (nginx_upstreams[].keepalive_timeout), Gunicorn would at 5 s.
    assert closed_after < 4.8, f"the idle upstream connection lasted {closed_after:.1f} s"


GRANIAN_FILES = ("/etc/gunicorn/pyweb_granian.py", "/usr/local/sbin/pyweb-granian-check",
                 "/usr/local/sbin/pyweb-granian-reload", "/usr/local/sbin/pyweb-granian-listening")


def test_a_host_without_granian_apps_has_no_granian_files(host):
    """Both demo apps run Gunicorn: Granian's loader and helpers are not installed."""
    assert host.file("/usr/local/sbin/pyweb-gunicorn-check").exists
    assert [path for path in GRANIAN_FILES if host.file(path).exists] == []
