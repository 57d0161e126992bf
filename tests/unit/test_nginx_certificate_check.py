"""The nginx role's certificate check (roles/nginx/files/nginx_certificate_check.py): what it
refuses, and that a good pair with its chain in order passes."""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import ROOT, load_plugin

SCRIPT = ROOT / "roles" / "nginx" / "files" / "nginx_certificate_check.py"
check = load_plugin(SCRIPT)
# The scenario's test PKI maker, which prepare.yml runs on the nginx test host.
maker = load_plugin(ROOT / "molecule" / "nginx" / "files" / "make_test_certificates.py")

# Today at noon: the module run in a subprocess compares with the real clock.
NOW = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)


def day(offset):
    return (NOW + timedelta(days=offset)).strftime("%Y-%m-%d 12:00:00 UTC")


def new_key(kind="ec"):
    return maker.key(kind)


def sign(name, key, issuer_name=None, issuer_key=None, days=(-10, 90), ca=False):
    """A certificate for `name` holding key's public key, signed by issuer_key (itself when None)."""
    return maker.certificate(name, key, issuer_name or name, issuer_key or key, ca=ca, days=days, now=NOW)


pem = maker.pem


@pytest.fixture(scope="module", params=["ec", "rsa"])
def pki(request):
    """Root -> intermediate -> server, each with its own key (EC or RSA)."""
    kind = request.param
    root_key, inter_key, server_key = new_key(kind), new_key(kind), new_key(kind)
    root = sign("Test Root", root_key, ca=True)
    inter = sign("Test Intermediate", inter_key, "Test Root", root_key, ca=True)
    server = sign("site.test", server_key, "Test Intermediate", inter_key)
    return {"root": root, "inter": inter, "server": server, "server_key": server_key, "inter_key": inter_key,
            "root_key": root_key}


def test_a_matching_pair_with_its_chain_in_order_passes(pki):
    result = check.check_pair(pem(pki["server"], pki["inter"], pki["root"]), pem(pki["server_key"]), NOW)
    assert result["problems"] == []
    assert result["chain_length"] == 3
    assert result["subject"] == "CN=site.test"
    assert result["not_after"] == day(90)


def test_a_lone_certificate_passes(pki):
    assert check.check_pair(pem(pki["server"]), pem(pki["server_key"]), NOW)["problems"] == []


def test_a_key_of_another_certificate_is_refused(pki):
    result = check.check_pair(pem(pki["server"], pki["inter"]), pem(pki["inter_key"]), NOW)
    assert result["problems"] == ["the key does not match the certificate (CN=site.test): their public keys differ"]


def test_an_expired_certificate_is_refused_with_its_date(pki):
    old = sign("site.test", pki["server_key"], "Test Intermediate", pki["inter_key"], days=(-100, -1))
    result = check.check_pair(pem(old, pki["inter"]), pem(pki["server_key"]), NOW)
    assert result["problems"] == [f"the certificate (CN=site.test) expired on {day(-1)}"]


def test_a_certificate_not_valid_yet_is_refused_with_its_date(pki):
    later = sign("site.test", pki["server_key"], "Test Intermediate", pki["inter_key"], days=(2, 90))
    result = check.check_pair(pem(later, pki["inter"]), pem(pki["server_key"]), NOW)
    assert result["problems"] == [f"the certificate (CN=site.test) is not valid before {day(2)}"]


def test_an_intermediate_not_valid_yet_is_refused(pki):
    later_inter = sign("Test Intermediate", pki["inter_key"], "Test Root", pki["root_key"], days=(3, 90), ca=True)
    result = check.check_pair(pem(pki["server"], later_inter), pem(pki["server_key"]), NOW)
    assert result["problems"] == [
        f"certificate 2 of the chain (CN=Test Intermediate) is not valid before {day(3)}"]


