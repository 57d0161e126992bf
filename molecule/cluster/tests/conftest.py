"""Fixtures for the cluster scenario: hosts by name, and HTTP from the load balancer."""

import json
import os

import pytest
import testinfra


def named_host(name):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


@pytest.fixture(scope="module")
def lb():
    return named_host("pyweb-lb")


@pytest.fixture(scope="module")
def app_hosts():
    return {name: named_host(name) for name in ("pyweb-app1", "pyweb-app2")}


@pytest.fixture
def get_json(lb):
    """GET a path through the load balancer's Nginx; returns (status, parsed body or None)."""

    def get(path):
        result = lb.run("curl -ksS --max-time 10 -w '\\n%%{http_code}' https://localhost%s", path)
        body, _, status = result.stdout.rpartition("\n")
        try:
            return int(status or 0), json.loads(body)
        except ValueError:
            return int(status or 0), None

    return get
