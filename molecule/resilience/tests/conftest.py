"""Fixtures for the resilience scenario: the host's address for load from the controller, commands on
the host, the sync-api's master and workers, and the figures every test reports (printed and kept
in the ephemeral directory, for docs/resilience.md)."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from pyweb_load import Load, request  # noqa: F401 (re-exported to the tests)  pylint: disable=unused-import
from pyweb_testlib import ROOT, bridge_address, run_playbook, wait_for  # noqa: F401 (re-exported to the tests)  pylint: disable=unused-import

CONTAINER = "pyweb-resilience"
# A server name of the site (molecule/resilience/group_vars/all/proxy.yml): the default server
# rejects TLS handshakes for any other SNI.
SERVER_NAME = "pyweb.test"
SCENARIO = Path(__file__).resolve().parents[1]
FIGURES = {}


def sh(*argv, check=True):
    """Run a command on the host through `docker exec` (fast enough to time faults); return stdout.
    With check=False a non-zero exit (`systemctl is-active` of a unit that is down) is an answer."""
    result = subprocess.run(["docker", "exec", CONTAINER, *argv], capture_output=True, text=True, check=False)
    assert result.returncode == 0 or not check, f"{' '.join(argv)} exited {result.returncode}: {result.stderr}"
    return result.stdout.strip()


def master_pid(app="sync-api"):
    return int(sh("systemctl", "show", "--property", "MainPID", "--value", f"{app}.service"))


def worker_pids(app="sync-api"):
    """The Gunicorn workers: children of the service's main process."""
    master = master_pid(app)
    if not master:
        return set()
    result = subprocess.run(["docker", "exec", CONTAINER, "pgrep", "-P", str(master)],
                            capture_output=True, text=True, check=False)
    return {int(pid) for pid in result.stdout.split()}


def report(name, value):
    """Keep a figure for the session summary and show it in the verifier's output."""
    FIGURES[name] = value
    print(f"FIGURE {name}: {value}")


def sync_api_entry(src):
    """The scenario's own sync-api entry of pyweb_apps (group_vars), deployed from `src` instead."""
    apps = yaml.safe_load((SCENARIO / "group_vars/all/apps.yml").read_text())["pyweb_apps"]
    entry = next(app for app in apps if app["name"] == "sync-api")
    return dict(entry, src=str(src))


@pytest.fixture(scope="session")
def address():
    """The container's address on the engine's bridge network: the load goes there directly."""
    return bridge_address(CONTAINER)


@pytest.fixture(scope="session", autouse=True)
def figures():
    """Every figure the tests reported, printed at the end and written to the ephemeral directory."""
    yield FIGURES
    print("\nRESILIENCE FIGURES\n" + json.dumps(FIGURES, indent=2))
    out = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "resilience-figures.json"
    out.write_text(json.dumps(FIGURES, indent=2))


@pytest.fixture
def nginx_errors():
    """A function returning the Nginx error log lines written since this fixture was set up."""
    offset = int(sh("stat", "--format", "%s", "/var/log/nginx/error.log"))

    def since():
        return sh("tail", "--bytes", f"+{offset + 1}", "/var/log/nginx/error.log").splitlines()

    return since
