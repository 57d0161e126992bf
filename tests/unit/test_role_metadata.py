"""Every role keeps its three descriptions of itself in agreement: defaults, argument spec and
README. A variable documented with one default and shipped with another is a bug users find in
production, so these tests fail on any drift."""

import re
import subprocess
import sys

import pytest

from conftest import ROLES, ROOT, load_yaml


def spec_options(role):
    return load_yaml(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def defaults(role):
    return load_yaml(ROOT / "roles" / role / "defaults" / "main.yml") or {}


# The apps role's variables are the stack's own interface (pyweb_apps, pyweb_mode, ...), named as
# every inventory has always written them.
PREFIXES = {"apps": "pyweb_"}


def test_there_are_roles():
    assert {"app", "apps", "gunicorn", "host", "nginx"} <= set(ROLES), f"roles with an argument spec: {ROLES}"


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
        if role in PREFIXES:
            continue  # test_stack_variables_take_their_spec_defaults
        if not option.get("required"):
            assert name in shipped, f"{role}: optional variable {name} has no value in defaults/main.yml"


def test_stack_variables_take_their_spec_defaults():
    """The apps role reads pyweb_* variables; ansible-lint lets a role define only its own prefix, so
    vars/main.yml applies the spec's defaults with default()."""
    text = (ROOT / "roles" / "apps" / "vars" / "main.yml").read_text()
    for name, option in spec_options("apps").items():
        if name == "pyweb_apps":
            continue  # merged with the pyweb_apps__<suffix> lists, found by name
        if "default" not in option:
            continue  # read by the playbooks (pyweb_proxy_app_hosts), whose default is not a literal
        default = option["default"]
        literal = "'production'" if default == "production" else str(default).lower()
        assert f"{name} | default({literal})" in text, f"apps: vars/main.yml does not default {name} to {default!r}"


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_role_prefix(role):
    prefix = PREFIXES.get(role, f"{role}_")
    for name in spec_options(role):
        assert name.startswith(prefix), f"{role}: variable {name} lacks the '{prefix}' prefix"


@pytest.mark.parametrize("role", ROLES)
def test_every_spec_variable_is_described(role):
    def walk(options, path=""):
        for name, option in options.items():
            assert option.get("description"), f"{role}: {path}{name} has no description"
            assert option.get("type"), f"{role}: {path}{name} has no type"
            walk(option.get("options") or {}, f"{path}{name}.")

    walk(spec_options(role))


CODENAMES = {"12": "bookworm", "13": "trixie"}
# Preflight refuses what it does not list (playbooks/preflight.yml); the roles' metadata says the same.
PREFLIGHT_PLATFORMS = load_yaml(ROOT / "playbooks" / "preflight.yml")[0]["vars"]["__pyweb_tested_platforms"]
TESTED_PLATFORMS = [{"name": name, "versions": [CODENAMES[release] for release in releases]}
                    for name, releases in PREFLIGHT_PLATFORMS.items()]
# The whole suite runs on the newest ansible-core (requirements.txt); lint, the unit tests and one
# Molecule scenario on the oldest one claimed (tests/requirements-oldest.txt).
NEWEST_ANSIBLE_CORE, OLDEST_ANSIBLE_CORE = (
    re.search(r"^ansible-core==(\S+)$", (ROOT / path).read_text(), re.M).group(1)
    for path in ("requirements.txt", "tests/requirements-oldest.txt"))


def series(version):
    return ".".join(version.split(".")[:2])


def test_the_claimed_ansible_core_minimum_is_the_oldest_tested_series():
    claimed = load_yaml(ROOT / "meta" / "runtime.yml")["requires_ansible"]
    assert claimed == ">=" + series(OLDEST_ANSIBLE_CORE) + ".0"
    assert tuple(map(int, series(NEWEST_ANSIBLE_CORE).split("."))) > tuple(map(int, series(OLDEST_ANSIBLE_CORE).split(".")))


def test_the_oldest_requirements_differ_from_the_newest_only_in_ansible():
    def pins(path):
        return {line for line in (ROOT / path).read_text().splitlines()
                if line and not line.startswith("#") and not line.startswith("ansible==")
                and not line.startswith("ansible-core==")}

    assert pins("tests/requirements-oldest.txt") == pins("requirements.txt")


@pytest.mark.parametrize("role", ROLES)
def test_role_metadata_names_the_tested_platforms_and_ansible_core(role):
    # The roles ship in the collection only (the README says so); their metadata still names what
    # they are tested on, which ansible-doc and Galaxy show.
    meta = load_yaml(ROOT / "roles" / role / "meta" / "main.yml")
    info = meta["galaxy_info"]
    for key in ("role_name", "author", "description", "license", "min_ansible_version", "platforms"):
        assert info.get(key), f"{role}: galaxy_info.{key} missing"
    assert info["platforms"] == TESTED_PLATFORMS
    assert info["min_ansible_version"] == series(OLDEST_ANSIBLE_CORE)
    # Roles compose through playbooks, never through meta dependencies.
    assert not meta.get("dependencies")


def test_readme_variable_tables_match_the_specs():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "role_docs.py"), "--check"], capture_output=True, check=False, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
