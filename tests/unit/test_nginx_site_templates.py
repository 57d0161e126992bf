"""The nginx role's server blocks, rendered by Ansible's own templating with the role's defaults
and vars: the http2 syntax follows the installed version, HTTP/3 sites get their QUIC listeners,
Alt-Svc and exactly one reuseport per address."""

import re
from pathlib import Path

import pytest
import yaml
from conftest import render_template, role_template_vars

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nginx"
SITES = ROLE / "templates" / "etc" / "nginx" / "sites-available"


ROLE_VARS = role_template_vars("nginx")

H3 = {"name": "h3", "server_names": ["h3.test"], "http3": True, "tls": {"enabled": True},
      "static": [{"path": "/static/", "root": "/srv/static/"}]}
H3_TOO = {"name": "h3too", "server_names": ["h3too.test"], "http3": True, "tls": {"enabled": True}}
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
    return render_template(SITES / template, variables)


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


def test_http3_site_listens_on_quic_and_announces_it():
    conf = render("site.conf.j2", [H3], H3)
    assert {"listen 443 quic;", "listen [::]:443 quic;", "listen 443 ssl;"} <= set(listens(conf))
    assert "    http3 on;" in conf
    # Once for the server, once more in the static location that adds headers of its own.
    assert conf.count("add_header Alt-Svc 'h3=\":443\"; ma=86400' always;") == 2


def test_sites_without_http3_have_no_quic():
    conf = render("site.conf.j2", [H3, PLAIN_TLS], PLAIN_TLS)
    assert "quic" not in conf and "http3" not in conf and "Alt-Svc" not in conf


def test_without_ipv6_quic_listens_on_ipv4_only():
    conf = render("site.conf.j2", [H3], H3, ipv6=False)
    assert [line for line in listens(conf) if "quic" in line] == ["listen 443 quic;"]


@pytest.mark.parametrize("default_server", [True, False])
def test_reuseport_is_given_once_per_address(default_server):
    sites = [PLAIN_TLS, H3, H3_TOO]
    confs = [render("site.conf.j2", sites, site, default_server=default_server) for site in sites]
    if default_server:
        confs.append(render("000-pyweb-default.conf.j2", sites))
    lines = [line for conf in confs for line in listens(conf)]
    quic_addresses = {line.split()[1] for line in lines if " quic" in line}
    reuseport = [line.split()[1] for line in lines if "reuseport" in line]
    assert quic_addresses == {"443", "[::]:443"}
    assert sorted(reuseport) == sorted(quic_addresses)


def test_default_server_has_no_quic_without_http3_sites():
    assert "quic" not in render("000-pyweb-default.conf.j2", [PLAIN_TLS])


def test_every_tls_profile_offers_tls13():
    # QUIC only runs TLS 1.3: with a profile without it, assert.yml would have to refuse http3.
    for name, profile in yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["__nginx_tls_profiles"].items():
        assert "TLSv1.3" in re.split(r"\s+", profile["protocols"]), name
