"""The role's systemd sandbox for Nginx (nginx_systemd_hardening): turned off, the drop-in is
removed and Nginx runs as Debian's unit has it; turned on again, the drop-in is back. Each switch
restarts Nginx once, moves the pid file with the unit, and Nginx serves after it.

The security scenario measures the sandboxed unit (exposure, capabilities, file system, reloads
under load); this file only proves the way in and out, on this scenario's own sites.
"""

import re

from conftest import SNAPSHOT, WORKERS, converge

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


def test_a_path_the_sandbox_makes_read_only_fails_the_test_not_the_reload(host, curl, tmp_path):
    """A log under /srv, which the sandboxed master cannot open (ProtectSystem=strict), though
    `nginx -t` outside the sandbox can. Added to the configuration, the run refuses it as it
    refuses any other that fails its test, before Nginx reloads into it. Made writable
    (nginx_systemd_read_write_paths), it goes live; made read-only again by a change to the
    sandbox alone, with the configuration as it is, the new drop-in is refused before the restart
    into it, and Nginx keeps serving under the old one."""
    snippet = tmp_path / "log-outside-the-sandbox.conf.j2"
    snippet.write_text("{{ ansible_managed | comment }}\naccess_log /srv/pyweb-test-logs/acme.log;\n")
    logging = {"__nginx_acme_route_snippet": str(snippet)}
    read_only = re.compile(r'open\(\) \\?"/srv/pyweb-test-logs/acme\.log\\?" failed \(30: Read-only file system\)')
    host.check_output("install -d -m 0755 /srv/pyweb-test-logs")
    files_before = host.run(SNAPSHOT).stdout
    workers_before = host.run(WORKERS).stdout
    try:
        output = converge(logging, expect_success=False)
        assert "The new Nginx configuration failed its test" in output, output[-3000:]
        assert read_only.search(output), output[-3000:]
        assert host.run(SNAPSHOT).stdout == files_before
        assert host.run(WORKERS).stdout == workers_before
        assert serves(curl)

        converge({**logging, "nginx_systemd_read_write_paths": ["/srv/pyweb-test-logs"]})
        dropin = host.file(DROPIN).content_string
        assert "ReadWritePaths=-/srv/pyweb-test-logs" in dropin
        assert serves(curl)
        workers_writable = host.run(WORKERS).stdout

        output = converge(logging, expect_success=False)
        assert DROPIN in output and read_only.search(output), output[-3000:]
        assert RESTART not in output
        assert host.file(DROPIN).content_string == dropin
        assert host.run(WORKERS).stdout == workers_writable
        assert serves(curl)
    finally:
        converge({})
        host.check_output("rm -rf /srv/pyweb-test-logs")


def test_a_master_left_outside_its_sandbox_is_restarted_into_it(host, curl):
    """A run that stopped after it wrote the sandboxed unit and nginx.conf but before its handler
    restarted Nginx leaves the old master keeping its pid in /run/nginx.pid, where nothing looks
    for it any more. The next run restarts Nginx into its unit."""
    dropin, conf = host.file(DROPIN).content_string, host.file("/etc/nginx/nginx.conf").content_string
    # That state: Nginx as Debian's unit started it, then the sandbox's files back without a restart.
    host.check_output(f"cp {DROPIN} /root/pyweb-dropin && cp /etc/nginx/nginx.conf /root/pyweb-nginx.conf")
    host.check_output(f"rm {DROPIN} && sed -i 's|^pid /run/nginx/nginx.pid;|pid /run/nginx.pid;|' "
                      "/etc/nginx/nginx.conf && systemctl daemon-reload && systemctl restart nginx")
    host.check_output(f"mv /root/pyweb-dropin {DROPIN} && mv /root/pyweb-nginx.conf /etc/nginx/nginx.conf"
                      " && systemctl daemon-reload")
    assert host.file(DROPIN).content_string == dropin and host.file("/etc/nginx/nginx.conf").content_string == conf
    pid_file = host.check_output("systemctl show --property PIDFile --value nginx")
    assert pid_file == "/run/nginx/nginx.pid" and not host.file(pid_file).exists
    assert host.file("/run/nginx.pid").exists
    assert host.run("systemctl reload nginx").rc != 0, "the stale state: a reload cannot find the master"

    output = converge({})

    assert RESTART in output
    on = state(host)
    assert on == {**on, "dropin": True, "pid_file": "/run/nginx/nginx.pid", "conf_pid": "/run/nginx/nginx.pid",
                  "pid_in_file": on["main_pid"]}
    assert host.run("systemctl reload nginx").rc == 0
    assert serves(curl)
