"""The Galaxy artifact as a user runs it: built, installed into an empty collections path, and its
whole-stack playbook (`pyweb.stack.site`) run against this host the way production connects:
OpenSSH as a non-root user (`deploy`) with passwordless sudo, a key made for this run, Ansible's
defaults (no project ansible.cfg, so no pipelining), and no `acl` package on the host.

The security scenario converges a bare host over that same connection and runs its idempotence
step there; this file keeps what only a deployed host can show over SSH: a damaged release
repaired, and a firewall that would lock the run out refused before anything changes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pyweb_testlib import release_independent

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    work = tmp_path_factory.mktemp("artifact")
    run([BIN / "ansible-galaxy", "collection", "build", ROOT, "--output-path", work])
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    artifact = work / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    path = work / "collections"
    run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", path, artifact])
    return path


@pytest.fixture(scope="module")
def ssh_login(tmp_path_factory):
    """sshd on the test host and a sudo user whose key is made for this run, set up by the security
    scenario's prepare playbook: each host's SSH connection variables."""
    path = tmp_path_factory.mktemp("ssh") / "ssh.yml"
    run([BIN / "ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-e", f"pyweb_ssh_inventory={path}",
         ROOT / "molecule" / "resources" / "ssh_login.yml"])
    return yaml.safe_load(path.read_text())["all"]["hosts"]


@release_independent
def test_host_has_no_acl_package(host):
    """Without acl, Ansible cannot hand its temporary files to an unprivileged become user: the
    stack must never need one."""
    assert not host.package("acl").is_installed


def ssh_inventory(path, login, **host_vars):
    """Molecule's inventory with each host reached over SSH as a production inventory would say
    it, in host variables (extra vars would also redirect `delegate_to: localhost`); the group
    variables (links beside Molecule's inventory) come along."""
    source = Path(os.environ["MOLECULE_INVENTORY_FILE"])
    inventory = yaml.safe_load(source.read_text())
    for group in inventory.values():
        for name in (group or {}).get("hosts") or {}:
            group["hosts"][name] = {**login[name], **host_vars}
    path.mkdir()
    (path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    for folder in ("group_vars", "host_vars"):
        if (source.parent / folder).exists():
            (path / folder).symlink_to((source.parent / folder).resolve())
    return path


def as_a_user(collections, tmp_path):
    """The environment of a Galaxy user: nothing from this checkout on the paths, no ansible.cfg
    (Ansible's defaults: no pipelining), no roles path."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_ROLES_PATH=str(tmp_path),
               ANSIBLE_CONFIG=str(tmp_path / "none.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False")
    env.pop("ANSIBLE_PIPELINING", None)
    return env


def recap(out):
    """ok, changed, unreachable, failed of the play recap's line for the scenario's host."""
    found = re.search(r"pyweb-default-debian\d+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    assert found, out[-3000:]
    return tuple(int(number) for number in found.groups())


@release_independent
def test_installed_collection_over_ssh_with_sudo_repairs_a_release(host, collections, ssh_login, tmp_path):
    """Every deploy step of every app over SSH (pyweb_apps_full_deploy): the release check reads
    the manifest on its stdin, and a file missing from the live release comes back as an archive
    sent over the same connection. (A run that finds nothing to change over SSH is the security
    scenario's idempotence step.)"""
    env = as_a_user(collections, tmp_path)
    app_py = "/srv/sync-api/current/app.py"
    before = host.file(app_py).content_string
    assert host.run(f"rm {app_py}").rc == 0
    inventory = ssh_inventory(tmp_path / "inventory", ssh_login, pyweb_apps_full_deploy=True)
    out = run([BIN / "ansible-playbook", "-i", inventory, "pyweb.stack.site"], env=env, cwd=tmp_path)
    ok, changed, unreachable, failed = recap(out)
    assert ok > 0 and changed >= 1 and unreachable == failed == 0, out[-6000:]
    copies = [block for block in out.split("TASK [")
              if block.startswith("pyweb.stack.app : Put the code into its release")]
    assert any("\nchanged: " in block for block in copies), out[-6000:]
    assert host.file(app_py).content_string == before and host.file(app_py).user == "root"
    assert "Note the step (build)" in out, "pyweb_apps_full_deploy did not run the deploy steps"


@release_independent
def test_firewall_that_would_lock_out_the_sudo_run_is_refused(collections, ssh_login, tmp_path):
    """Under become, sudo drops SSH_CONNECTION from the environment: the lockout guard must still
    see this run's own connection and refuse SSH sources that leave it out, before anything changes."""
    inventory = ssh_inventory(tmp_path / "inventory", ssh_login)
    narrowed = {"host_firewall_enabled": True, "host_firewall_ssh_sources": ["192.0.2.0/24"]}
    done = subprocess.run([BIN / "ansible-playbook", "-i", inventory, "-e", json.dumps(narrowed), "pyweb.stack.site"],
                          env=as_a_user(collections, tmp_path), cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out[-4000:]
    assert "the firewall would lock this run out of the host" in out, out[-4000:]
    assert "Ansible connects to port 22 from " in out, out[-4000:]
    assert "PLAY [Apply the host-wide settings]" not in out
    assert not re.search(r"^changed: ", out, re.M)
