"""Apps under Granian (gunicorn_server: granian), held to the guarantees of the gunicorn role's
README table: the unit and its sandbox, a socket only Nginx's group can use, the apps' environment,
secrets, data and route prefix, WebSockets, the import check before anything goes live, and
graceful reloads of new code that fail no request under load. What Granian cannot give (socket
activation) is shown to be absent, as the table says."""

import json
import re
import shutil
import time

import pytest
from pyweb_load import Load, request
from pyweb_testlib import ROOT, bridge_address, host_http, run_playbook, wait_for, websocket_handshake

from conftest import APPS, SERVER_NAME, entry, get, report, through_nginx

PROFILES = {name: app["profile"] for name, app in APPS.items()}
INTERFACE = {"io": "wsgi", "cpu": "wsgi", "async": "asgi"}


def show(host, unit, prop):
    return host.check_output("systemctl show --property %s --value %s", prop, unit)


def children(host, app):
    master = show(host, f"{app}.service", "MainPID")
    return host.run("pgrep --parent %s", master).stdout.split()


def expected_workers(profile, vcpus, memory_mb):
    """The README's formula, the same for both servers."""
    computed = {"cpu": 2 * vcpus + 1, "io": vcpus + 1, "async": max(2, vcpus)}[profile]
    return min(computed, max(1, (memory_mb - 512) // 128))


@pytest.fixture(scope="module")
def facts(host):
    return host.ansible("setup", "gather_subset=!all,hardware", check=False)["ansible_facts"]


@pytest.mark.parametrize("app", APPS)
def test_the_service_runs_granian_with_the_profiles_sizing(host, app, facts):
    unit = f"{app}.service"
    assert host.service(unit).is_running and host.service(unit).is_enabled
    start = show(host, unit, "ExecStart")
    assert re.search(f"/srv/{app}/venvs/[0-9a-f]+/bin/granian ", start), start
    assert f"--interface {INTERFACE[PROFILES[app]]} " in start, start
    assert "--workers-kill-timeout" in start and "--respawn-failed-workers" in start
    workers = expected_workers(PROFILES[app], facts["ansible_processor_vcpus"], facts["ansible_memtotal_mb"])
    assert f"--workers {workers} " in start, start
    assert len(children(host, app)) == workers
    # Every process of the service runs as the app's user.
    users = host.check_output("ps -o user= --pid %s --ppid %s", show(host, unit, "MainPID"),
                              show(host, unit, "MainPID")).split()
    assert set(users) == {app}, users


@pytest.mark.parametrize("app", APPS)
def test_no_socket_activation_and_granian_cannot_notify(host, app):
    # Granian neither reads LISTEN_FDS nor speaks sd_notify: no socket unit, Type=exec.
    assert show(host, f"{app}.socket", "LoadState") == "not-found"
    assert show(host, f"{app}.service", "Type") == "exec"


@pytest.mark.parametrize("app", APPS)
def test_socket_only_nginx_group_can_use(host, app):
    link = host.file(f"/run/gunicorn/{app}.sock")
    assert link.is_symlink and link.linked_to == f"/run/granian/{app}/{app}.sock"
    sock = host.file(f"/run/granian/{app}/{app}.sock")
    assert sock.is_socket
    assert (sock.user, sock.group, sock.mode) == (app, "www-data", 0o660)
    directory = host.file(f"/run/granian/{app}")
    assert (directory.user, directory.group, directory.mode) == (app, "www-data", 0o2750)
    # Another local user can neither list the directory nor reach the socket.
    assert host.run("setpriv --reuid nobody --regid nogroup --clear-groups ls /run/granian/%s", app).rc != 0


@pytest.mark.parametrize("app", APPS)
def test_unit_exposure_is_at_most_two(host, app):
    out = host.check_output("systemd-analyze security --no-pager %s.service", app)
    score = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out)[1])
    report(f"exposure_{app}", score)
    assert score <= 2.0, out.splitlines()[-1]


def test_flask_app_with_its_environment_and_secret(host):
    status, body = get(host, "sync-api", "/hello")
    assert status == 200
    assert body["message"] == "Hello from Flask under Granian"
    assert body["secret_configured"] is True
    answer = through_nginx(host, "/sync-api/hello")
    assert answer["status"] == 200 and json.loads(answer["body"])["message"] == "Hello from Flask under Granian"
    static = through_nginx(host, "/static/style.css")
    assert static["status"] == 200


