"""Shared fixtures for the fast unit tests: no containers, no network."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Plugins are loaded by their path, with the collection's own imports resolved to this checkout.
sys.path.insert(0, str(ROOT / "scripts"))
from collection_import import load_plugin  # noqa: E402,F401 (re-exported to the tests)  pylint: disable=wrong-import-position,unused-import


ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def role_options(role: str) -> dict:
    """A role's options, as its meta/argument_specs.yml declares them."""
    return load_yaml(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def entry_options() -> dict:
    """The options of one pyweb_apps entry (the apps role's entry spec)."""
    return load_yaml(ROOT / "roles/apps/meta/argument_specs.yml")["argument_specs"]["entry"]["options"]


def app_check_problems(**keys) -> list:
    """What the preflight says of one app entry (the demo's Flask app with these keys): the entry
    mapped to both roles' variables, then both roles' checks."""
    contract = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")
    checks = load_plugin(ROOT / "plugins/filter/role_checks.py")
    app, gunicorn = role_options("app"), role_options("gunicorn")
    selected = contract.pyweb_app_role_vars([{"name": "shop", "src": str(ROOT / "examples/apps/sync_api"),
                                              "app_module": "app:app", **keys}], entry_options(), app, gunicorn)
    return checks.pyweb_app_check_problems(selected, app, gunicorn, str(ROOT / "templates"))


def role_template_vars(role: str) -> dict:
    """A role's defaults and vars, their strings marked as templates as Ansible does for a role's
    own files, for rendering its templates with Ansible's own templating."""
    from ansible.template import trust_as_template

    def trusted(value):
        if isinstance(value, str):
            return trust_as_template(value)
        if isinstance(value, dict):
            return {key: trusted(item) for key, item in value.items()}
        if isinstance(value, list):
            return [trusted(item) for item in value]
        return value

    role_dir = ROOT / "roles" / role
    return {**trusted(load_yaml(role_dir / "defaults" / "main.yml")),
            **trusted(load_yaml(role_dir / "vars" / "main.yml"))}


def gunicorn_templated(expression: str, **overrides):
    """An expression of the gunicorn role's variables for an app "shop" in /srv/shop, rendered by
    Ansible's templating (overrides: other variables and facts, such as __gunicorn_release)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    variables = {**role_template_vars("gunicorn"), "gunicorn_name": "shop", "gunicorn_app_dir": "/srv/shop",
                 **overrides}
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def render_template(path: Path, variables: dict) -> str:
    """One template file rendered by Ansible's templating with these variables."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(path.read_text()))


@pytest.fixture(scope="session")
def collections(tmp_path_factory):
    """A collections path in which pyweb.stack is this checkout."""
    path = tmp_path_factory.mktemp("collections")
    (path / "ansible_collections" / "pyweb").mkdir(parents=True)
    (path / "ansible_collections" / "pyweb" / "stack").symlink_to(ROOT)
    return path


def play_task(collections, folder: Path, module: str, args: dict, *options, expect_ok=True):
    """One task of this collection run by ansible-playbook against this machine (connection local,
    this interpreter, no ansible.cfg): its registered result and the run's output."""
    playbook = folder / "play.yml"
    out = folder / "result.json"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [
            {"name": "Run", module: args, "register": "ran", "ignore_errors": not expect_ok},
            {"name": "Keep the result", "ansible.builtin.copy": {
                "content": "{{ ran | to_json }}", "dest": str(out), "mode": "0600"},
             "check_mode": False, "diff": False},
        ]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(folder / "none.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    done = subprocess.run([Path(sys.executable).parent / "ansible-playbook", "-i", "localhost,", "-e",
                           f"ansible_python_interpreter={sys.executable}", *options, playbook], env=env,
                          cwd=folder, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return json.loads(out.read_text()), done.stdout
