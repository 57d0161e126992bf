"""HTTP/3 over QUIC on the ACME site, announced by Alt-Svc; on Debian 12 the role refuses it.

converge.yml turns http3 on for the ACME site from Debian 13 on; the demo site (localhost) keeps
it off, so both kinds of site share port 443.
"""

import re

import pytest

from conftest import SNAPSHOT, WORKERS, converge

RESOLVE = ("--resolve", "acme.pyweb.test:443:127.0.0.1")
ACME = "https://acme.pyweb.test"
ALT_SVC = 'h3=":443"; ma=86400'


def debian_release(host):
    return int(host.file("/etc/debian_version").content_string.split(".")[0])


@pytest.fixture
def http3_release(host):
    if debian_release(host) < 13:
        pytest.skip("Debian 12's Nginx has no HTTP/3 module: the scenario keeps http3 off there")


@pytest.fixture
def debian12(host):
    if debian_release(host) >= 13:
        pytest.skip("the refusal is for Debian 12")


def test_curl_on_the_host_speaks_http3(host, http3_release):
    features = host.run("curl -V").stdout
    assert re.search(r"^Features:.* HTTP3( |$)", features, re.M), features


def test_installed_nginx_has_the_http3_module(host, http3_release):
    assert "--with-http_v3_module" in host.run("nginx -V").stderr


@pytest.mark.parametrize("path", ["/sync-api/hello", "/impatient/hello"])
def test_http3_answers(curl, http3_release, path):
    # /sync-api/ has a route snippet (its own add_header lines), /impatient/ has none.
    result = curl.run("--insecure", "--http3-only", *RESOLVE, "--output", "/dev/null",
                      "--write-out", "%{http_code} %{http_version}", ACME + path)
    assert result.rc == 0, result.stderr
    assert result.stdout == "200 3"


@pytest.mark.parametrize("path", ["/sync-api/hello", "/impatient/hello", "/nothing-here"])
def test_http2_answers_announce_http3(curl, http3_release, path):
    # Locations that add headers of their own repeat the server's, Alt-Svc among them.
    result = curl.run("--insecure", "--http2", *RESOLVE, "--dump-header", "-", "--output", "/dev/null", ACME + path)
    assert result.stdout.startswith("HTTP/2 "), result.stdout
    headers = dict(line.split(": ", 1) for line in result.stdout.splitlines()[1:] if ": " in line)
    assert {k.lower(): v for k, v in headers.items()}.get("alt-svc") == ALT_SVC


def test_sites_without_http3_do_not_announce_it(curl):
    _unused, headers, _unused = curl.get("https://localhost/sync-api/hello", "--http2")
    assert "alt-svc" not in headers


def test_quic_refuses_unknown_names(curl, http3_release):
    result = curl.run("--insecure", "--http3-only", "--resolve", "unknown.test:443:127.0.0.1", "https://unknown.test/")
    assert result.rc != 0


def test_reuseport_is_given_once_per_address(host, http3_release):
    enabled = host.run("cat /etc/nginx/sites-enabled/*").stdout
    listens = [line.strip().rstrip(";").split() for line in enabled.splitlines() if line.strip().startswith("listen ")]
    quic = [words[1] for words in listens if "quic" in words]
    reuseport = [words[1] for words in listens if "reuseport" in words]
    assert len(quic) > len(set(quic))  # the ACME site and the default server share the address
    assert sorted(reuseport) == sorted(set(quic))


def test_no_quic_listener_on_debian_12(host, debian12):
    enabled = host.run("cat /etc/nginx/sites-enabled/*").stdout
    assert " quic" not in enabled
    assert "Alt-Svc" not in enabled


def test_http3_is_refused_on_debian_12_before_anything_changes(host, debian12):
    files_before = host.run(SNAPSHOT).stdout
    workers_before = host.run(WORKERS).stdout
    site = {"name": "pyweb", "server_names": ["h3.test"], "http3": True, "tls": {"enabled": True}}

    output = converge({"nginx_sites": [site]}, expect_success=False)

    assert ("nginx_sites[pyweb].http3 is on, but this host runs Debian 12" in output
            and "Debian 12's nginx 1.22 has no HTTP/3 module; HTTP/3 needs Debian 13 or later." in output), output[-3000:]
    assert host.run(SNAPSHOT).stdout == files_before
    assert host.run(WORKERS).stdout == workers_before
