"""Nginx in front of two stand-in backends: routing, static files, TLS, limits and error bodies."""

import re
import time

import pytest
from pyweb_testlib import wait_for

BASE = "https://localhost"


@pytest.mark.parametrize("app", ["sync-api", "async-api"])
def test_each_prefix_reaches_its_own_backend(curl, app):
    status, headers, body = curl.json(f"{BASE}/{app}/hello")
    assert status == 200
    assert body["app"] == app
    assert "x-powered-by" not in headers
    assert headers["server"] == "nginx"  # no version


def test_prefix_is_stripped_and_proxy_headers_are_sent(curl):
    status, headers, body = curl.json(f"{BASE}/sync-api/echo?x=1", "--header", "X-Request-ID: test-rid-1")
    assert status == 200
    assert body["path"] == "/echo?x=1"
    sent = body["headers"]
    assert sent["host"] == "localhost"
    assert sent["x-forwarded-proto"] == "https"
    assert sent["x-forwarded-prefix"] == "/sync-api"
    assert sent["x-forwarded-for"] == "127.0.0.1"
    assert sent["x-request-id"] == "test-rid-1"
    assert headers["x-request-id"] == "test-rid-1"


def test_request_id_is_made_when_the_client_sends_none(curl):
    _unused, headers, body = curl.json(f"{BASE}/async-api/echo")
    assert re.fullmatch(r"[0-9a-f]{32}", body["headers"]["x-request-id"])
    assert headers["x-request-id"] == body["headers"]["x-request-id"]


# A client's id lands in JSON error bodies that Nginx writes without escaping: one that is not a
# plain token would break the JSON (or forge keys in it), so Nginx makes its own instead.
@pytest.mark.parametrize("sent", ['x", "status": 200, "forged": "1', "back\\slash", "r" * 129])
def test_a_request_id_that_is_not_a_plain_token_is_replaced(curl, sent):
    status, headers, body = curl.json(f"{BASE}/no-such-page", "--header", f"X-Request-ID: {sent}")
    assert status == 404
    assert body == {"error": "not_found", "status": 404, "request_id": body["request_id"]}
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    assert headers["x-request-id"] == body["request_id"]


def test_a_plain_token_request_id_is_kept_in_error_bodies(curl):
    token = "0b1f:req.42_A+b/c=-"
    status, _unused, body = curl.json(f"{BASE}/no-such-page", "--header", f"X-Request-ID: {token}")
    assert (status, body["request_id"]) == (404, token)


def test_prefix_without_slash_redirects(curl):
    status, headers, _unused = curl.get(f"{BASE}/sync-api")
    assert status == 308
    assert headers["location"].endswith("/sync-api/")


def test_fingerprinted_static_file_is_cached_for_a_year_and_precompressed(curl):
    status, headers, _unused = curl.get(f"{BASE}/static/app.0123abcd.css", "--header", "Accept-Encoding: gzip", body=False)
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-encoding"] == "gzip"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_plain_static_file_is_cached_briefly_and_gzipped(curl):
    status, headers, _unused = curl.get(f"{BASE}/static/app.css", "--header", "Accept-Encoding: gzip", body=False)
    assert status == 200
    assert headers["cache-control"] == "public, max-age=3600"
    assert headers["content-encoding"] == "gzip"


def test_static_folder_is_not_listed(curl):
    status, _unused, body = curl.get(f"{BASE}/static/")
    assert status in (403, 404)
    assert "app.css" not in body


def test_http_redirects_to_https(curl):
    status, headers, _unused = curl.get("http://localhost/sync-api/hello?a=b")
    assert status == 301
    assert headers["location"] == "https://localhost/sync-api/hello?a=b"


@pytest.mark.parametrize(("version", "accepted"), [("1.0", False), ("1.1", False), ("1.2", True), ("1.3", True)])
def test_tls_versions(curl, version, accepted):
    # SECLEVEL=0 lets the client offer the old versions at all, so the refusal is the server's.
    result = curl.run("--insecure", "--output", "/dev/null", "--write-out", "%{http_code}",
                      f"--tlsv{version}", "--tls-max", version, "--ciphers", "DEFAULT@SECLEVEL=0",
                      f"{BASE}/sync-api/healthz")
    if accepted:
        assert result.rc == 0 and result.stdout == "200", result.stderr
    else:
        assert result.rc == 35, (result.rc, result.stdout, result.stderr)


