"""Fixtures of the granian scenario: requests through the apps' sockets and through Nginx, the
scenario's app entries, and the figures the tests report (printed in the verifier's output)."""

import json

import pytest
import yaml
from pyweb_testlib import ROOT, bridge_address, host_http

SCENARIO = ROOT / "molecule/granian"
# A server name of the site (group_vars/all/proxy.yml).
SERVER_NAME = "pyweb.test"
APPS = {entry["name"]: entry
        for entry in yaml.safe_load((SCENARIO / "group_vars/all/apps.yml").read_text())["pyweb_apps"]}


def entry(name, **changes):
    """The app's entry as the converge used it (playbooks/ as playbook_dir), with changes."""
    app = {key: (value.replace("{{ playbook_dir }}", str(ROOT / "playbooks")) if isinstance(value, str) else value)
           for key, value in APPS[name].items()}
    return {**app, **changes}


def get(host, app, path):
    """GET path from app through its configured socket path; return (status, parsed JSON body)."""
    answer = host_http(host, path, socket=f"/run/gunicorn/{app}.sock")
    body = answer["body"]
    return answer["status"], json.loads(body) if body.strip() else None


def through_nginx(host, path, **kwargs):
    return host_http(host, path, https=True, **kwargs)


def report(name, value):
    print(f"FIGURE {name}: {value}")


@pytest.fixture(scope="module")
def address(host):
    """The host container's address, reachable from the controller (its name is the inventory name)."""
    return bridge_address(host.backend.host)
