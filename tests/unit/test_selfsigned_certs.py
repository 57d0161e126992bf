"""pyweb.stack.selfsigned_certs: the Nginx role's self-signed certificates, made, kept and signed
again in one call (plugins/modules/selfsigned_certs.py)."""

import os

import pytest
from cryptography import x509

from conftest import play_task

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes root-owned files")


@pytest.fixture
def certs(collections, tmp_path):
    """Run the module for one site's names; return its result."""
    folder = tmp_path / "tls"

    def run(names, *args, days=365, renew_days=30):
        result, _output = play_task(collections, tmp_path, "pyweb.stack.selfsigned_certs",
                                    {"dir": str(folder), "sites": [{"name": "shop", "server_names": names, "routes": []}],
                                     "days": days, "renew_days": renew_days}, *args)
        return result

    run.folder = folder
    return run


def names_of(path):
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


def test_made_once_then_kept(certs):
    first = certs(["shop.test", "www.shop.test"])
    assert first["changed"] and first["sites"]["shop"] == {"key": "made", "certificate": "made", "reason": "missing"}
    assert oct(certs.folder.stat().st_mode & 0o777) == "0o700"
    assert oct((certs.folder / "shop.key").stat().st_mode & 0o777) == "0o600"
    assert names_of(certs.folder / "shop.crt") == ["shop.test", "www.shop.test"]
    again = certs(["www.shop.test", "shop.test"][::-1])
    assert not again["changed"] and again["sites"]["shop"] == {"key": "kept", "certificate": "kept"}


def test_new_names_sign_again_with_the_same_key(certs):
    certs(["shop.test"])
    key = (certs.folder / "shop.key").read_bytes()
    result = certs(["shop.test", "api.shop.test"])
    assert result["sites"]["shop"] == {"key": "kept", "certificate": "made", "reason": "names"}
    assert (certs.folder / "shop.key").read_bytes() == key
    assert names_of(certs.folder / "shop.crt") == ["shop.test", "api.shop.test"]


def test_a_certificate_inside_the_renewal_window_is_signed_again(certs):
    certs(["shop.test"], days=10)
    assert certs(["shop.test"], days=365, renew_days=30)["sites"]["shop"]["reason"] == "expiry"
    assert not certs(["shop.test"], days=365, renew_days=30)["changed"]


def test_a_foreign_key_and_a_loose_mode_are_repaired(certs):
    certs(["shop.test"])
    (certs.folder / "shop.crt").chmod(0o666)
    assert certs(["shop.test"])["sites"]["shop"] == {"key": "kept", "certificate": "mode"}
    (certs.folder / "shop.key").write_text("not a key\n")
    assert certs(["shop.test"])["sites"]["shop"] == {"key": "made", "certificate": "made", "reason": "key"}


def test_check_mode_writes_nothing(certs):
    result = certs(["shop.test"], "--check")
    assert result["changed"] and not certs.folder.exists()


def test_check_mode_on_a_host_without_cryptography_plans_everything(collections, tmp_path):
    """Check mode on a new host: the run would install python3-cryptography before this task, so
    its absence plans every key and certificate instead of failing."""
    fake = tmp_path / "no-cryptography"
    (fake / "cryptography").mkdir(parents=True)
    (fake / "cryptography" / "__init__.py").write_text("raise ImportError('not installed')\n")
    os.environ["PYTHONPATH"] = str(fake)
    try:
        result, _output = play_task(collections, tmp_path, "pyweb.stack.selfsigned_certs",
                                    {"dir": str(tmp_path / "tls"), "sites": [{"name": "shop", "server_names": ["a.test"]}]},
                                    "--check")
    finally:
        del os.environ["PYTHONPATH"]
    assert result["changed"] and result["sites"]["shop"]["certificate"] == "made"
    assert "not installed yet" in result["msg"] and not (tmp_path / "tls").exists()