def test_factory_app_with_a_secret_at_import_data_and_route_prefix(host):
    assert get(host, "notes", "/health") == (200, {"status": "ok"})
    # The import check ran as the app's user with its secrets: the database it created is the app's.
    db = host.file("/srv/notes/shared/notes.sqlite3")
    assert db.exists and db.user == "notes"
    where = json.loads(through_nginx(host, "/notes/where")["body"])
    assert where["script_name"] == "/notes"
    assert where["external"] == "https://localhost/notes/notes", "X-Forwarded-Proto must reach the app"
    env = json.loads(through_nginx(host, "/notes/env")["body"])
    assert env["NOTES_TRICKY"] == APPS["notes"]["env"]["NOTES_TRICKY"]
    added = through_nginx(host, "/notes/notes", method="POST", body=json.dumps({"text": "granian"}),
                          headers={"Content-Type": "application/json"})
    assert added["status"] in (200, 201), added
    assert "granian" in json.loads(through_nginx(host, "/notes/notes")["body"])["notes"]


def test_asgi_app_with_lifespan_docs_under_the_prefix_and_websocket(host, address):
    info = json.loads(through_nginx(host, "/chat/info")["body"])
    assert info == {"greeting": "hi", "root_path": "/chat", "health_url": "https://localhost/chat/health"}
    docs = through_nginx(host, "/chat/docs")
    assert docs["status"] == 200 and "'/chat/openapi.json'" in docs["body"]
    status, echo = websocket_handshake(address, "/chat/ws", "hello")
    assert " 101 " in status and echo == "hi: hello"


# A client's own X-Forwarded-For: the Nginx a client reaches first replaces it with the address it
# saw, or the server behind it takes the forged entry as the client. The tests' requests from the
# controller come from an address Nginx does not trust; those from the host itself from 127.0.0.1,
# a proxy in front of Nginx (nginx_real_ip_from, group_vars/all/proxy.yml), whose word counts.
FORGED = ("6.6.6.6", "6.6.6.6, 7.7.7.7")
CLIENT = {"notes": ("/notes/client", "remote_addr"), "chat": ("/chat/client", "client")}


def assert_real_client(host, address, app, server):
    """What the app sees as the client and the X-Forwarded-For it gets: the controller's address,
    whatever the controller's request says; through the trusted proxy, what the proxy says."""
    path, field = CLIENT[app]
    # Gunicorn's sync and gthread workers leave REMOTE_ADDR to the peer (a unix socket has none) and
    # the app reads X-Forwarded-For itself (werkzeug's ProxyFix, say); the others take it as the client.
    wsgi_gunicorn = server == "gunicorn-wsgi"

    def seen(headers=None):
        status, _headers, body, _elapsed = request(address, SERVER_NAME, path, headers=headers)
        assert status == 200, body
        return json.loads(body)

    honest = seen()
    controller = honest["forwarded_for"]
    assert controller not in ("", None, "127.0.0.1", *FORGED), honest
    assert honest[field] == ("" if wsgi_gunicorn else controller), (server, honest)
    for forged in FORGED:
        assert seen({"X-Forwarded-For": forged}) == honest, (server, forged)
    proxied = json.loads(through_nginx(host, path, headers={"X-Forwarded-For": FORGED[1]})["body"])
    assert proxied["forwarded_for"] == "7.7.7.7", (server, proxied)
    assert proxied[field] == ("" if wsgi_gunicorn else "7.7.7.7"), (server, proxied)


@pytest.mark.parametrize("app", CLIENT)
def test_a_forged_x_forwarded_for_does_not_change_the_client_address(host, address, app):
    assert_real_client(host, address, app, f"granian-{INTERFACE[PROFILES[app]]}")


def test_secrets_stay_out_of_the_wsgi_environ(host):
    """Granian copies the process environment into every WSGI environ, where error reporters and
    debug pages print it; pyweb's loader takes the secrets file's names out again. The app still
    reads them from os.environ."""
    body = json.loads(through_nginx(host, "/notes/client")["body"])
    assert body["secret_in_os_environ"] is True
    assert body["secret_in_environ"] is False


