"""A broken value fails the play and leaves the previous configuration serving.

Each case runs the scenario's converge playbook again with one bad extra variable, then checks
that the play failed, that no file under /etc/nginx changed, that Nginx was neither restarted nor
reloaded (same master, same workers) and that it still answers.
"""

import json
import os
import subprocess
import sys

import pytest

SNAPSHOT = r"cd /etc/nginx && find . \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum"
WORKERS = "pgrep -P $(cat /run/nginx.pid) | sort"

CASES = {
    # Rejected by nginx -t on the candidate nginx.conf (template validate).
    "main config": ({"nginx_keepalive_timeout": "forever"}, "invalid value"),
    # Written into place, rejected by nginx -t on the whole config, then rolled back.
    "site file": ({"nginx_proxy_next_upstream": ["error", "sometimes"]}, "invalid value"),
    # Rejected by the cross-field checks before anything is touched.
    "unknown zone": ({"nginx_limit_req_zones": []}, "nginx_limit_req_zones"),
}


def converge(extra_vars):
    ephemeral = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
    env = dict(os.environ)
    env["ANSIBLE_ROLES_PATH"] = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "roles")
    if os.path.exists(os.path.join(ephemeral, "ansible.cfg")):
        env["ANSIBLE_CONFIG"] = os.path.join(ephemeral, "ansible.cfg")
    playbook = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", os.path.join(ephemeral, "inventory"), playbook, "-e", json.dumps(extra_vars)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("case", list(CASES))
def test_broken_value_fails_and_previous_config_keeps_serving(host, case):
    extra_vars, expected = CASES[case]
    files_before = host.run(SNAPSHOT).stdout
    workers_before = host.run(WORKERS).stdout

    result = converge(extra_vars)

    assert result.returncode != 0, result.stdout[-3000:]
    output = result.stdout + result.stderr
    assert expected in output, output[-3000:]
    assert host.run(SNAPSHOT).stdout == files_before
    assert host.run(WORKERS).stdout == workers_before
    assert host.run("nginx -t").rc == 0
    answer = host.run("curl -sk https://localhost/sync-api/hello")
    assert '"app": "sync-api"' in answer.stdout
