"""Hardening of the deployed stack: systemd exposure of each app unit, modes of private keys and
secret files, release code the app user cannot change, and secrets that stay out of the journal,
the Nginx logs and the output of a verbose play.

molecule/apps checks single files of one release (app.py, venv/bin/python); here every file and
directory of every release is checked, and the play-output check deploys a secret never seen before.
"""

import json
import re
import secrets

import pytest
import yaml
from pyweb_testlib import ROOT, run_playbook

from conftest import record

APPS = ["sync-api", "async-api"]
DEMO_APPS = yaml.safe_load((ROOT / "inventory/demo/group_vars/all/apps.yml").read_text())["pyweb_apps"]
DEMO_SECRETS = sorted({value for app in DEMO_APPS for value in app.get("secrets", {}).values()})


@pytest.mark.parametrize("app", APPS)
def test_unit_exposure_is_at_most_two(host, app):
    out = host.check_output("systemd-analyze security --no-pager %s.service", app)
    score = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out)[1])
    record("exposure", f"{app}.service", score)
    assert score <= 2.0, out.splitlines()[-1]


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
    value, _ = new_secret
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
    value, _ = new_secret
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
