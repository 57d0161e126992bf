"""Every role keeps its three descriptions of itself in agreement: defaults, argument spec and
README. A variable documented with one default and shipped with another is a bug users find in
production, so these tests fail on any drift."""

import subprocess
import sys

import pytest

from conftest import ROLES, ROOT, load_yaml


def spec_options(role):
    return load_yaml(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def defaults(role):
    return load_yaml(ROOT / "roles" / role / "defaults" / "main.yml") or {}


def test_there_are_roles():
    assert {"app", "gunicorn", "nginx"} <= set(ROLES), f"roles with an argument spec: {ROLES}"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_in_the_spec_with_the_same_value(role):
    options = spec_options(role)
    for name, value in defaults(role).items():
        assert name in options, f"{role}: {name} is in defaults/main.yml but not in meta/argument_specs.yml"
        assert options[name].get("default") == value, f"{role}: {name} default differs between defaults and spec"


@pytest.mark.parametrize("role", ROLES)
def test_every_optional_spec_variable_has_a_default(role):
    shipped = defaults(role)
    for name, option in spec_options(role).items():
        if not option.get("required"):
            assert name in shipped, f"{role}: optional variable {name} has no value in defaults/main.yml"


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_role_prefix(role):
    for name in spec_options(role):
        assert name.startswith(f"{role}_"), f"{role}: variable {name} lacks the '{role}_' prefix"


@pytest.mark.parametrize("role", ROLES)
def test_every_spec_variable_is_described(role):
    def walk(options, path=""):
        for name, option in options.items():
            assert option.get("description"), f"{role}: {path}{name} has no description"
            assert option.get("type"), f"{role}: {path}{name} has no type"
            walk(option.get("options") or {}, f"{path}{name}.")

    walk(spec_options(role))


@pytest.mark.parametrize("role", ROLES)
def test_role_is_a_valid_standalone_galaxy_role(role):
    meta = load_yaml(ROOT / "roles" / role / "meta" / "main.yml")
    info = meta["galaxy_info"]
    for key in ("role_name", "author", "description", "license", "min_ansible_version", "platforms"):
        assert info.get(key), f"{role}: galaxy_info.{key} missing"
    assert {"name": "Debian", "versions": ["bookworm"]} in info["platforms"]
    # Roles compose through playbooks, never through meta dependencies.
    assert not meta.get("dependencies")


def test_readme_variable_tables_match_the_specs():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "role_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
