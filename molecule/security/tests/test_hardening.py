"""Hardening of the deployed stack: systemd exposure of each app unit and of Nginx's (the nginx
role's sandbox, with Nginx still serving, logging and reloading under load inside it), modes of
private keys and secret files, release code the app user cannot change, and secrets that stay out
of the journal, the Nginx logs and the output of a verbose play.

molecule/apps checks single files of one release (app.py, venv/bin/python); here every file and
directory of every release is checked, and the play-output check deploys a secret never seen before.
"""

import json
import re
import secrets
import time

import pytest
import yaml
from pyweb_load import Load
from pyweb_testlib import ROOT, run_playbook, wait_for

from conftest import SERVER_NAME, record

APPS = ["sync-api", "async-api"]
DEMO_APPS = yaml.safe_load((ROOT / "inventory/demo/group_vars/all/apps.yml").read_text())["pyweb_apps"]
DEMO_SECRETS = sorted({value for app in DEMO_APPS for value in app.get("secrets", {}).values()})


def exposure(host, unit):
    """The overall exposure level `systemd-analyze security` gives a unit (recorded and printed),
    with the full table for a failure message."""
    out = host.check_output("systemd-analyze security --no-pager %s", unit)
    score = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out)[1])
    record("exposure", unit, score)
    print(f"{unit}: overall exposure level {score}")
    return score, out


@pytest.mark.parametrize("app", APPS)
def test_unit_exposure_is_at_most_two(host, app):
    score, out = exposure(host, f"{app}.service")
    assert score <= 2.0, out.splitlines()[-1]


def assert_sandbox_writes(host, pid, writable, read_only):
    """Write a probe file in each folder from the mount namespace of process `pid`, as full root (a
    read-only mount refuses even that), and remove it: the writable folders take it, the read-only
    ones refuse it."""
    def touch(folder):
        probe = f"{folder}/.pyweb-sandbox-probe"
        result = host.run("nsenter --target %s --mount -- touch %s", str(pid), probe)
        host.run("rm -f %s", probe)
        return result

    for folder in writable:
        result = touch(folder)
        assert result.rc == 0, f"{folder}: {result.stderr}"
    for folder in read_only:
        result = touch(folder)
        assert result.rc != 0 and "Read-only file system" in result.stderr, f"{folder}: {result.rc} {result.stderr}"


@pytest.mark.parametrize("app", APPS)
def test_app_sees_a_read_only_run_but_its_data_and_metrics_folders(host, app):
    """ProtectSystem=strict alone left /run writable in these containers; the unit says
    ReadOnlyPaths=/run, and the folders the app writes stay writable: its data directory and its
    metrics directory, a RuntimeDirectory= under /run."""
    pid = int(host.check_output("systemctl show --property MainPID --value %s.service", app))
    assert pid > 0, f"{app}.service has no main process"
    assert host.check_output("systemctl show --property ReadOnlyPaths --value %s.service", app) == "/run"
    writable = [f"/srv/{app}/shared", f"/run/{app}-metrics"]
    read_only = ["/run", "/run/gunicorn", "/run/systemd", "/etc", "/usr/local", f"/srv/{app}/current/"]
    assert_sandbox_writes(host, pid, writable, read_only)
    record("app sandbox", app, {"writable": writable, "read-only": read_only})


# ---- Nginx's systemd sandbox (roles/nginx, nginx_systemd_hardening) -----------------------------
# Debian's nginx.service rates 9.6; the role's drop-in brings it down while Nginx keeps serving,
# logging and reloading. The master stays root (it binds 80 and 443), the workers www-data.

NGINX_DROPIN = "/etc/systemd/system/nginx.service.d/pyweb-hardening.conf"
# What the master keeps (capabilities(7) numbers): chown 0, dac_override 1, setgid 6, setuid 7,
# net_bind_service 10.
NGINX_CAPABILITIES = {"cap_chown": 0, "cap_dac_override": 1, "cap_setgid": 6, "cap_setuid": 7,
                      "cap_net_bind_service": 10}
NGINX_SANDBOX = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "AmbientCapabilities": "",
    "UMask": "0077",
    "PIDFile": "/run/nginx/nginx.pid",
}


