#!/usr/bin/env python3
"""Test PKI: keys and certificates for the nginx role's certificate check.

Run on the nginx scenario's host by prepare.yml (with Debian's python3-cryptography, 38 on
Debian 12, so no newer API), it writes into the folder given (mode 0700), for files.pyweb.test:
  files.crt / files.key         the served pair: server certificate, then the intermediate
  next.crt / next.key           another good pair (a new key), for a change that is rolled back
  other.key                     a key that belongs to neither certificate
  expired.crt                   the server certificate (files.key) that expired yesterday
  disordered.crt                the server certificate, then the root, then the intermediate
  root.crt                      the root alone: the site's tls.ca_certificates (a private CA)
tests/unit/test_nginx_certificate_check.py builds its cases with the same functions.
"""

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NAME = "files.pyweb.test"


def key(kind="ec"):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def certificate(common_name, subject_key, issuer_name, issuer_key, *, ca=False, days=(-1, 30), now=None):
    """A certificate for common_name holding subject_key's public key, signed by issuer_key, valid
    from now + days[0] to now + days[1]; a server certificate (ca False) names common_name as DNS."""
    now = now or datetime.now(timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(subject_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + timedelta(days=days[0]))
               .not_valid_after(now + timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(*items):
    """Certificates and unencrypted private keys as one PEM text, in the order given."""
    data = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            data += item.public_bytes(serialization.Encoding.PEM)
        else:
            data += item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    return data


def main(folder):
    out = Path(folder)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    root_key, inter_key, server_key, next_key = key(), key(), key(), key()
    root = certificate("pyweb test root", root_key, "pyweb test root", root_key, ca=True, days=(-1, 60))
    inter = certificate("pyweb test intermediate", inter_key, "pyweb test root", root_key, ca=True, days=(-1, 60))
    server = certificate(NAME, server_key, "pyweb test intermediate", inter_key)
    expired = certificate(NAME, server_key, "pyweb test intermediate", inter_key, days=(-30, -1))
    following = certificate(NAME, next_key, "pyweb test intermediate", inter_key)
    files = {
        "files.crt": pem(server, inter), "files.key": pem(server_key),
        "next.crt": pem(following, inter), "next.key": pem(next_key),
        "other.key": pem(key()), "expired.crt": pem(expired, inter), "disordered.crt": pem(server, root, inter),
        "root.crt": pem(root),
    }
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        path.chmod(0o600 if name.endswith(".key") else 0o644)


if __name__ == "__main__":
    main(sys.argv[1])