def test_without_a_socket_unit_a_stopped_service_refuses_connections(host):
    """The guarantee Granian cannot give: under Gunicorn, systemd holds the socket and a connection
    to a stopped app starts it; here the socket goes with the service."""
    host.check_output("systemctl stop chat.service")
    try:
        assert not host.file("/run/gunicorn/chat.sock").exists
        answer = through_nginx(host, "/chat/health")
        assert answer["status"] == 502, answer
        assert not host.service("chat.service").is_running, "nothing may start the service on a connection"
    finally:
        host.check_output("systemctl start chat.service")
    assert wait_for(lambda: through_nginx(host, "/chat/health")["status"] == 200, timeout=30)


def version_of(body):
    return json.loads(body)["version"]


def release_with(tmp_path, name, edit):
    src = tmp_path / name
    shutil.copytree(ROOT / "examples/apps/sync_api", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "app.py").write_text(edit((src / "app.py").read_text()))
    return src


def deploy(src, expect_success=True):
    return run_playbook("apps.yml", {"pyweb_apps": [entry("sync-api", src=str(src))], "pyweb_apps_limit": ["sync-api"]},
                        expect_success=expect_success)


def test_new_code_reloads_gracefully_under_load_and_a_broken_or_unhealthy_release_never_goes_live(host, address, tmp_path):
    path = "/sync-api/hello"
    master = show(host, "sync-api.service", "MainPID")
    live = version_of(request(address, SERVER_NAME, path)[2])
    versions = [f"granian-{n}" for n in (1, 2, 3)]
    times = []
    with Load(address, SERVER_NAME, path, rate=100, duration=1800, connections=8, tag=version_of) as load:
        time.sleep(5)
        for version in versions:
            src = release_with(tmp_path, version, lambda code, v=version: re.sub(
                r'^VERSION = ".*"$', f'VERSION = "{v}"', code, flags=re.M))
            started = time.monotonic()
            deploy(src)
            times.append(round(time.monotonic() - started, 1))
            # The play returns after the reload helper saw every old worker go: the new code answers.
            assert version_of(request(address, SERVER_NAME, path)[2]) == version
        broken = release_with(tmp_path, "cannot-import", lambda code: re.sub(
            r'^VERSION = ".*"$', 'VERSION = "cannot-import"\nimport no_such_module', code, flags=re.M))
        out = deploy(broken, expect_success=False)
        assert "failed at the check step" in out, out[-3000:]
        assert "No module named 'no_such_module'" in out, "the import check must show the app's traceback"
        # A release that imports but answers its health path with 503: Granian previews it on a
        # private socket (one worker, the service's sandbox) and it never goes live.
        unhealthy = release_with(tmp_path, "unhealthy", lambda code: re.sub(
            r'^VERSION = ".*"$', 'VERSION = "unhealthy"', code, flags=re.M).replace(
            'return jsonify(status="ok", app=APP_NAME)', 'return jsonify(status="broken", app=APP_NAME), 503'))
        out = deploy(unhealthy, expect_success=False)
        assert "failed at the preview step" in out, out[-3000:]
        assert "Last answer: 503" in out and "(sync-api_preview.service):" in out, out[-3000:]
        time.sleep(5)
    result = load.result
    report("granian_deploys_s", times)
    report("granian_reload_load", result.summary())
    report("granian_reload_failed_requests", len(result.failures))
    assert result.failures == [], f"failed requests: {result.outcomes()}; first: {result.failures[:5]}"
    tags = result.tags()
    assert [v for v in versions if not tags.get(v)] == [], f"versions never served under load: {tags}"
    assert "cannot-import" not in tags and "unhealthy" not in tags, tags
    assert result.records[-1].tag == versions[-1]
    # Graceful: the master stayed; only its workers were replaced.
    assert show(host, "sync-api.service", "MainPID") == master
    assert live not in versions


