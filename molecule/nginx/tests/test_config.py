"""Files, service and logs of the Nginx the role set up."""

import json
import re


def test_config_passes_nginx_t_without_warnings(host):
    # A warning (such as Nginx 1.25.1's "the listen ... http2 directive is deprecated") means the
    # configuration was written for another version than the one installed.
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def nginx_version(host):
    return tuple(int(n) for n in re.search(r"nginx/([0-9.]+)", host.run("nginx -v").stderr).group(1).split("."))


def test_http2_is_switched_on_the_way_the_installed_version_expects(host):
    site = host.file("/etc/nginx/sites-available/pyweb.conf").content_string
    listens = [line.strip() for line in site.splitlines() if line.strip().startswith("listen 443")]
    if nginx_version(host) >= (1, 25, 1):
        assert "    http2 on;" in site
        assert not any("http2" in line for line in listens), listens
    else:
        assert "http2 on;" not in site
        assert "listen 443 ssl http2;" in listens


def test_nginx_runs_from_debian_package(host):
    assert host.package("nginx").is_installed
    service = host.service("nginx")
    assert service.is_running
    assert service.is_enabled


def test_main_config_settings(host):
    conf = host.file("/etc/nginx/nginx.conf").content_string
    for directive in ("worker_processes auto;", "sendfile on;", "tcp_nopush on;", "server_tokens off;",
                      "gzip on;", "open_file_cache max=", "ssl_session_tickets off;",
                      "ssl_prefer_server_ciphers off;", "$upstream_response_time"):
        assert directive in conf


def test_only_managed_sites_are_enabled(host):
    assert sorted(host.file("/etc/nginx/sites-enabled").listdir()) == [
        "000-pyweb-default.conf", "acme.conf", "files.conf", "pyweb.conf"]
    assert not host.file("/etc/nginx/sites-available/default").exists
    assert sorted(host.file("/etc/nginx/conf.d").listdir()) == [
        "pyweb-limits.conf", "pyweb-metrics.conf", "pyweb-upstreams.conf"]


def test_upstreams_retry_idempotent_requests_only(host):
    site = host.file("/etc/nginx/sites-available/pyweb.conf").content_string
    assert "proxy_next_upstream error timeout http_502 http_503 http_504;" in site
    retries = [line for line in site.splitlines() if line.strip().startswith("proxy_next_upstream ")]
    assert retries and not any("non_idempotent" in line for line in retries)
    upstreams = host.file("/etc/nginx/conf.d/pyweb-upstreams.conf").content_string
    assert "server unix:/run/gunicorn/sync-api.sock" in upstreams
    assert "keepalive 32;" in upstreams


def test_key_is_private_and_certificate_is_self_signed(host):
    key = host.file("/etc/nginx/tls/pyweb.key")
    assert key.mode == 0o600
    assert key.user == "root"
    cert = host.run("openssl x509 -in /etc/nginx/tls/pyweb.crt -noout -ext subjectAltName")
    assert "DNS:localhost" in cert.stdout and "DNS:pyweb.test" in cert.stdout


def test_access_log_is_json_with_upstream_timings(host):
    host.run("curl -sk -o /dev/null -H 'X-Request-ID: log-probe-42' https://localhost/sync-api/hello")
    lines = host.run("grep log-probe-42 /var/log/nginx/access.log").stdout.strip().splitlines()
    entry = json.loads(lines[-1])
    assert entry["status"] == 200
    assert entry["upstream_addr"] == "unix:/run/gunicorn/sync-api.sock"
    for field in ("upstream_connect_time", "upstream_header_time", "upstream_response_time", "request_time"):
        assert entry[field] != ""
