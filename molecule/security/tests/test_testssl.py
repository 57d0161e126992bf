"""The deployed TLS graded by testssl.sh (Debian's package, installed on the controller by
scripts/tools.sh) from the controller: protocols, cipher categories, RC4, forward secrecy and HSTS.

testssl connects to the host's bridge address (--ip) and names the demo site in the URL, so SNI
selects the site and not the catch-all that refuses unknown names. --nodns none keeps it off the
resolver (pyweb.test is not a public name and no traffic leaves the engine's network). Its JSON
report is kept as <ephemeral dir>/testssl.json and the key findings in the session summary.
"""

import json
import re
import subprocess

import pytest

from conftest import EPHEMERAL, SERVER_NAME, record

# Only what the assertions need; the vulnerability and client simulation runs take minutes.
CHECKS = ["--protocols", "--std", "--rc4", "--fs", "--headers"]

NOT_OFFERED = {
    "SSLv2": "SSLv2",
    "SSLv3": "SSLv3",
    "TLS1": "TLS 1.0",
    "TLS1_1": "TLS 1.1",
    "cipherlist_NULL": "NULL ciphers",
    "cipherlist_aNULL": "anonymous (aNULL) ciphers",
    "cipherlist_EXPORT": "EXPORT ciphers",
    "cipherlist_LOW": "LOW ciphers (64 bit, DES, RC2, RC4)",
    "cipherlist_3DES_IDEA": "3DES and IDEA ciphers",
    "cipherlist_AVERAGE": "obsolete CBC ciphers",
    "RC4": "RC4 ciphers",
}
# testssl 3.0 names forward secrecy PFS; later releases FS.
OFFERED = {"TLS1_2": "TLS 1.2", "TLS1_3": "TLS 1.3", "PFS|FS": "forward secrecy"}


@pytest.fixture(scope="module")
def findings(address):
    report = EPHEMERAL / "testssl.json"
    report.unlink(missing_ok=True)
    command = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--ip", address,
               "--connect-timeout", "10", "--openssl-timeout", "10", "--jsonfile", str(report), *CHECKS,
               f"https://{SERVER_NAME}/"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert report.exists(), result.stdout[-3000:] + result.stderr[-2000:]
    entries = json.loads(report.read_text())
    found = {entry["id"]: entry["finding"] for entry in entries}
    summary = {key: found.get(key, "(missing)")
               for key in [*NOT_OFFERED, "TLS1_2", "TLS1_3", "cipherlist_STRONG", "PFS", "PFS_ciphers",
                           "PFS_ECDHE_curves", "HSTS_time", "scanTime"]}
    record("testssl", "findings", summary)
    return found


@pytest.mark.parametrize("finding", list(NOT_OFFERED), ids=list(NOT_OFFERED.values()))
def test_weak_protocol_or_cipher_is_not_offered(findings, finding):
    assert finding in findings, sorted(findings)
    assert findings[finding].startswith("not offered") or findings[finding] == "not vulnerable", findings[finding]


@pytest.mark.parametrize("finding", list(OFFERED), ids=list(OFFERED.values()))
def test_modern_protocol_and_forward_secrecy_are_offered(findings, finding):
    found = [findings[name] for name in finding.split("|") if name in findings]
    assert found and found[0].startswith("offered"), found


def test_hsts_lasts_at_least_a_year(findings):
    seconds = int(re.search(r"=(\d+) seconds", findings["HSTS_time"])[1])
    assert seconds >= 31536000, findings["HSTS_time"]
