"""The whole stack of site.yml on one host, proven through Nginx the way a client sees it."""

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
    response = http(f"{BASE}/static/index.html")
    assert response.status == 200
    assert "<html" in response.body.lower()
    assert "cache-control" in response.headers
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