def test_an_expired_intermediate_is_refused(pki):
    old_inter = sign("Test Intermediate", pki["inter_key"], "Test Root", pki["root_key"], days=(-100, -2), ca=True)
    result = check.check_pair(pem(pki["server"], old_inter), pem(pki["server_key"]), NOW)
    assert result["problems"] == [
        f"certificate 2 of the chain (CN=Test Intermediate) expired on {day(-2)}"]


def test_a_chain_out_of_order_is_refused(pki):
    result = check.check_pair(pem(pki["server"], pki["root"], pki["inter"]), pem(pki["server_key"]), NOW)
    assert len(result["problems"]) == 1
    assert result["problems"][0].startswith(
        "the chain is out of order: certificate 1 (CN=site.test) is not signed by certificate 2 (CN=Test Root)")


def test_an_issuer_with_the_right_name_but_another_key_is_refused(pki):
    impostor = sign("Test Intermediate", new_key(), "Test Root", pki["root_key"], ca=True)
    result = check.check_pair(pem(pki["server"], impostor), pem(pki["server_key"]), NOW)
    assert "the chain is out of order: certificate 1 (CN=site.test)" in result["problems"][0]


class OldCertificate:
    """A certificate as cryptography before 40 shows it: no verify_directly_issued_by, no *_utc."""

    def __init__(self, certificate):
        self._certificate = certificate

    def __getattr__(self, name):
        if name in ("verify_directly_issued_by", "not_valid_after_utc"):
            raise AttributeError(name)
        return getattr(self._certificate, name)

    @property
    def not_valid_after(self):
        return self._certificate.not_valid_after_utc.replace(tzinfo=None)


def test_the_signature_check_for_older_cryptography_agrees(pki):
    server, inter, root = (OldCertificate(pki[name]) for name in ("server", "inter", "root"))
    assert check.signed_by(server, inter)
    assert check.signed_by(inter, root)
    assert not check.signed_by(server, root)
    assert check.not_after(server) == pki["server"].not_valid_after_utc


def test_an_encrypted_key_is_refused(pki):
    encrypted = pki["server_key"].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.BestAvailableEncryption(b"secret"))
    result = check.check_pair(pem(pki["server"]), encrypted, NOW)
    assert result["problems"] == ["the key is encrypted with a passphrase; Nginx needs it unencrypted"]


@pytest.mark.parametrize("content", [b"", b"not a certificate\n"])
def test_a_file_without_a_certificate_is_refused(pki, content):
    result = check.check_pair(content, pem(pki["server_key"]), NOW)
    assert result["problems"] == ["the certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)"]
    assert result["chain_length"] == 0


def test_a_damaged_certificate_is_refused(pki):
    damaged = pem(pki["server"]).replace(b"\n", b"\nAAAA", 3)
    result = check.check_pair(damaged, pem(pki["server_key"]), NOW)
    assert result["problems"][0].startswith("certificate 1 in the file does not parse")


def test_a_key_that_is_no_key_is_refused(pki):
    result = check.check_pair(pem(pki["server"]), pem(pki["server"]), NOW)
    assert result["problems"][0].startswith("the key is not a PEM private key")


