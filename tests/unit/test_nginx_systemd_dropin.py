"""The nginx role's systemd sandbox (templates/etc/systemd/system/nginx.service.d/), rendered by
Ansible's own templating with the role's defaults and vars: what Nginx may write follows its log
settings and nginx_systemd_read_write_paths, home folders open (read-only) only for something Nginx
serves from there, and the unit and nginx.conf name the same pid file."""

import re
from pathlib import Path

import pytest
from conftest import ROOT, load_plugin, render_template, role_template_vars

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nginx"
TEMPLATES = ROLE / "templates" / "etc"


ROLE_VARS = role_template_vars("nginx")
files = load_plugin(ROOT / "plugins/filter/nginx_files.py")


def render(template, **overrides):
    variables = {**ROLE_VARS, "ansible_managed": "Ansible managed", "role_path": str(ROLE), **overrides}
    return render_template(TEMPLATES / template, variables)


def dropin(**overrides):
    return render("systemd/system/nginx.service.d/pyweb-hardening.conf.j2", **overrides)


def settings(conf, name):
    return [line.split("=", 1)[1] for line in conf.splitlines() if line.startswith(f"{name}=")]


def test_defaults_write_only_debians_log_and_temp_folders():
    conf = dropin()
    assert settings(conf, "ReadWritePaths") == ["-/var/log/nginx", "-/var/lib/nginx"]
    assert settings(conf, "ProtectSystem") == ["strict"]
    assert settings(conf, "ReadOnlyPaths") == ["/run"]
    assert settings(conf, "ProtectHome") == ["yes"]
    assert settings(conf, "NoNewPrivileges") == ["yes"]
    assert settings(conf, "MemoryDenyWriteExecute") == ["yes"]
    assert set(settings(conf, "CapabilityBoundingSet")[0].split()) == {
        "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE", "CAP_CHOWN"}
    assert set(settings(conf, "RestrictAddressFamilies")[0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}


def test_log_folders_elsewhere_are_writable_once_and_other_log_targets_add_nothing():
    conf = dropin(nginx_access_log="/srv/logs/nginx/access.log", nginx_error_log="/srv/logs/nginx/error.log")
    assert settings(conf, "ReadWritePaths") == ["-/var/log/nginx", "-/var/lib/nginx", "-/srv/logs/nginx"]
    for access_log, error_log in [("off", "stderr"), ("syslog:server=unix:/dev/log", "syslog:server=127.0.0.1")]:
        conf = dropin(nginx_access_log=access_log, nginx_error_log=error_log)
        assert settings(conf, "ReadWritePaths") == ["-/var/log/nginx", "-/var/lib/nginx"]


def test_extra_paths_follow_once_each():
    conf = dropin(nginx_systemd_read_write_paths=["/var/cache/nginx/", "/var/cache/nginx", "/var/log/nginx/",
                                                  "/srv/uploads"])
    assert settings(conf, "ReadWritePaths") == [
        "-/var/log/nginx", "-/var/lib/nginx", "-/var/cache/nginx", "-/srv/uploads"]


@pytest.mark.parametrize("overrides", [
    {"nginx_sites": [{"name": "home", "server_names": ["h.test"], "static": [{"path": "/s/", "root": "/home/web/s/"}]}]},
    {"nginx_systemd_read_write_paths": ["/home/web/cache"]},
    {"nginx_tls_dir": "/root/tls"},
    {"nginx_access_log": "/home/web/logs/access.log"},
], ids=["static root", "writable path", "certificate folder", "log"])
def test_home_folders_are_read_only_rather_than_hidden_when_nginx_uses_them(overrides):
    assert settings(dropin(**overrides), "ProtectHome") == ["read-only"]


def test_static_roots_outside_home_folders_keep_them_hidden():
    site = {"name": "srv", "server_names": ["s.test"], "static": [{"path": "/s/", "root": "/srv/web/s/"}]}
    assert settings(dropin(nginx_sites=[site, {"name": "plain", "server_names": ["p.test"]}]), "ProtectHome") == ["yes"]


@pytest.mark.parametrize(("hardening", "pid_file"), [(True, "/run/nginx/nginx.pid"), (False, "/run/nginx.pid")])
def test_unit_and_nginx_conf_name_the_same_pid_file(hardening, pid_file):
    assert ROLE_VARS["__nginx_pid_file"]
    nginx_conf = render("nginx/nginx.conf.j2", nginx_systemd_hardening=hardening)
    assert re.search(r"^pid (\S+);$", nginx_conf, re.M)[1] == pid_file
    if hardening:
        conf = dropin()
        assert settings(conf, "PIDFile") == [pid_file]
        assert settings(conf, "ExecStop")[-1].endswith(f"--pidfile {pid_file}")
        assert settings(conf, "RuntimeDirectory") == [pid_file.split("/")[2]]


def test_the_configuration_is_tested_in_the_drop_ins_sandbox():
    """Every setting of the drop-in that makes the sandbox goes to the transient unit of `nginx -t`
    (plugins/filter/nginx_files.py); those about the running daemon do not."""
    conf = dropin(nginx_systemd_read_write_paths=["/srv/uploads"])
    properties = files.nginx_sandbox_properties(conf)
    assert "ProtectSystem=strict" in properties and "ReadOnlyPaths=/run" in properties
    assert "ReadWritePaths=-/srv/uploads" in properties
    assert "InaccessiblePaths=-/run/dbus/system_bus_socket -/run/systemd/private" in properties
    names = [prop.split("=", 1)[0] for prop in properties]
    assert not {"PIDFile", "ExecStop", "RuntimeDirectory", "RuntimeDirectoryPreserve"} & set(names)
    # `nginx -t` opens the pid file for writing: its folder, the service's RuntimeDirectory=.
    assert "ReadWritePaths=-/run/nginx" in properties
    settings_in_dropin = [line for line in conf.splitlines() if re.match(r"^[A-Za-z]+=", line)]
    assert len(properties) == len(settings_in_dropin) - 4  # PIDFile, two ExecStop, RuntimeDirectoryPreserve
