"""Helpers shared by the apps scenario's tests: requests through the unix sockets, the Gunicorn
process tree of a unit, and ansible-playbook runs against the scenario's host."""

import json
import math
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
APPS = {
    "sync-api": {"framework": "flask", "worker_class": "gthread", "profile": "io"},
    "async-api": {"framework": "fastapi", "worker_class": "uvicorn_worker.UvicornWorker", "profile": "async"},
}


def get(host, app, path):
    """GET path from app through its unix socket; return (status, parsed JSON body)."""
    cmd = host.run(
        "curl --silent --max-time 10 --write-out '\\n%%{http_code}' --unix-socket /run/gunicorn/%s.sock http://localhost%s",
        app,
        path,
    )
    assert cmd.rc == 0, cmd.stderr
    body, _, status = cmd.stdout.rpartition("\n")
    return int(status), json.loads(body) if body.strip() else None


def main_pid(host, app):
    return int(host.check_output("systemctl show --property MainPID --value %s.service", app))


def worker_pids(host, app):
    """PIDs of the master's children, i.e. the Gunicorn workers."""
    out = host.run("pgrep --parent %s", str(main_pid(host, app))).stdout
    return sorted(int(pid) for pid in out.split())


def wait_for(predicate, timeout=30, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def expected_workers(profile, vcpus, memory_mb):
    """The README's formula, written out independently of the filter plugin."""
    computed = {"cpu": 2 * vcpus + 1, "io": vcpus + 1, "async": max(2, vcpus)}[profile]
    return min(computed, max(1, (memory_mb - 512) // 128))


def expected_threads(workers, concurrency=64):
    return max(2, math.ceil(concurrency / workers))


@pytest.fixture(scope="module")
def facts(host):
    return host.ansible("setup", "gather_subset=!all,hardware", check=False)["ansible_facts"]


@pytest.fixture(scope="module")
def demo_apps():
    """The demo's pyweb_apps, as the converge used them."""
    return yaml.safe_load((ROOT / "inventory/demo/group_vars/all/apps.yml").read_text())["pyweb_apps"]


@pytest.fixture(scope="module")
def playbook():
    """Run a playbook of the collection against this scenario's host with extra vars."""

    def run(name, extra_vars, expect_success=True):
        env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="True")
        vars_file = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "pyweb-apps-extra-vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        cmd = [
            "ansible-playbook",
            "--inventory",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "--extra-vars",
            f"@{vars_file}",
            str(ROOT / "playbooks" / name),
        ]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        assert (result.returncode == 0) == expect_success, result.stdout[-4000:] + result.stderr[-2000:]
        # ansible-core 2.19 prints task failures on stderr.
        return result.stdout + result.stderr

    return run
