"""Apps shaped like the ones users bring (molecule/apps/files/, group_vars/all/real_apps.yml):
a Flask app factory in a src-layout package with only a pyproject.toml, which needs SECRET_KEY
and keeps a SQLite file between releases; a FastAPI app with a lifespan handler, a WebSocket
endpoint and its docs. Deployed through documented entry keys only, onto a host without curl."""

import os
import shutil

import json

import pytest
import yaml
from conftest import ROOT, get, host_http, main_pid, unit_environment, wait_for
from pyweb_testlib import bridge_address, release_independent, websocket_handshake

REAL_APPS = yaml.safe_load((ROOT / "molecule/apps/group_vars/all/real_apps.yml").read_text())["pyweb_apps__real"]
NOTES_SRC = ROOT / "molecule/apps/files/notes"


def entry(name, **changes):
    """The real app's entry as the converge used it, with playbooks/ as playbook_dir resolved."""
    app = next(app for app in REAL_APPS if app["name"] == name)
    app = {key: (value.replace("{{ playbook_dir }}", str(ROOT / "playbooks")) if isinstance(value, str) else value)
           for key, value in app.items()}
    return {**app, **changes}


def through_nginx(host, path, **kwargs):
    return host_http(host, path, https=True, **kwargs)


def test_the_host_has_no_curl(host):
    assert host.run("command -v curl").rc != 0, "this scenario's host must stay minimal: no curl"


def test_the_src_layout_project_is_installed_into_its_own_virtualenv(host):
    venv = host.file("/srv/notes/current/venv").linked_to
    assert host.run(f"{venv}/bin/python -m pip show notes").rc == 0
    assert not host.file("/srv/notes/current/requirements.txt").exists


def test_the_factory_app_answers_its_own_health_path(host):
    assert get(host, "notes", "/health") == (200, {"status": "ok"})
    assert get(host, "chat", "/health") == (200, {"status": "ok"})


def test_the_import_check_ran_as_the_app_user_with_its_secrets(host):
    # create_app() refuses to run without SECRET_KEY (a secret) and creates its database at import:
    # run as root without the app's environment, the check could not have passed, and the file
    # would belong to root, where the service's user could not write it.
    db = host.file("/srv/notes/shared/notes.sqlite3")
    assert db.exists
    assert db.user == "notes"


def test_route_prefix_reaches_the_wsgi_app_as_script_name(host):
    answer = through_nginx(host, "/notes/where")
    assert answer["status"] == 200, answer
    where = json.loads(answer["body"])
    assert where["script_name"] == "/notes"
    assert where["notes_url"] == "/notes/notes"
    assert where["external"] == "https://localhost/notes/notes"
    redirect = through_nginx(host, "/notes/go")
    assert redirect["status"] == 302
    assert redirect["headers"]["location"] in ("/notes/notes", "https://localhost/notes/notes")


def test_route_prefix_reaches_the_asgi_app_as_root_path(host):
    docs = through_nginx(host, "/chat/docs")
    assert docs["status"] == 200
    assert "'/chat/openapi.json'" in docs["body"], "the docs page must ask for the schema under the prefix"
    schema = through_nginx(host, "/chat/openapi.json")
    assert schema["status"] == 200
    assert json.loads(schema["body"])["info"]["title"] == "chat"
    info = json.loads(through_nginx(host, "/chat/info")["body"])
    assert info == {"greeting": "hi", "root_path": "/chat", "health_url": "https://localhost/chat/health"}
    # Straight to the socket, without a proxy's header, the app is served at its root.
    assert get(host, "chat", "/info")[1]["root_path"] == ""


@pytest.fixture(scope="module")
def address(host):
    """The host container's address, reachable from the controller (its name is the inventory name)."""
    return bridge_address(host.backend.host)


def test_websocket_echo_through_nginx_over_tls(address):
    status, echo = websocket_handshake(address, "/chat/ws", "hello")
    assert " 101 " in status
    assert echo == "hi: hello"


def test_a_route_without_websocket_does_not_upgrade(address):
    status, _unused = websocket_handshake(address, "/chat-plain/ws")
    assert " 101 " not in status, status


def test_the_override_template_is_in_force(host):
    config = host.file("/etc/gunicorn/notes.conf.py").content_string
    assert "limit_request_line = 1024" in config
    # Gunicorn itself applies it: a request line over 1024 bytes is refused, one under is served.
    socket = "/run/gunicorn/notes.sock"
    assert host_http(host, "/health?" + "x" * 1100, socket=socket)["status"] == 414
    assert host_http(host, "/health?" + "x" * 900, socket=socket)["status"] == 200


