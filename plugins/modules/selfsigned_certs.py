#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Self-signed certificates for several sites in one call: the Nginx role's demo and stand-in
certificates."""

from __future__ import annotations

DOCUMENTATION = r"""
module: selfsigned_certs
short_description: Make and renew self-signed certificates for several sites in one call
description:
  - For each site, a private key (ECDSA on P-256, made once) and a self-signed certificate for the
    site's names, in one round trip whatever the number of sites.
  - A certificate is signed again when it is missing or unreadable, when it does not belong to the
    key, when its names (common name and DNS subject alternative names) differ from the site's,
    or when it is no longer valid I(renew_days) from now.
  - A key that cannot be read, or that is not an ECDSA P-256 key, is made again (and its
    certificate signed again).
  - Keys are written 0600 and certificates 0644, owned by root, into I(dir), which is made (0700)
    when missing. In check mode nothing is written and the result says what would be.
  - Needs the Python C(cryptography) library on the host (Debian's python3-cryptography).
version_added: 0.1.0
author: pyweb maintainers (@pyweb)
options:
  dir:
    description: The folder of the keys (C(<name>.key)) and certificates (C(<name>.crt)).
    type: path
    required: true
  sites:
    description: The sites, each with C(name) (the file names) and C(server_names) (the host names; the first is the common name); other keys are ignored.
    type: list
    elements: dict
    required: true
  days:
    description: How long a new certificate is valid, in days.
    type: int
    default: 365
  renew_days:
    description: A certificate that is no longer valid this many days from now is signed again.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Sign the self-signed certificates that are due
  pyweb.stack.selfsigned_certs:
    dir: /etc/nginx/tls
    sites:
      - {name: shop, server_names: [shop.test, www.shop.test]}
    days: 365
    renew_days: 30
"""

RETURN = r"""
sites:
  description: For each site by name, C(key) and C(certificate), each C(made), C(mode) (its owner or mode fixed) or C(kept), and C(reason) when signed again.
  returned: always
  type: dict
"""

import datetime
import os
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    CRYPTOGRAPHY_ERROR = None
except ImportError:  # pragma: no cover - reported by the module
    CRYPTOGRAPHY_ERROR = traceback.format_exc()


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def not_after(cert):
    """The end of validity, timezone-aware, on every cryptography release Debian ships."""
    value = getattr(cert, "not_valid_after_utc", None)
    if value is None:
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    if value is None:
        value = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    return value


def wanted_names(names):
    return sorted({name.lower() for name in names})


def cert_names(cert):
    """The common name and the sorted lower-case DNS names of a certificate."""
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        alt = []
    return (common[0].value.lower() if common else ""), wanted_names(alt)


def load_key(path):
    """The P-256 key at path, or None when it is missing, unreadable or of another kind."""
    try:
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return key


def load_cert(path):
    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError):
        return None


def public_bytes(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def why_sign(cert, key, names, renew_days, moment):
    """Why the certificate must be signed (again), or "" when it serves as it is."""
    if cert is None:
        return "missing"
    if key is None or public_bytes(key) != cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        return "key"
    if cert_names(cert) != (names[0].lower(), wanted_names(names)):
        return "names"
    if not_before(cert) > moment or not_after(cert) < moment + datetime.timedelta(days=renew_days):
        return "expiry"
    return ""


def sign(key, names, days, moment):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(moment)
            .not_valid_after(moment + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
            .sign(key, hashes.SHA256()))


def write(path, data, mode):
    """data into path, owned by root with mode, moved in atomically."""
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.")
    try:
        os.fchmod(fd, mode)
        if os.geteuid() == 0:
            os.fchown(fd, 0, 0)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
        temp = None
    finally:
        if temp and os.path.lexists(temp):
            os.unlink(temp)


def fix_attributes(path, mode, check_mode):
    """Owner root and mode on a file that is kept; whether they were wrong."""
    status = os.stat(path)
    wrong = (status.st_mode & 0o7777) != mode or (os.geteuid() == 0 and (status.st_uid, status.st_gid) != (0, 0))
    if wrong and not check_mode:
        os.chmod(path, mode)
        if os.geteuid() == 0:
            os.chown(path, 0, 0)
    return wrong


def main():
    module = AnsibleModule(
        argument_spec={"dir": {"type": "path", "required": True},
                       "sites": {"type": "list", "elements": "dict", "required": True},
                       "days": {"type": "int", "default": 365},
                       "renew_days": {"type": "int", "default": 30}},
        supports_check_mode=True)
    folder, days, renew_days = module.params["dir"], module.params["days"], module.params["renew_days"]
    for site in module.params["sites"]:
        if not site.get("name") or not site.get("server_names"):
            module.fail_json(msg=f"selfsigned_certs: each site needs name and server_names, got {site.get('name')!r}")
    if CRYPTOGRAPHY_ERROR:
        if module.check_mode:
            # Check mode on a host where the run would install python3-cryptography first: nothing
            # can be read, and everything would be made.
            module.exit_json(changed=True,
                             msg="cryptography is not installed yet: every key and certificate would be made",
                             sites={site["name"]: {"key": "made", "certificate": "made", "reason": "missing"}
                                    for site in module.params["sites"]})
        module.fail_json(msg=missing_required_lib("cryptography (python3-cryptography)"), exception=CRYPTOGRAPHY_ERROR)
    changed = False
    if not os.path.isdir(folder):
        changed = True
        if not module.check_mode:
            os.makedirs(folder, mode=0o700, exist_ok=True)
    moment = now().replace(microsecond=0)
    report = {}
    for site in module.params["sites"]:
        key_path = os.path.join(folder, f"{site['name']}.key")
        cert_path = os.path.join(folder, f"{site['name']}.crt")
        names = [str(name) for name in site["server_names"]]
        key = load_key(key_path)
        entry = {"key": "kept", "certificate": "kept"}
        if key is None:
            entry["key"] = "made"
            key = ec.generate_private_key(ec.SECP256R1())
            if not module.check_mode:
                write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()), 0o600)
        elif fix_attributes(key_path, 0o600, module.check_mode):
            entry["key"] = "mode"
        reason = why_sign(load_cert(cert_path), key, names, renew_days, moment)
        if reason:
            entry.update(certificate="made", reason=reason)
            if not module.check_mode:
                write(cert_path, sign(key, names, days, moment).public_bytes(serialization.Encoding.PEM), 0o644)
        elif fix_attributes(cert_path, 0o644, module.check_mode):
            entry["certificate"] = "mode"
        changed = changed or entry["key"] != "kept" or entry["certificate"] != "kept"
        report[site["name"]] = entry
    module.exit_json(changed=changed, sites=report)


if __name__ == "__main__":
    main()
