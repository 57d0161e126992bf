"""Check a certificate (with its chain) and private key before Nginx is given them.

Nginx reads its certificates only when it starts or reloads. A key that does not belong to the
certificate, or a file that holds no certificate, fails that start; an expired certificate, one
not valid yet, a chain out of order, or one that reaches no root the clients trust starts but is
refused by every client. This reads a candidate pair, changes nothing, and says what is wrong with it.

The nginx role runs it on the host with Python (`python3 -c`, so it works the same whether the
role runs standalone or from the pyweb.stack collection), Debian's python3-cryptography, and one
JSON object on stdin, so that a key handed over by the controller never shows in a process list:

    {"certificate_path": "/path" | "certificate_content": "PEM...",
     "key_path": "/path" | "key_content": "PEM...",
     "roots_path": "/path" | "roots_content": "PEM...", "check_mode": false}

The roots are the certificates the chain must reach: the host's trust store (Debian's
ca-certificates bundle) unless the site names its own (a private CA). Without either key the chain
is not checked against roots.

It prints one JSON object and exits 0, whatever it finds:

    {"problems": ["the key does not match the certificate (CN=...): ...", ...],
     "subject": "CN=...", "not_after": "2027-01-01 00:00:00 UTC", "chain_length": 2}

"problems" is empty when Nginx can serve the pair. Read-only: it writes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the role installs python3-cryptography first
    HAS_CRYPTOGRAPHY = False

PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def not_after(certificate) -> datetime:
    """The end of validity as an aware UTC datetime (cryptography before 42 has only the naive one)."""
    if hasattr(certificate, "not_valid_after_utc"):
        return certificate.not_valid_after_utc
    return certificate.not_valid_after.replace(tzinfo=timezone.utc)


def not_before(certificate) -> datetime:
    """The start of validity, aware UTC, as not_after."""
    if hasattr(certificate, "not_valid_before_utc"):
        return certificate.not_valid_before_utc
    return certificate.not_valid_before.replace(tzinfo=timezone.utc)


def public_key_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def signed_by(certificate, issuer) -> bool:
    """Whether issuer's name and key signed certificate."""
    if hasattr(certificate, "verify_directly_issued_by"):  # cryptography 40 and later
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True
    # Debian 12's cryptography 38: compare the names, then verify the signature by key type.
    if certificate.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    signature, data = certificate.signature, certificate.tbs_certificate_bytes
    algorithm = certificate.signature_hash_algorithm
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, data, algorithm)
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            return False
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_roots(roots_pem: bytes) -> list:
    """Every certificate of a PEM bundle that parses (a trust store may hold odd entries)."""
    roots = []
    for block in PEM_CERTIFICATE.findall(roots_pem):
        try:
            roots.append(x509.load_pem_x509_certificate(block))
        except ValueError:
            continue
    return roots


def reaches(chain: list, roots: list) -> bool:
    """Whether the chain's last certificate is one of the roots, or is signed by one."""
    last = chain[-1]
    der = last.public_bytes(serialization.Encoding.DER)
    return any(root.public_bytes(serialization.Encoding.DER) == der
               or (root.subject == last.issuer and signed_by(last, root)) for root in roots)


def check_pair(certificate_pem: bytes, key_pem: bytes, now: datetime | None = None,
               roots: list | None = None, roots_name: str = "") -> dict:
    """Return {"problems": [...], "chain_length": n, "subject": ..., "not_after": ...} for a
    certificate file (server certificate first, then its chain) and a private key; with roots
    (certificates, named roots_name in the message), the chain must reach one of them."""
    now = now or datetime.now(timezone.utc)
    problems = []
    result = {"problems": problems, "chain_length": 0}

    chain = []
    for number, block in enumerate(PEM_CERTIFICATE.findall(certificate_pem), start=1):
        try:
            chain.append(x509.load_pem_x509_certificate(block))
        except ValueError as error:
            problems.append(f"certificate {number} in the file does not parse ({error})")
            return result
    result["chain_length"] = len(chain)
    if not chain:
        problems.append("the certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        return result

    server = chain[0]
    result["subject"] = server.subject.rfc4514_string()
    result["not_after"] = when(not_after(server))

    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        problems.append("the key is encrypted with a passphrase; Nginx needs it unencrypted")
        key = None
    except (ValueError, UnsupportedAlgorithm) as error:
        problems.append(f"the key is not a PEM private key ({error})")
        key = None
    if key is not None and public_key_der(key.public_key()) != public_key_der(server.public_key()):
        problems.append(f"the key does not match the certificate ({result['subject']}): "
                        "their public keys differ")

    if not_after(server) <= now:
        problems.append(f"the certificate ({result['subject']}) expired on {when(not_after(server))}")
    # Issued for later (a clock ahead where it was made, or a date set wrong): every client
    # refuses it until then.
    if not_before(server) > now:
        problems.append(f"the certificate ({result['subject']}) is not valid before {when(not_before(server))}")
    for number, (certificate, issuer) in enumerate(zip(chain, chain[1:]), start=1):
        if not signed_by(certificate, issuer):
            problems.append(
                f"the chain is out of order: certificate {number} ({certificate.subject.rfc4514_string()}) "
                f"is not signed by certificate {number + 1} ({issuer.subject.rfc4514_string()}), which "
                "follows it; list the server certificate first, then each issuer after the one it signed")
            break
    if roots is not None and not any("out of order" in problem for problem in problems) and not reaches(chain, roots):
        last = chain[-1]
        problems.append(
            f"the chain does not reach a root in {roots_name or 'the trust store'}: its last certificate "
            f"({last.subject.rfc4514_string()}) is issued by {last.issuer.rfc4514_string()}, which is not there; "
            "append the missing intermediates, or for a private CA name its root in tls.ca_certificates")
    for number, certificate in enumerate(chain[1:], start=2):
        if not_after(certificate) <= now:
            problems.append(f"certificate {number} of the chain ({certificate.subject.rfc4514_string()}) "
                            f"expired on {when(not_after(certificate))}")
        if not_before(certificate) > now:
            problems.append(f"certificate {number} of the chain ({certificate.subject.rfc4514_string()}) "
                            f"is not valid before {when(not_before(certificate))}")
    return result


def read(request: dict, what: str) -> bytes:
    """The certificate, key or roots file's bytes: given as content, or read from its path on the host."""
    if request.get(f"{what}_content") is not None:
        return request[f"{what}_content"].encode()
    path = request.get(f"{what}_path") or ""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise LookupError(f"cannot read the {what} file {path} on the host: {error.strerror}") from None


def answer(request: dict) -> dict:
    """The reply to one request (see the module docstring)."""
    if not HAS_CRYPTOGRAPHY:
        if request.get("check_mode"):
            # Check mode on a host where the role has not installed python3-cryptography yet.
            return {"problems": [], "chain_length": 0, "checked": False}
        return {"problems": ["Python's cryptography is missing on the host (Debian package python3-cryptography)"],
                "chain_length": 0}
    try:
        certificate, key = read(request, "certificate"), read(request, "key")
    except LookupError as error:
        return {"problems": [str(error)], "chain_length": 0}
    roots = None
    if request.get("roots_content") is not None or request.get("roots_path"):
        try:
            roots = load_roots(read(request, "roots"))
        except LookupError as error:
            # Check mode on a host where the role has not installed ca-certificates yet.
            if not request.get("check_mode"):
                return {"problems": [str(error)], "chain_length": 0}
    roots_name = request.get("roots_name") or request.get("roots_path") or ""
    return check_pair(certificate, key, roots=roots, roots_name=roots_name)


def main() -> None:
    json.dump(answer(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
