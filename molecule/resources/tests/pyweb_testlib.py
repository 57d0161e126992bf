"""Helpers shared by the Molecule scenarios' testinfra suites.

The verifier puts this directory on PYTHONPATH (.config/molecule/config.yml), so a scenario's
conftest or test module can `from pyweb_testlib import ...`.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import testinfra

ROOT = Path(__file__).resolve().parents[3]


def named_host(name):
    """A testinfra host for one instance of the running scenario, by inventory name."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


def wait_for(predicate, timeout=30, interval=0.5):
    """Call predicate until it returns something truthy or timeout seconds pass; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def run_playbook(playbook, extra_vars=None, expect_success=True, args=()):
    """Run a playbook (a path, or a name under playbooks/) against the scenario's inventory with extra
    vars passed as a JSON file; assert it succeeded (or failed, with expect_success=False) and return
    stdout + stderr, since ansible-core 2.19 prints task failures on stderr."""
    path = Path(playbook) if Path(playbook).is_absolute() else ROOT / "playbooks" / playbook
    ephemeral = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"))
    vars_file = ephemeral / "pyweb-extra-vars.json"
    vars_file.write_text(json.dumps(extra_vars or {}))
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="True")
    cmd = ["ansible-playbook", "--inventory", os.environ["MOLECULE_INVENTORY_FILE"],
           "--extra-vars", f"@{vars_file}", *args, str(path)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == expect_success, (
        f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return output


def bridge_address(container):
    """A container's address on the engine's bridge network, reachable from the controller."""
    result = subprocess.run(
        ["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container],
        capture_output=True, text=True, check=True)
    return result.stdout.split()[0]
