"""Helpers for the nginx scenario: real HTTP(S) through Nginx from inside the test host."""

import json
import os
import shlex
import subprocess
import sys

import pytest


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
        head, _, body = result.stdout.partition("\r\n\r\n")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, body

    def json(self, url, *args):
        status, headers, body = self.get(url, *args)
        return status, headers, json.loads(body)


@pytest.fixture
def curl(host):
    return Curl(host)


def converge(extra_vars):
    """Run the scenario's converge playbook again, with extra variables, from the controller."""
    ephemeral = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
    env = dict(os.environ)
    env["ANSIBLE_ROLES_PATH"] = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "roles")
    if os.path.exists(os.path.join(ephemeral, "ansible.cfg")):
        env["ANSIBLE_CONFIG"] = os.path.join(ephemeral, "ansible.cfg")
    playbook = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", os.path.join(ephemeral, "inventory"), playbook, "-e", json.dumps(extra_vars)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
