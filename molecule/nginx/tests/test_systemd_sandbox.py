"""The role's systemd sandbox for Nginx (nginx_systemd_hardening): turned off, the drop-in is
removed and Nginx runs as Debian's unit has it; turned on again, the drop-in is back. Each switch
restarts Nginx once, moves the pid file with the unit, and Nginx serves after it.

The security scenario measures the sandboxed unit (exposure, capabilities, file system, reloads
under load); this file only proves the way in and out, on this scenario's own sites.
"""

import re

from conftest import converge

DROPIN = "/etc/systemd/system/nginx.service.d/pyweb-hardening.conf"
RESTART = "RUNNING HANDLER [pyweb.stack.nginx : Restart nginx into its changed systemd unit]"


def exposure(host):
    out = host.check_output("systemd-analyze security --no-pager nginx.service")
    return float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out)[1])


def state(host):
    """Where the unit and nginx.conf put the pid file, whose process it names, and systemd's MainPID."""
    unit = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show nginx --property=PIDFile --property=MainPID --property=DropInPaths").splitlines())
    conf_pid = re.search(r"^pid (\S+);", host.file("/etc/nginx/nginx.conf").content_string, re.M)[1]
    return {"dropin": DROPIN in unit["DropInPaths"].split(), "pid_file": unit["PIDFile"], "conf_pid": conf_pid,
            "pid_in_file": host.file(unit["PIDFile"]).content_string.strip(), "main_pid": unit["MainPID"]}


def serves(curl):
    status, _unused, body = curl.get("https://localhost/sync-api/hello")
    return status == 200 and '"app": "sync-api"' in body


def test_sandbox_off_removes_the_drop_in_and_on_puts_it_back(host, curl):
    sandboxed = exposure(host)
    try:
        output = converge({"nginx_systemd_hardening": False})
        assert RESTART in output
        off = state(host)
        plain = exposure(host)
        assert not host.file(DROPIN).exists
        assert off == {**off, "dropin": False, "pid_file": "/run/nginx.pid", "conf_pid": "/run/nginx.pid",
                       "pid_in_file": off["main_pid"]}
        assert serves(curl)
    finally:
        output = converge({})
    assert RESTART in output
    on = state(host)
    assert host.file(DROPIN).exists
    assert on == {**on, "dropin": True, "pid_file": "/run/nginx/nginx.pid", "conf_pid": "/run/nginx/nginx.pid",
                  "pid_in_file": on["main_pid"]}
    assert serves(curl)
    print(f"nginx.service exposure: {plain} without the sandbox, {exposure(host)} with it (before: {sandboxed})")
    assert exposure(host) <= 3.0 < plain