@pytest.mark.parametrize("change, failing_task, traceback", [
    # The config is the same, the secrets file is not: the check runs before the restart would.
    ({"secrets": {}}, "Check that the app imports with its new environment or packages",
     "SECRET_KEY is not set; refusing to start"),
    # A new config: its validate runs the check on the candidate before it replaces the live one.
    ({"app_module": "notes:create_ap()"},
     "Write the server config, the units and the environment record that differ", "create_ap"),
], ids=["secret-missing", "factory-misspelt"])
def test_an_app_that_cannot_start_is_refused_with_its_traceback(host, playbook, change, failing_task, traceback):
    master = main_pid(host, "notes")
    release = os.path.basename(host.file("/srv/notes/current").linked_to)
    secrets = host.file("/etc/pyweb/notes/secrets").content_string
    try:
        out = playbook("apps.yml", {"pyweb_apps": [], "pyweb_apps__real": [entry("notes", **change)],
                                    "pyweb_apps_limit": ["notes"]}, expect_success=False)
        failed = out[out.index("fatal: "):]
        assert traceback in failed, failed[:3000]
        assert failing_task in out[:out.index("fatal: ")].rsplit("TASK [", 1)[1]
        assert f"failed at the check step ({failing_task}: " in failed
        assert f"Switched back to release {release} with its previous environment, config and units; " \
               "notes serves it (/health answers 2xx)." in failed
        # The running service never restarted into the broken app.
        assert main_pid(host, "notes") == master
        assert get(host, "notes", "/health")[0] == 200
        # Nor will it at its next start: the previous secrets are back (a bad environment value is
        # switched back like bad code), and no copy of them is left behind.
        assert host.file("/etc/pyweb/notes/secrets").content_string == secrets
        assert host.run("find /etc/pyweb/notes /etc/gunicorn -name '*~'").stdout == ""
        host.run("systemctl restart notes.service")
        assert wait_for(lambda: host.service("notes.service").is_running
                        and get(host, "notes", "/health")[0] == 200)
        assert unit_environment(host, "notes.service")["SECRET_KEY"] == entry("notes")["secrets"]["SECRET_KEY"]
    finally:
        playbook("apps.yml", {"pyweb_apps": [], "pyweb_apps_limit": ["notes"]})
    assert get(host, "notes", "/health")[0] == 200


@release_independent
def test_data_survives_redeploys_and_rollback_goes_by_deploy_history(host, playbook, tmp_path):
    """Deploy v2 over v1, then v1 again (the same tree, so the same release directory), then roll
    back: the release deployed before the current one is v2, although v1's directory is older. The
    note written before all this is still there at every step."""
    note = f"kept-{os.urandom(4).hex()}"
    assert through_nginx(host, "/notes/notes", method="POST", body=json.dumps({"text": note}),
                         headers={"Content-Type": "application/json"})["status"] == 201

    def state():
        answer = get(host, "notes", "/notes")[1]
        return answer["version"], note in answer["notes"]

    v1 = host.file("/srv/notes/current").linked_to
    v2_src = tmp_path / "notes"
    shutil.copytree(NOTES_SRC, v2_src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    init = v2_src / "src/notes/__init__.py"
    init.write_text(init.read_text().replace('VERSION = "1"', 'VERSION = "2"'))
    try:
        playbook("apps.yml", {"pyweb_apps": [], "pyweb_apps__real": [entry("notes", src=str(v2_src))],
                              "pyweb_apps_limit": ["notes"]})
        assert wait_for(lambda: state() == ("2", True))
        playbook("apps.yml", {"pyweb_apps": [], "pyweb_apps_limit": ["notes"]})
        assert wait_for(lambda: state() == ("1", True))
        assert host.file("/srv/notes/current").linked_to == v1, "the same tree must land in the same release"

        playbook("rollback.yml", {"pyweb_apps": [], "pyweb_apps_limit": ["notes"]})
        assert wait_for(lambda: state() == ("2", True)), "rollback must go to the release deployed before"
        history = host.file("/srv/notes/releases.history").content_string.split()
        assert history[-1] == os.path.basename(host.file("/srv/notes/current").linked_to)
    finally:
        playbook("apps.yml", {"pyweb_apps": [], "pyweb_apps_limit": ["notes"]})
    assert state() == ("1", True)


@pytest.mark.parametrize("app", ["notes", "chat"])
def test_the_data_directory_is_handed_to_the_app(host, app):
    assert unit_environment(host, f"{app}.service")["APP_DATA_DIR"] == f"/srv/{app}/shared"


def test_environment_and_secret_values_reach_the_app_byte_for_byte(host):
    """Quotes, $, backticks, backslashes, a tab, edge spaces, non-ASCII and a multi-line PEM, as
    the app reads them from os.environ (systemd read them from its environment and secrets files)."""
    notes = entry("notes")
    expected = {name: value for name, value in {**notes["env"], **notes["secrets"]}.items() if name.startswith("NOTES_")}
    status, received = get(host, "notes", "/env")
    assert status == 200
    assert received == expected
