"""Fixtures for the cluster scenario: hosts by name, and HTTP from the load balancer."""

import contextlib
import json
import time

import pytest
from pyweb_testlib import ROOT, named_host, run_playbook  # noqa: F401 (re-exported to the tests)  pylint: disable=unused-import


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
        body, _unused, status = result.stdout.rpartition("\n")
        try:
            return int(status or 0), json.loads(body)
        except ValueError:
            return int(status or 0), None

    return get


@pytest.fixture(scope="module")
def playbook():
    """Run one of the collection's playbooks against this scenario's hosts, with extra vars."""
    return run_playbook


@contextlib.contextmanager
def steady_load(lb, path, interval=0.05, limit_seconds=300):
    """Light, bounded load from the load balancer host itself: one request every `interval`
    seconds until the block ends (or `limit_seconds` pass). Yields a list filled, on exit, with
    every response's status code (000 for a connection failure)."""
    lb.run_test("rm -f /tmp/pyweb-load.log /tmp/pyweb-load.stop")
    lb.run_test(
        "nohup bash -c 'end=$((SECONDS + %s)); "
        "while [ $SECONDS -lt $end ] && [ ! -e /tmp/pyweb-load.stop ]; do "
        "curl -ks --max-time 10 -o /dev/null -w \"%%{http_code}\\n\" https://localhost%s >> /tmp/pyweb-load.log; "
        "sleep %s; done; touch /tmp/pyweb-load.done' >/dev/null 2>&1 &",
        str(limit_seconds), path, str(interval))
    statuses = []
    try:
        yield statuses
    finally:
        lb.run_test("touch /tmp/pyweb-load.stop")
        deadline = time.monotonic() + 30
        while not lb.file("/tmp/pyweb-load.done").exists and time.monotonic() < deadline:
            time.sleep(0.2)
        statuses.extend(lb.file("/tmp/pyweb-load.log").content_string.split())