def test_an_app_switches_server_both_ways_and_serves_on_the_same_socket_path(host):
    """`server` is one key of the entry: flipping it on a live app swaps the units, the config and
    the socket (systemd's socket unit for Gunicorn, the link to Granian's for Granian), and Nginx
    keeps its upstream. Ends on Granian, as the scenario started."""
    path = "/run/gunicorn/notes.sock"
    notes = entry("notes")
    run_playbook("apps.yml", {"pyweb_apps": [dict(notes, server="gunicorn")], "pyweb_apps_limit": ["notes"]})
    assert host.service("notes.socket").is_running and show(host, "notes.service", "Type") == "notify"
    assert host.file(path).is_socket and not host.file(path).is_symlink
    assert through_nginx(host, "/notes/health")["status"] == 200
    assert not host.file("/etc/gunicorn/notes.granian.toml").exists
    assert_real_client(host, bridge_address(host.backend.host), "notes", "gunicorn-wsgi")

    run_playbook("apps.yml", {"pyweb_apps": [notes], "pyweb_apps_limit": ["notes"]})
    assert show(host, "notes.socket", "LoadState") == "not-found"
    assert show(host, "notes.service", "Type") == "exec"
    assert host.file(path).is_symlink
    assert not host.file("/etc/gunicorn/notes.conf.py").exists
    assert through_nginx(host, "/notes/health")["status"] == 200


def test_uvicorn_workers_behind_nginx_see_the_real_client(host):
    """The third server: Gunicorn with Uvicorn workers (the async profile), which on a unix socket
    trusts X-Forwarded-For from any peer. Ends on Granian, as the scenario started."""
    chat = entry("chat")
    run_playbook("apps.yml", {"pyweb_apps": [dict(chat, server="gunicorn")], "pyweb_apps_limit": ["chat"]})
    try:
        assert "UvicornWorker" in show(host, "chat.service", "ExecStart") + host.file("/etc/gunicorn/chat.conf.py").content_string
        assert_real_client(host, bridge_address(host.backend.host), "chat", "gunicorn-asgi")
    finally:
        run_playbook("apps.yml", {"pyweb_apps": [chat], "pyweb_apps_limit": ["chat"]})
    assert show(host, "chat.service", "Type") == "exec"


def test_on_tcp_granian_is_started_only_once_it_holds_its_own_port(host):
    """Granian's unit is Type=exec, so systemd calls it started before it binds. On a TCP bind the
    start waits until Granian itself listens (pyweb-granian-listening): a port another process
    holds fails the deploy at its reload step, naming that process, and the app switches back onto
    the port it had."""
    tcp = dict(entry("sync-api"), name="tcp-api", bind="127.0.0.1:8971")
    limit = {"pyweb_apps_limit": ["tcp-api"]}
    holder = "pyweb-port-holder"
    try:
        run_playbook("apps.yml", {"pyweb_apps": [tcp], **limit})
        start_post = show(host, "tcp-api.service", "ExecStartPost")
        assert "argv[]=/usr/local/sbin/pyweb-granian-listening $MAINPID 8971 " in start_post, start_post
        assert "status=0" in start_post, start_post
        assert host_http(host, "/hello", port=8971)["status"] == 200

        host.run_test("systemd-run --unit %s python3 -c %s", holder,
                      "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 8972)); s.listen(); "
                      "time.sleep(600)")
        assert wait_for(lambda: host.socket("tcp://127.0.0.1:8972").is_listening, timeout=10)
        output = run_playbook("apps.yml", {"pyweb_apps": [dict(tcp, bind="127.0.0.1:8972")], **limit},
                              expect_success=False)
        assert "tcp-api: the deploy of release" in output and "Switched back to release" in output, output[-3000:]
        assert "does not listen on port 8972" in output or "exited before it listened on port 8972" in output, (
            output[-3000:])
        assert "holds it" in output, output[-3000:]
        assert wait_for(lambda: host_http(host, "/hello", port=8971)["status"] == 200, timeout=30)
    finally:
        host.run("systemctl stop %s", holder)
        run_playbook("apps.yml", {"pyweb_apps": [dict(tcp, state="absent")], **limit})


def test_a_host_with_a_granian_app_has_its_loader_and_helpers(host):
    """Installed because an app of the host runs Granian (a host without one has none of them)."""
    for path in ("/etc/gunicorn/pyweb_granian.py", "/usr/local/sbin/pyweb-granian-check",
                 "/usr/local/sbin/pyweb-granian-reload", "/usr/local/sbin/pyweb-granian-listening"):
        assert host.file(path).is_file, path
