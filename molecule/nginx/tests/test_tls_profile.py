"""The modern profile (TLS 1.3 only) through a real converge, then back to intermediate."""

import pytest

from conftest import converge


def handshake(host, version):
    return host.run("curl -sk -o /dev/null --tlsv%s --tls-max %s https://localhost/sync-api/healthz" % (version, version))


@pytest.fixture
def modern(host):
    converge({"nginx_tls_profile": "modern"})
    yield
    converge({})
    assert handshake(host, "1.2").rc == 0


def test_modern_profile_refuses_tls12_and_accepts_tls13(host, modern):
    assert "ssl_protocols TLSv1.3;" in host.file("/etc/nginx/nginx.conf").content_string
    assert handshake(host, "1.2").rc == 35
    assert handshake(host, "1.3").rc == 0
