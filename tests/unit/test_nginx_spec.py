"""The nginx role's argument spec, defaults and internal nested defaults agree."""

from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nginx"


def load(relative):
    return yaml.safe_load((ROLE / relative).read_text())


SPEC = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
DEFAULTS = load("defaults/main.yml")
VARS = load("vars/main.yml")


def test_every_default_is_in_the_spec_and_back():
    assert set(DEFAULTS) == set(SPEC)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_spec_default_matches_defaults_file(name):
    assert SPEC[name]["default"] == DEFAULTS[name]
    assert SPEC[name]["description"]
    assert name.startswith("nginx_")


def nested_defaults(options):
    return {key: value["default"] for key, value in options.items() if "default" in value}


SITE = SPEC["nginx_sites"]["options"]
ROUTE = SITE["routes"]["options"]
NESTED = {
    "__nginx_upstream_defaults": SPEC["nginx_upstreams"]["options"],
    "__nginx_server_defaults": SPEC["nginx_upstreams"]["options"]["servers"]["options"],
    "__nginx_zone_defaults": SPEC["nginx_limit_req_zones"]["options"],
    "__nginx_site_defaults": SITE,
    "__nginx_tls_defaults": SITE["tls"]["options"],
    "__nginx_route_defaults": ROUTE,
    "__nginx_rate_limit_defaults": ROUTE["rate_limit"]["options"],
    "__nginx_static_defaults": SITE["static"]["options"],
}


@pytest.mark.parametrize("internal", sorted(NESTED))
def test_nested_defaults_match_the_spec(internal):
    # Dicts without a spec default (tls, rate_limit) fall back to {} inside the role.
    from_vars = {key: value for key, value in VARS[internal].items() if value != {}}
    assert nested_defaults(NESTED[internal]) == from_vars


def test_every_nested_option_is_described():
    def walk(options, where):
        for key, value in options.items():
            assert value.get("description"), f"{where}.{key}"
            assert "type" in value, f"{where}.{key}"
            walk(value.get("options", {}), f"{where}.{key}")

    walk(SPEC, "main")


def test_relative_snippet_paths_start_at_the_top_level_templates_folder():
    # nginx_templates_dir left empty falls back to the folder two levels above the role.
    assert "role_path ~ '/../../templates'" in (ROLE / "vars" / "main.yml").read_text()
    assert (ROLE.parent.parent / "templates" / "README.md").is_file()
    assert SPEC["nginx_templates_dir"]["default"] == ""
