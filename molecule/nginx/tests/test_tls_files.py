"""A site's own certificate and key (tls.source files) are checked before they go live.

prepare.yml made a small PKI on the host (/etc/pyweb-test-tls, files/make_test_certificates.py);
the scenario's site `files` serves files.crt and files.key from it. Each refused case runs the
converge playbook again with one broken pair in __nginx_files_tls, then checks that the play failed
naming the variable and the reason, that no file under /etc/nginx changed (the certificates and
keys in /etc/nginx/tls included), that Nginx was neither restarted nor reloaded, and that it still
serves the same certificate.
"""

from datetime import datetime

import pytest

from conftest import SNAPSHOT, WORKERS, converge, served_certificate, task_output

PKI = "/etc/pyweb-test-tls"
FINGERPRINT = ("-fingerprint", "-sha256")


def fingerprint_of(host, path):
    return host.check_output(f"openssl x509 -in {path} -noout -fingerprint -sha256")


def end_date(host, path):
    """The notAfter of a certificate file as the role's message writes it (UTC)."""
    raw = host.check_output(f"openssl x509 -in {path} -noout -enddate").split("=", 1)[1]
    return datetime.strptime(raw, "%b %d %H:%M:%S %Y %Z").strftime("%Y-%m-%d %H:%M:%S UTC")


@pytest.fixture
def unchanged(host):
    """Snapshot of what Nginx serves; after the test, asserts that none of it changed."""
    files_before = host.run(SNAPSHOT).stdout
    workers_before = host.run(WORKERS).stdout
    served_before = served_certificate(host, "files.pyweb.test", *FINGERPRINT)
    yield
    assert host.run(SNAPSHOT).stdout == files_before
    assert host.run(WORKERS).stdout == workers_before
    assert host.service("nginx").is_running
    assert host.run("nginx -t").rc == 0
    assert served_certificate(host, "files.pyweb.test", *FINGERPRINT) == served_before
    assert not host.run(r"find /etc/nginx -name '*~'").stdout


def test_the_given_pair_is_served_with_its_key_private(host):
    assert served_certificate(host, "files.pyweb.test", *FINGERPRINT) == fingerprint_of(host, f"{PKI}/files.crt")
    key = host.file("/etc/nginx/tls/files.key")
    assert (key.mode, key.user, key.group) == (0o600, "root", "root")


def test_a_key_of_another_certificate_from_the_controller_is_refused(host, unchanged, tmp_path):
    # From the controller (remote_src false): the role reads the pair there.
    (tmp_path / "files.crt").write_text(host.file(f"{PKI}/files.crt").content_string)
    (tmp_path / "other.key").write_text(host.file(f"{PKI}/other.key").content_string)
    (tmp_path / "root.crt").write_text(host.file(f"{PKI}/root.crt").content_string)
    output = converge({"__nginx_files_tls": {"remote_src": False, "certificate": str(tmp_path / "files.crt"),
                                             "key": str(tmp_path / "other.key"),
                                             "ca_certificates": str(tmp_path / "root.crt")}}, expect_success=False)
    assert f"nginx_sites[files].tls.certificate ({tmp_path / 'files.crt'})" in output, output[-3000:]
    assert "the key does not match the certificate (CN=files.pyweb.test)" in output
    assert "PRIVATE KEY" not in output


def test_an_expired_certificate_is_refused_with_its_date(host, unchanged):
    output = converge({"__nginx_files_tls": {"certificate": f"{PKI}/expired.crt"}}, expect_success=False)
    expected = (f"nginx_sites[files].tls.certificate ({PKI}/expired.crt) and tls.key ({PKI}/files.key) were "
                f"refused: the certificate (CN=files.pyweb.test) expired on {end_date(host, f'{PKI}/expired.crt')}")
    assert expected in " ".join(output.split()), output[-3000:]


def test_a_chain_out_of_order_is_refused(host, unchanged):
    output = converge({"__nginx_files_tls": {"certificate": f"{PKI}/disordered.crt"}}, expect_success=False)
    assert "nginx_sites[files].tls.certificate" in output, output[-3000:]
    assert ("the chain is out of order: certificate 1 (CN=files.pyweb.test) is not signed by certificate 2 "
            "(CN=pyweb test root)") in " ".join(output.split())


def test_a_good_pair_comes_back_out_when_the_configuration_fails(host, unchanged):
    """A new pair passes its check and is written, then nginx -t refuses another value of the
    same run: the previous certificate and key are put back with the configuration."""
    output = converge({"__nginx_files_tls": {"certificate": f"{PKI}/next.crt", "key": f"{PKI}/next.key"},
                       "nginx_proxy_next_upstream": ["error", "sometimes"]}, expect_success=False)
    assert "changed: [pyweb-nginx] => (item=files)" in task_output(output, "Install the given private keys"), output[-3000:]
    assert "invalid value" in output
    assert "certificates and keys) are back in place" in " ".join(output.split())
    key = host.file("/etc/nginx/tls/files.key")
    assert (key.mode, key.user) == (0o600, "root")


def test_a_chain_that_reaches_no_trusted_root_is_refused(host, unchanged):
    """Without its private CA the site's chain is checked against the host's trust store, which
    does not hold the test root: every public client would refuse it."""
    output = converge({"__nginx_files_tls": {"ca_certificates": ""}}, expect_success=False)
    expected = (f"nginx_sites[files].tls.certificate ({PKI}/files.crt) and tls.key ({PKI}/files.key) were refused: "
                "the chain does not reach a root in the host's trust store (/etc/ssl/certs/ca-certificates.crt): "
                "its last certificate (CN=pyweb test intermediate) is issued by CN=pyweb test root, which is not there")
    assert expected in " ".join(output.split()), output[-3000:]


def test_a_private_ca_the_chain_does_not_reach_is_refused(host, unchanged):
    # The server certificate without its intermediate: the site's root signed only the intermediate.
    host.run_expect([0], f"openssl x509 -in {PKI}/files.crt -out /tmp/server-only.crt")
    output = converge({"__nginx_files_tls": {"certificate": "/tmp/server-only.crt"}}, expect_success=False)
    expected = ("the chain does not reach a root in tls.ca_certificates (/etc/pyweb-test-tls/root.crt): its last "
                "certificate (CN=files.pyweb.test) is issued by CN=pyweb test intermediate, which is not there")
    assert expected in " ".join(output.split()), output[-3000:]
