"""The nginx role's server blocks, rendered by Ansible's own templating with the role's defaults
and vars: the http2 syntax follows the installed version."""

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nginx"
SITES = ROLE / "templates" / "etc" / "nginx" / "sites-available"


def trusted(value):
    """Mark strings as templates, as Ansible does for a role's own vars files."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


ROLE_VARS = {
    **trusted(yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())),
    **trusted(yaml.safe_load((ROLE / "vars" / "main.yml").read_text())),
}

PLAIN_TLS = {"name": "tls", "server_names": ["tls.test"], "tls": {"enabled": True}}


def render(template, sites, site=None, version="1.26.3", known=True, ipv6=True, default_server=True):
    variables = {
        **ROLE_VARS,
        "ansible_managed": "Ansible managed",
        "ansible_check_mode": False,
        "ansible_facts": {"all_ipv6_addresses": ["2001:db8::1"] if ipv6 else []},
        "role_path": str(ROLE),
        "__nginx_build": {"known": known, "version": version if known else "", "modules": []},
        "nginx_default_server": default_server,
        "nginx_sites": sites,
        "nginx_item": site,
    }
    source = (SITES / template).read_text()
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(source))


def listens(conf):
    return [line.strip() for line in conf.splitlines() if line.strip().startswith("listen ")]


@pytest.mark.parametrize(("version", "directive"), [("1.22.1", False), ("1.25.0", False), ("1.25.1", True),
                                                    ("1.26.3", True), ("1.27.10", True)])
def test_http2_follows_the_installed_version(version, directive):
    conf = render("site.conf.j2", [PLAIN_TLS], PLAIN_TLS, version=version)
    default = render("000-pyweb-default.conf.j2", [PLAIN_TLS], version=version)
    if directive:
        assert "    http2 on;" in conf
        assert not [line for line in listens(conf) + listens(default) if "http2" in line]
    else:
        assert "http2 on;" not in conf
        assert "listen 443 ssl http2;" in listens(conf)
        assert "listen 443 ssl http2 default_server;" in listens(default)


def test_an_unknown_version_is_planned_with_the_flag_every_version_accepts():
    conf = render("site.conf.j2", [PLAIN_TLS], PLAIN_TLS, known=False)
    assert "listen 443 ssl http2;" in listens(conf)
    assert "http2 on;" not in conf


def test_http2_off_leaves_both_forms_out():
    site = {**PLAIN_TLS, "http2": False}
    for version in ("1.22.1", "1.26.3"):
        conf = render("site.conf.j2", [site], site, version=version)
        assert "http2" not in conf
