"""Server packages at the versions the role pins (gunicorn_package_versions): installed as pinned,
and a changed pin builds a new virtualenv (and release) beside the live ones, checked before the
service restarts onto it; a refused pin leaves the live virtualenv as it was."""

import pytest
import yaml

from conftest import ROOT, get, main_pid, wait_for
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


def installed_in(host, venv):
    out = host.check_output(f"{venv}/bin/python -m pip freeze --all --disable-pip-version-check")
    return sorted(out.splitlines())


def live(host, app):
    """The live release and virtualenv, by their real paths."""
    return (host.check_output(f"readlink -f /srv/{app}/current"), host.check_output(f"readlink -f /srv/{app}/current/venv"))


@release_independent
def test_a_changed_pin_builds_a_new_virtualenv_and_release_beside_the_live_ones(host, demo_apps, playbook):
    """The live release and its virtualenv never change: a pin change builds a virtualenv with the
    new server beside them, in a release of its own (the same code, <source id>-<virtualenv id>),
    and restarts onto it; the old pin brings back the very release and virtualenv it left."""
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    release, venv = live(host, "sync-api")
    packages = installed_in(host, venv)
    older = "26.2.0"
    try:
        master = main_pid(host, "sync-api")
        playbook("apps.yml", {"pyweb_apps": [dict(demo, package_versions=dict(PINS, gunicorn=older))]})
        assert installed(host, "sync-api")["gunicorn"] == older
        new_release, new_venv = live(host, "sync-api")
        assert new_venv != venv, "a new virtualenv, not the live one changed in place"
        assert new_release.startswith(release + "-"), "the same code in a release of its own"
        assert host.file(f"{release}/venv").linked_to == venv
        assert installed_in(host, venv) == packages
        assert main_pid(host, "sync-api") != master, "a new Gunicorn needs a new master"
        assert get(host, "sync-api", "/hello")[0] == 200
    finally:
        playbook("apps.yml", {"pyweb_apps": [demo]})
    assert live(host, "sync-api") == (release, venv)
    assert installed(host, "sync-api")["gunicorn"] == PINS["gunicorn"]
    assert get(host, "sync-api", "/hello")[0] == 200


@release_independent
def test_a_pin_that_fails_its_check_leaves_the_live_virtualenv_as_it_was(host, demo_apps, playbook):
    """Gunicorn 20.1 imports pkg_resources, which a virtualenv of Python 3.12 or later lacks: the
    import check refuses it. The release and virtualenv that were live serve on, unchanged, also
    after a restart (a new master imports the server from the virtualenv again)."""
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    release, venv = live(host, "sync-api")
    packages = installed_in(host, venv)
    try:
        out = playbook("apps.yml", {"pyweb_apps": [dict(demo, package_versions=dict(PINS, gunicorn="20.1.0"))]},
                       expect_success=False)
        assert "failed at the check step" in out, out[-3000:]
        assert "pkg_resources" in out
        assert f"Switched back to release {release.rsplit('/', 1)[1]} with its previous environment" in out
        assert live(host, "sync-api") == (release, venv)
        assert installed_in(host, venv) == packages, "the refused version went into the live virtualenv"
        host.run("systemctl restart sync-api.service")
        assert wait_for(lambda: get(host, "sync-api", "/hello")[0] == 200)
        assert installed(host, "sync-api")["gunicorn"] == PINS["gunicorn"]
    finally:
        playbook("apps.yml", {"pyweb_apps": [demo]})
    assert live(host, "sync-api") == (release, venv)
    assert get(host, "sync-api", "/hello")[0] == 200
