"""Helpers shared by the apps scenario's tests: requests through the unix sockets (with Python on
the host: this scenario's host has no curl), the Gunicorn process tree of a unit, and
ansible-playbook runs against the scenario's host."""

import json

import pytest
import yaml
from pyweb_testlib import ROOT, host_http, run_playbook, unit_environment, wait_for  # noqa: F401 (re-exported to the tests)  pylint: disable=unused-import

APPS = {
    "sync-api": {"framework": "flask", "worker_class": "gthread", "profile": "io"},
    "async-api": {"framework": "fastapi", "worker_class": "uvicorn_worker.UvicornWorker", "profile": "async"},
}


def get(host, app, path):
    """GET path from app through its unix socket; return (status, parsed JSON body)."""
    answer = host_http(host, path, socket=f"/run/gunicorn/{app}.sock")
    body = answer["body"]
    return answer["status"], json.loads(body) if body.strip() else None


def main_pid(host, app):
    return int(host.check_output("systemctl show --property MainPID --value %s.service", app))


def worker_pids(host, app):
    """PIDs of the master's children, i.e. the Gunicorn workers."""
    out = host.run("pgrep --parent %s", str(main_pid(host, app))).stdout
    return sorted(int(pid) for pid in out.split())


def expected_workers(profile, vcpus, memory_mb):
    """The README's formula, written out independently of the filter plugin."""
    computed = {"cpu": 2 * vcpus + 1, "io": vcpus + 1, "async": max(2, vcpus)}[profile]
    return min(computed, max(1, (memory_mb - 512) // 128))


def expected_threads(workers, concurrency=64):
    """Each io worker holds the whole concurrency (keep-alive connections stick to one worker)."""
    return max(2, concurrency)


@pytest.fixture(scope="module")
def facts(host):
    return host.ansible("setup", "gather_subset=!all,hardware", check=False)["ansible_facts"]


@pytest.fixture(scope="module")
def demo_apps():
    """The demo's pyweb_apps, as the converge used them."""
    return yaml.safe_load((ROOT / "inventory/demo/group_vars/all/apps.yml").read_text())["pyweb_apps"]


@pytest.fixture(scope="module")
def playbook():
    """Run a playbook of the collection against this scenario's host with extra vars. A run that
    names its own pyweb_apps handles only those apps (group_vars add the real-shaped ones too)."""

    def run(name, extra_vars=None, **kwargs):
        extra_vars = dict(extra_vars or {})
        if "pyweb_apps" in extra_vars and "pyweb_apps_limit" not in extra_vars:
            extra_vars["pyweb_apps_limit"] = [entry["name"] for entry in extra_vars["pyweb_apps"]]
        return run_playbook(name, extra_vars, **kwargs)

    return run
