"""Helpers for the nginx scenario: real HTTP(S) through Nginx from inside the test host."""

import json
import re
import shlex
from pathlib import Path

import pytest
from pyweb_testlib import run_playbook


class Curl:
    """Runs curl on the test host and splits its answer into status, headers and body."""

    def __init__(self, host):
        self.host = host

    def run(self, *args):
        return self.host.run("curl --silent --show-error --max-time 10 " + " ".join(shlex.quote(a) for a in args))

    def get(self, url, *args, body=True):
        """Return (status, headers with lower-case names, body) of one request.

        With body=False the body (binary when compressed) is thrown away on the host.
        """
        if body:
            result = self.run("--insecure", "--include", *args, url)
        else:
            result = self.run("--insecure", "--dump-header", "-", "--output", "/dev/null", *args, url)
        assert result.rc == 0, result.stderr
        head, _unused, body = result.stdout.partition("\r\n\r\n")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _unused, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, body

    def json(self, url, *args):
        status, headers, body = self.get(url, *args)
        return status, headers, json.loads(body)


@pytest.fixture
def curl(host):
    return Curl(host)


CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"

# Every file and link under /etc/nginx with its checksum, and the workers of the running master:
# equal before and after a refused run means the live configuration was never touched.
SNAPSHOT = r"cd /etc/nginx && find . \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum"
# systemd's MainPID, not the pid file, whose place depends on nginx_systemd_hardening.
WORKERS = "pgrep -P $(systemctl show --property MainPID --value nginx) | sort"


def converge(extra_vars, expect_success=True):
    """Run the scenario's converge playbook again with extra variables; return its output."""
    return run_playbook(CONVERGE, extra_vars, expect_success=expect_success)


def recap_changed(output):
    """The changed count of the play recap (colour codes removed: Molecule may force colour)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    return int(re.search(r"^pyweb-nginx\s*:.*\bchanged=(\d+)", plain, re.M).group(1))


def served_certificate(host, server_name, *fields):
    """Fields of the certificate Nginx serves for server_name, read through a real TLS handshake:
    e.g. served_certificate(host, "localhost", "-fingerprint", "-sha256", "-enddate")."""
    out = host.run(f"echo | openssl s_client -connect 127.0.0.1:443 -servername {server_name} 2>/dev/null"
                   f" | openssl x509 -noout {' '.join(fields)}")
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def task_output(output, name):
    """What a run printed for one task of the nginx role (empty when the task did not run)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    _unused, found, rest = plain.partition(f"TASK [pyweb.stack.nginx : {name}]")
    return rest.split("\nTASK [", 1)[0] if found else ""
