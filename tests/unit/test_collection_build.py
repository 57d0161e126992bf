"""The Galaxy artifact: it builds, installs into an empty collections path, and a playbook that
names the roles by their fully qualified names resolves against the installed copy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

BIN = Path(sys.executable).parent


def run(*args, cwd, env=None):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
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
    _, collections = installed
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
