"""After a Debian 12 to 13 upgrade and a reboot, one converge brings the whole stack back: new
virtualenvs for the new interpreter, apps answering through Nginx, nothing failed."""

import json

import pytest

APPS = ["sync-api", "async-api"]


def test_the_host_runs_debian_13_now(host):
    assert host.file("/etc/debian_version").content_string.startswith("13")
    assert host.check_output("python3 -c 'import sys; print(*sys.version_info[:2])'") == "3 13"


@pytest.mark.parametrize("app", APPS)
def test_the_app_runs_in_a_virtualenv_of_the_new_interpreter(host, app):
    venv_python = f"/srv/{app}/current/venv/bin/python"
    assert host.check_output(f"{venv_python} -c 'import sys; print(*sys.version_info[:2])'") == "3 13"
    assert host.service(app).is_running


@pytest.mark.parametrize("app", APPS)
def test_the_app_answers_through_nginx(host, app):
    out = host.check_output(f"curl --silent --insecure --max-time 10 https://localhost/{app}/hello")
    assert json.loads(out)["app"] == app


def test_no_unit_failed_and_nginx_config_is_clean(host):
    assert host.run("systemctl list-units --failed --plain --no-legend").stdout.strip() == ""
    check = host.run("nginx -t")
    assert check.rc == 0 and "[warn]" not in check.stderr, check.stderr