def run_script(request):
    """Run the check as the role does: `python3 -c <the file>`, the request as JSON on stdin."""
    result = subprocess.run([sys.executable, "-c", SCRIPT.read_text()], input=json.dumps(request),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_the_script_reads_paths_and_content_and_never_echoes_the_key(tmp_path, pki):
    (tmp_path / "site.crt").write_bytes(pem(pki["server"], pki["inter"]))
    key = pem(pki["inter_key"]).decode()
    answer = run_script({"certificate_path": str(tmp_path / "site.crt"), "key_content": key, "check_mode": False})
    assert answer["problems"] == ["the key does not match the certificate (CN=site.test): their public keys differ"]
    assert "PRIVATE KEY" not in json.dumps(answer)
    (tmp_path / "site.key").write_bytes(pem(pki["server_key"]))
    answer = run_script({"certificate_content": pem(pki["server"]).decode(), "key_path": str(tmp_path / "site.key")})
    assert answer["problems"] == []
    assert answer["chain_length"] == 1


def test_the_script_names_a_missing_file(tmp_path, pki):
    answer = run_script({"certificate_path": str(tmp_path / "missing.crt"), "key_content": pem(pki["server_key"]).decode()})
    assert answer["problems"] == [f"cannot read the certificate file {tmp_path / 'missing.crt'} on the host: "
                                  "No such file or directory"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_without_cryptography_only_check_mode_passes(monkeypatch, check_mode):
    monkeypatch.setattr(check, "HAS_CRYPTOGRAPHY", False)
    answer = check.answer({"certificate_content": "x", "key_content": "y", "check_mode": check_mode})
    assert (answer["problems"] == []) is check_mode


def test_a_chain_that_reaches_a_trusted_root_passes(pki):
    """The chain ends at an intermediate the root signed, or carries the root itself last."""
    for chain in [(pki["server"], pki["inter"]), (pki["server"], pki["inter"], pki["root"])]:
        result = check.check_pair(pem(*chain), pem(pki["server_key"]), NOW, roots=[pki["root"]])
        assert result["problems"] == [], chain


def test_a_chain_that_reaches_no_trusted_root_is_refused_naming_the_missing_issuer(pki):
    stranger_key = new_key()
    stranger = sign("Another Root", stranger_key, ca=True)
    # Missing its intermediate: the server certificate alone, issued by the intermediate.
    result = check.check_pair(pem(pki["server"]), pem(pki["server_key"]), NOW, roots=[pki["root"]],
                              roots_name="/etc/ssl/certs/ca-certificates.crt")
    assert result["problems"] == [
        "the chain does not reach a root in /etc/ssl/certs/ca-certificates.crt: its last certificate "
        "(CN=site.test) is issued by CN=Test Intermediate, which is not there; append the missing "
        "intermediates, or for a private CA name its root in tls.ca_certificates"]
    # A whole chain of a root the store does not hold.
    result = check.check_pair(pem(pki["server"], pki["inter"]), pem(pki["server_key"]), NOW, roots=[stranger])
    assert len(result["problems"]) == 1 and "CN=Test Root, which is not there" in result["problems"][0]


def test_a_root_of_the_same_name_but_another_key_is_not_trusted(pki):
    impostor = sign("Test Root", new_key(), ca=True)
    result = check.check_pair(pem(pki["server"], pki["inter"]), pem(pki["server_key"]), NOW, roots=[impostor])
    assert "does not reach a root" in " ".join(result["problems"])


def test_the_script_reads_the_roots_from_a_bundle_on_the_host(tmp_path, pki):
    bundle = tmp_path / "ca-certificates.crt"
    # A trust store holds many roots; one that does not parse is skipped.
    bundle.write_bytes(pem(sign("Other Root", new_key(), ca=True)) + b"-----BEGIN CERTIFICATE-----\nnot base64\n"
                       b"-----END CERTIFICATE-----\n" + pem(pki["root"]))
    request = {"certificate_content": pem(pki["server"], pki["inter"]).decode(),
               "key_content": pem(pki["server_key"]).decode(), "roots_path": str(bundle)}
    assert run_script(request)["problems"] == []
    request["roots_content"], request["roots_name"] = pem(pki["inter"]).decode(), "tls.ca_certificates (ca.pem)"
    del request["roots_path"]
    # The intermediate as the only trusted root: the chain carries it, which is enough.
    assert run_script(request)["problems"] == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_missing_trust_store_fails_except_in_check_mode(tmp_path, pki, check_mode):
    request = {"certificate_content": pem(pki["server"], pki["inter"]).decode(),
               "key_content": pem(pki["server_key"]).decode(), "roots_path": str(tmp_path / "none.crt"),
               "check_mode": check_mode}
    problems = check.answer(request)["problems"]
    assert problems == ([] if check_mode else
                        [f"cannot read the roots file {tmp_path / 'none.crt'} on the host: No such file or directory"])
