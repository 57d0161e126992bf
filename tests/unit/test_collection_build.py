"""The Galaxy artifact: it builds, installs into an empty collections path, and a playbook that
names the roles by their fully qualified names resolves against the installed copy."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, load_plugin

BIN = Path(sys.executable).parent


def run(*args, cwd, env=None):
    result = subprocess.run(args, cwd=cwd, capture_output=True, check=False, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy")
    run(str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(work), cwd=work)
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    artifact = work / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    assert artifact.exists()
    collections = work / "collections"
    run(str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "--force", "-p", str(collections), str(artifact),
        cwd=work)
    return work, collections


def test_artifact_carries_the_roles_and_no_local_state(installed):
    _unused, collections = installed
    tree = collections / "ansible_collections" / "pyweb" / "stack"
    for role in ("app", "gunicorn", "host", "nginx"):
        assert (tree / "roles" / role / "meta" / "argument_specs.yml").exists()
    assert not (tree / ".venv").exists()
    assert not (tree / ".state").exists()
    assert not (tree / ".ansible").exists()


def test_playbook_resolves_roles_by_fqcn_from_the_installed_artifact(installed):
    work, collections = installed
    playbook = work / "uses_fqcn.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Use the roles from the installed collection",
        "hosts": "localhost",
        "gather_facts": False,
        "roles": ["pyweb.stack.app", "pyweb.stack.gunicorn", "pyweb.stack.host", "pyweb.stack.nginx"],
    }]))
    # Only the installed copy is on the path: no roles_path into this checkout.
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections),
           "ANSIBLE_ROLES_PATH": str(work / "none"), "ANSIBLE_CONFIG": str(work / "none.cfg")}
    result = run(str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(playbook), cwd=work,
                 env=env)
    assert "uses_fqcn.yml" in result.stdout


# Every file Ansible templates or runs from the collection: roles, playbooks, templates.
SHIPPED_YAML = [p for d in ("roles", "playbooks", "templates") for p in (ROOT / d).rglob("*")
                if p.suffix in (".yml", ".j2")]
PYWEB_FILTERS = re.compile(r"\bpyweb\.stack\.([a-z_]+)\s*[(\s}]")


def collection_filters():
    names = set()
    for path in (ROOT / "plugins" / "filter").glob("*.py"):
        names |= set(load_plugin(path).FilterModule().filters())
    return names


def test_plugins_live_once_in_plugins_filter():
    """One packaging mode: no role carries a filter_plugins/ of its own, and plugins/ holds files,
    not links into the roles."""
    assert not list(ROOT.glob("roles/*/filter_plugins"))
    for path in (ROOT / "plugins").rglob("*.py"):
        assert not path.is_symlink(), f"{path} is a link"


def test_every_collection_filter_is_used_by_its_full_name():
    """A filter of plugins/filter written without pyweb.stack. resolves only through a roles path
    into this checkout, never in the installed artifact; one named pyweb.stack.X must exist."""
    ours = collection_filters()
    assert {"app_release_plan", "gunicorn_sizing", "host_firewall_rules", "pyweb_app_role_vars"} <= ours
    for path in SHIPPED_YAML:
        text = path.read_text()
        for name in PYWEB_FILTERS.findall(text):
            if ((ROOT / "roles" / name).is_dir() or (ROOT / "playbooks" / f"{name}.yml").exists()
                    or (ROOT / "plugins" / "modules" / f"{name}.py").exists()):
                continue
            assert name in ours, f"{path.relative_to(ROOT)}: pyweb.stack.{name} is not in plugins/filter"
        short = set(re.findall(r"\|\s*([a-z_]+)\b", text)) & ours
        assert not short, f"{path.relative_to(ROOT)}: filters {sorted(short)} used without pyweb.stack."
