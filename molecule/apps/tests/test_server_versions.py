"""Server packages at the versions the role pins (gunicorn_package_versions): installed as pinned,
and a changed pin reaches an existing virtualenv, with the service restarted onto it."""

import pytest
import yaml

from conftest import ROOT, get, main_pid
from pyweb_testlib import release_independent

PINS = yaml.safe_load((ROOT / "roles/gunicorn/defaults/main.yml").read_text())["gunicorn_package_versions"]
PACKAGES = {
    "sync-api": ["gunicorn", "setproctitle"],
    "async-api": ["gunicorn", "setproctitle", "uvicorn-worker", "uvicorn", "uvloop", "httptools", "websockets"],
}


def installed(host, app):
    out = host.check_output(f"/srv/{app}/current/venv/bin/python -m pip list --format freeze --disable-pip-version-check")
    return {name.lower(): version for name, _unused, version in (line.partition("==") for line in out.splitlines())}


@pytest.mark.parametrize("app", PACKAGES)
def test_server_packages_run_at_the_pinned_versions(host, app):
    versions = installed(host, app)
    assert {name: versions.get(name) for name in PACKAGES[app]} == {name: PINS[name] for name in PACKAGES[app]}


@release_independent
def test_a_changed_pin_reaches_the_existing_virtualenv_and_restarts_onto_it(host, demo_apps, playbook):
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    venv = host.check_output("readlink -f /srv/sync-api/current/venv")
    older = "26.2.0"
    try:
        master = main_pid(host, "sync-api")
        playbook("apps.yml", {"pyweb_apps": [dict(demo, package_versions=dict(PINS, gunicorn=older))]})
        assert installed(host, "sync-api")["gunicorn"] == older
        assert host.check_output("readlink -f /srv/sync-api/current/venv") == venv, "the same virtualenv, changed in place"
        assert main_pid(host, "sync-api") != master, "a new Gunicorn needs a new master"
        assert get(host, "sync-api", "/hello")[0] == 200
    finally:
        playbook("apps.yml", {"pyweb_apps": [demo]})
    assert installed(host, "sync-api")["gunicorn"] == PINS["gunicorn"]
    assert get(host, "sync-api", "/hello")[0] == 200