def nginx_processes(host):
    """The master's pid (systemd's MainPID) and its workers' pids."""
    master = int(host.check_output("systemctl show --property MainPID --value nginx"))
    assert master > 0, "nginx.service has no main process"
    return master, sorted(int(pid) for pid in host.check_output("pgrep -P %s", str(master)).split())


def proc_status(host, pid):
    return dict(line.split(":", 1) for line in host.check_output("cat /proc/%s/status", str(pid)).splitlines())


def test_nginx_unit_exposure_is_at_most_three(host):
    score, out = exposure(host, "nginx.service")
    assert score <= 3.0, out


def test_nginx_unit_carries_the_sandbox(host):
    names = [*NGINX_SANDBOX, "DropInPaths", "CapabilityBoundingSet", "RestrictAddressFamilies", "ReadWritePaths"]
    out = host.check_output("systemctl show nginx " + " ".join(f"--property={name}" for name in names))
    unit = dict(line.split("=", 1) for line in out.splitlines())
    assert NGINX_DROPIN in unit["DropInPaths"].split()
    assert {name: unit[name] for name in NGINX_SANDBOX} == NGINX_SANDBOX
    assert set(unit["CapabilityBoundingSet"].split()) == set(NGINX_CAPABILITIES)
    assert set(unit["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    # The demo logs to Debian's folder: nothing else is writable.
    assert set(unit["ReadWritePaths"].split()) == {"-/var/log/nginx", "-/var/lib/nginx"}
    record("nginx sandbox", "capability bounding set", sorted(unit["CapabilityBoundingSet"].split()))


def test_nginx_master_is_root_and_workers_are_www_data_inside_the_sandbox(host):
    # The running processes, not only the unit file: a master started before the drop-in would
    # still have every capability and no filter.
    master, workers = nginx_processes(host)
    assert workers
    www_data = host.check_output("id -u www-data")
    mask = sum(1 << bit for bit in NGINX_CAPABILITIES.values())
    status = proc_status(host, master)
    assert status["Uid"].split()[0] == "0"
    assert int(status["CapBnd"], 16) == mask, status["CapBnd"]
    assert int(status["CapEff"], 16) == mask, status["CapEff"]
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2"  # a system call filter is in force
    for worker in workers:
        status = proc_status(host, worker)
        assert status["Uid"].split() == [www_data] * 4, worker
        assert int(status["CapEff"], 16) == 0, worker
        assert status["Seccomp"].strip() == "2"
    # Its own mount namespace: the read-only view below.
    assert host.check_output("readlink /proc/%s/ns/mnt", str(master)) != host.check_output("readlink /proc/1/ns/mnt")
    record("nginx sandbox", "processes", {"master": "root", "workers": f"www-data x{len(workers)}",
                                          "master CapBnd": f"{mask:#x}", "worker CapEff": "0x0"})


def test_nginx_sees_a_read_only_system_but_its_logs_temp_folders_and_pid(host):
    """A probe file in each folder of the master's mount namespace; home folders are empty there."""
    master, _unused = nginx_processes(host)
    writable = ["/var/log/nginx", "/var/lib/nginx", "/run/nginx"]
    read_only = ["/etc/nginx", "/etc/nginx/tls", "/srv/sync-api", "/run", "/run/gunicorn", "/usr/local", "/var/cache"]
    assert_sandbox_writes(host, master, writable, read_only)
    host.run("touch /root/.pyweb-home-probe")
    try:
        assert host.run("nsenter --target %s --mount -- test -e /root/.pyweb-home-probe", str(master)).rc != 0
    finally:
        host.run("rm -f /root/.pyweb-home-probe")
    record("nginx sandbox", "file system", {"writable": writable, "read-only": read_only, "hidden": ["/root", "/home"]})


def test_nginx_still_writes_its_access_and_error_logs(host, request_site):
    token = f"pyweb-log-probe-{secrets.token_hex(6)}"
    # The access log carries a plain X-Request-ID as the request id; a missing static file is an
    # error log line naming the path.
    status, _unused, _unused = request_site("GET", "/sync-api/hello", headers={"X-Request-ID": token})
    assert status == 200
    status, _unused, _unused = request_site("GET", f"/static/{token}.css")
    assert status == 404
    assert wait_for(lambda: token in host.file("/var/log/nginx/access.log").content_string, timeout=10)
    assert wait_for(lambda: token in host.file("/var/log/nginx/error.log").content_string, timeout=10)


def test_log_rotation_reopens_the_logs_inside_the_sandbox(host, request_site):
    """A rotation signals the master through the pid file nginx.conf names (/run/nginx/ under the
    sandbox): here by Debian's init script, as other tools do (the role's /etc/logrotate.d/nginx
    signals it directly, molecule/nginx/tests/test_log_rotation.py); the master creates the new
    file and hands it to www-data (CAP_CHOWN) for the workers to write."""
    log, errors = "/var/log/nginx/access.log", "/var/log/nginx/error.log"
    errors_before = int(host.check_output(f"stat -c %s {errors}"))
    host.check_output(f"mv {log} {log}.pyweb-rotated")
    result = host.run("invoke-rc.d nginx rotate")
    assert result.rc == 0, result.stderr
    assert wait_for(lambda: host.file(log).exists, timeout=10)
    token = f"pyweb-rotate-probe-{secrets.token_hex(6)}"
    status, _unused, _unused = request_site("GET", "/sync-api/hello", headers={"X-Request-ID": token})
    assert status == 200
    assert wait_for(lambda: token in host.file(log).content_string, timeout=10)
    assert host.file(log).user == "www-data"
    # Without CAP_CHOWN: "[emerg] chown(...) failed", and the workers cannot open the new file.
    new_errors = host.check_output(f"tail -c +{errors_before + 1} {errors}")
    assert "[emerg]" not in new_errors and "[alert]" not in new_errors, new_errors


# Steady HTTPS traffic through Nginx, to the app over its unix socket and to static files, while
# `systemctl reload nginx` runs in the sandbox again and again. The app rate stays below the demo's
# rate limit (50 r/s per client address, which this one controller is).
RELOADS = 5
RELOAD_PAUSE = 2.0
LOADS = {"/sync-api/hello": 40, "/static/style.css": 60}  # path: requests per second


def test_reloads_under_load_fail_no_request(host, address):
    master, _unused = nginx_processes(host)
    loads = {path: Load(address, SERVER_NAME, path, rate=rate, duration=20, connections=4)
             for path, rate in LOADS.items()}
    reloads = []
    for load in loads.values():
        load.start()
    try:
        time.sleep(RELOAD_PAUSE)
        for _unused in range(RELOADS):
            _unused, old_workers = nginx_processes(host)
            started = time.monotonic()
            result = host.run("systemctl reload nginx")
            assert result.rc == 0, result.stderr
            # The reload is done when new workers serve (the old ones finish their requests).
            assert wait_for(lambda: set(nginx_processes(host)[1]) - set(old_workers), timeout=15), "no new workers"
            reloads.append(round(time.monotonic() - started, 2))
            time.sleep(RELOAD_PAUSE)
    finally:
        results = {path: load.stop() for path, load in loads.items()}
    figures = {path: {"requests": len(result.records), "failed": len(result.failures),
                      "p99_ms": round(result.percentile(99), 1), "stale_keepalive_retries": result.stale_retries}
               for path, result in results.items()}
    record("nginx reload under load", "reloads", {"count": len(reloads), "seconds_each": reloads})
    record("nginx reload under load", "requests", figures)
    for path, result in results.items():
        print(f"{path}: {result.summary()}")
    assert nginx_processes(host)[0] == master  # reloaded, never restarted
    for path, result in results.items():
        assert result.records, path
        assert not result.failures, f"{path}: {result.summary()}"


def test_private_keys_are_root_only(host):
    keys = host.check_output("find /etc/nginx/tls -name '*.key' -type f").split()
    assert keys, "no private key under /etc/nginx/tls"
    for key in keys:
        file = host.file(key)
        record("modes", key, f"{file.user}:{file.group} {file.mode:04o}")
        assert (file.user, file.group, file.mode) == ("root", "root", 0o600), key
    assert host.file("/etc/nginx/tls").mode & 0o007 == 0


@pytest.mark.parametrize("app", APPS)
def test_secrets_file_is_root_only_and_unreadable_by_the_app(host, app):
    path = f"/etc/pyweb/{app}/secrets"
    file = host.file(path)
    record("modes", path, f"{file.user}:{file.group} {file.mode:04o}")
    assert (file.user, file.group, file.mode) == ("root", "root", 0o600)
    assert host.run("runuser -u %s -- cat %s", app, path).rc != 0


@pytest.mark.parametrize("app", APPS)
def test_no_release_file_or_directory_is_writable_by_the_app_user(host, app):
    # find -writable asks the kernel (access(2)) as the app user, like `test -w`, about every entry
    # of the code: releases (sources, static files) and the virtualenvs they run, files and
    # directories alike. Each release's `shared` link leads to the app's one writable directory.
    code = f"/srv/{app}/releases /srv/{app}/venvs /srv/{app}/current/"
    found = host.run(f"runuser -u {app} -- find {code} -type l -name shared -prune -o -writable -print")
    assert found.stderr == "", found.stderr  # nothing hidden from the search
    assert found.stdout == "", found.stdout[:2000]
    entries = int(host.check_output(f"find {code} | wc -l"))
    record("read-only code", app, {"entries_checked": entries, "writable_by_app_user": 0})
    for path in (f"/srv/{app}", f"/srv/{app}/releases", f"/srv/{app}/current/", f"/srv/{app}/current/app.py"):
        assert host.run("runuser -u %s -- test -w %s", app, path).rc != 0, path
    assert host.run("runuser -u %s -- test -w /srv/%s/shared", app, app).rc == 0


@pytest.fixture(scope="module")
def new_secret(host):
    """Deploy sync-api with a secret value never used before, with `-v`. The host keeps it: verify is
    the last step before destroy, and the demo's value would cost another two-minute play."""
    value = f"pyweb-probe-{secrets.token_hex(12)}"
    apps = [dict(app, secrets={"SECRET_KEY": value}) if app["name"] == "sync-api" else app for app in DEMO_APPS]
    output = run_playbook("apps.yml", {"pyweb_apps": apps, "pyweb_apps_limit": ["sync-api"]}, args=("-v",))
    assert "sync-api" in output  # the play did run
    return value, output


def test_new_secret_reaches_the_secrets_file_and_the_service(host, new_secret):
    value, _unused = new_secret
    assert f'SECRET_KEY="{value}"' in host.file("/etc/pyweb/sync-api/secrets").content_string
    # The service restarted onto the new environment.
    hello = host.check_output("curl -s --unix-socket /run/gunicorn/sync-api.sock http://localhost/hello")
    assert json.loads(hello)["secret_configured"] is True


# At -v Ansible prints every task result: the app checks loop over entries whose secret values
# are masked, and the tasks that hold the real entries are no_log.
def test_secret_stays_out_of_verbose_play_output(new_secret):
    value, output = new_secret
    leaks = [line[:160] for line in output.splitlines() if value in line]
    record("secrets", "verbose play output lines with the new secret", len(leaks))
    assert not leaks, leaks
    for demo in DEMO_SECRETS:
        assert demo not in output


def test_no_secret_in_the_journal_or_nginx_logs(host, new_secret):
    value, _unused = new_secret
    # Traffic through Nginx first, so the logs have something to leak from.
    for app in APPS:
        host.run("curl -sk -o /dev/null https://localhost/%s/hello", app)
    units = " ".join(f"--unit {app}.service --unit {app}.socket" for app in APPS)
    journal = host.run(f"journalctl --no-pager --output cat {units}")
    assert journal.rc == 0 and journal.stdout, journal.stderr
    nginx_logs = host.check_output("cat /var/log/nginx/*.log")
    for needle in [value, *DEMO_SECRETS]:
        assert needle not in journal.stdout
        assert needle not in nginx_logs
    record("secrets", "searched", {"journal_lines": len(journal.stdout.splitlines()),
                                   "nginx_log_lines": len(nginx_logs.splitlines()), "leaks": 0})