def test_http2_is_offered(curl):
    result = curl.run("--insecure", "--http2", "--output", "/dev/null", "--write-out", "%{http_version}",
                      f"{BASE}/sync-api/healthz")
    assert result.stdout == "2"


def test_hsts_and_security_headers(curl):
    _unused, headers, _unused = curl.get(f"{BASE}/sync-api/hello")
    max_age = int(re.search(r"max-age=(\d+)", headers["strict-transport-security"]).group(1))
    assert max_age >= 31536000
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["permissions-policy"]


def test_oversized_body_gets_json_413(host, curl):
    host.run("head -c 2000000 /dev/zero > /tmp/pyweb-big-body")
    status, headers, body = curl.json(f"{BASE}/sync-api/hello", "--data-binary", "@/tmp/pyweb-big-body")
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert body["error"] == "request_entity_too_large"


def test_small_body_passes(curl):
    status, _unused, body = curl.json(f"{BASE}/sync-api/hello", "--data-binary", "x" * 1000)
    assert status == 200
    assert body["received"] == 1000


def test_requests_past_the_burst_get_json_429(curl):
    # 300 requests, 30 at a time, far faster than 50 r/s with a burst of 100.
    result = curl.run("--insecure", "--parallel", "--parallel-max", "30", "--output", "/dev/null",
                      "--write-out", "%{http_code}\n", f"{BASE}/async-api/healthz?[1-300]")
    codes = result.stdout.split()
    assert len(codes) == 300
    assert set(codes) <= {"200", "429"}
    assert codes.count("200") >= 100
    assert codes.count("429") >= 50
    time.sleep(3)  # let the bucket drain for the tests that follow
    status, headers, body = curl.json(f"{BASE}/async-api/healthz")
    assert status == 200


def test_429_body_is_json(curl):
    result = curl.run("--insecure", "--parallel", "--parallel-max", "30", f"{BASE}/async-api/healthz?[1-250]")
    assert '"error":"too_many_requests"' in result.stdout
    time.sleep(3)


def test_unknown_host_is_dropped_over_http(curl):
    result = curl.run("--header", "Host: unknown.test", "http://127.0.0.1/")
    # 444: the connection is closed without an answer (curl: empty reply or reset).
    assert result.rc in (52, 56), result.stderr
    assert result.stdout == ""


def test_unknown_sni_is_refused_during_handshake(curl):
    result = curl.run("--insecure", "--resolve", "unknown.test:443:127.0.0.1", "https://unknown.test/")
    assert result.rc == 35


def test_unknown_host_over_tls_is_dropped(curl):
    result = curl.run("--insecure", "--http1.1", "--header", "Host: unknown.test", f"{BASE}/")
    assert result.rc in (52, 56), result.stderr
    assert result.stdout == ""


def test_backend_down_gives_json_502(host, curl):
    host.run("systemctl stop pyweb-test-async-api")
    try:
        status, headers, body = curl.json(f"{BASE}/async-api/hello")
    finally:
        host.run("systemctl start pyweb-test-async-api")
    assert status == 502
    assert headers["content-type"] == "application/json"
    assert body["error"] == "bad_gateway"
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    # The other backend is unaffected.
    assert curl.json(f"{BASE}/sync-api/hello")[0] == 200
    # systemctl returns before the restarted backend listens: the tests that follow need it up.
    assert wait_for(lambda: curl.get(f"{BASE}/async-api/healthz")[0] == 200)


def test_backend_slower_than_its_timeout_gives_json_504(curl):
    # The ACME site of this scenario has a route with read_timeout 1s; the backend sleeps 3 s.
    status, headers, body = curl.json("https://acme.pyweb.test/impatient/slow?s=3",
                                      "--resolve", "acme.pyweb.test:443:127.0.0.1")
    assert status == 504
    assert headers["content-type"] == "application/json"
    assert body["error"] == "gateway_timeout"
