"""The shipped inventories parse and have the groups the playbooks target."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BIN = Path(sys.executable).parent


def inventory(name):
    result = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(ROOT / "inventory" / name), "--list"],
                            capture_output=True, check=False, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def hosts(data, group):
    found = set(data.get(group, {}).get("hosts", []))
    for child in data.get(group, {}).get("children", []):
        found |= hosts(data, child)
    return found


@pytest.mark.parametrize("name", ["demo", "staging", "production"])
def test_inventory_has_load_balancers_and_app_hosts(name):
    data = inventory(name)
    assert hosts(data, "lb")
    assert hosts(data, "app")


@pytest.mark.parametrize("name", ["staging", "production"])
def test_shared_environments_run_the_apps_in_production_mode(name):
    """Development mode shows debug pages and tracebacks: only for the local demo, never for a
    host that others reach."""
    data = inventory(name)
    for host in hosts(data, "app"):
        assert data["_meta"]["hostvars"][host]["pyweb_mode"] == "production"


def test_staging_asks_the_ca_for_its_own_names_only():
    staging, production = inventory("staging"), inventory("production")
    site_names = {h: v["nginx_sites"][0]["server_names"] for h, v in staging["_meta"]["hostvars"].items()
                  if h in hosts(staging, "lb")}
    assert site_names and all(names == "{{ pyweb_public_names }}" for names in site_names.values())
    staging_names = {n for h in hosts(staging, "lb") for n in staging["_meta"]["hostvars"][h]["pyweb_public_names"]}
    production_names = {n for h in hosts(production, "lb")
                        for n in production["_meta"]["hostvars"][h]["pyweb_public_names"]}
    assert staging_names and production_names and not staging_names & production_names


def test_production_tiers_are_separate_and_have_their_own_app_lists():
    data = inventory("production")
    sync, async_ = hosts(data, "sync_app"), hosts(data, "async_app")
    assert sync and async_ and not sync & async_
    hostvars = data["_meta"]["hostvars"]
    assert all([a["name"] for a in hostvars[h]["pyweb_apps__sync_app"]] == ["sync-api"] for h in sync)
    assert all([a["name"] for a in hostvars[h]["pyweb_apps__async_app"]] == ["async-api"] for h in async_)
