"""The Galaxy artifact deploys the same stack: build the collection, install it into an empty
collections path, and run its own playbooks by their fully qualified names against this host.
The host already runs the stack from this checkout, so the installed copy must change nothing."""

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
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
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


@release_independent
@pytest.mark.parametrize("playbook", ["pyweb.stack.apps", "pyweb.stack.proxy"])
def test_installed_collection_playbook_finds_nothing_to_change(collections, tmp_path, playbook):
    # Nothing from this checkout on the paths: no ansible.cfg, no roles_path.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_ROLES_PATH=str(tmp_path),
               ANSIBLE_CONFIG=str(tmp_path / "none.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="True")
    out = run([BIN / "ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], playbook], env=env,
              cwd=tmp_path)
    recap = re.search(r"pyweb-default-debian\d+\s*:\s*ok=(\d+)\s+changed=(\d+)", out)
    assert recap, out[-3000:]
    assert int(recap.group(1)) > 0
    assert recap.group(2) == "0", out[-6000:]
