"""Both example apps run under hardened Gunicorn units and answer through their unix sockets."""

import re
import time

import pytest

from conftest import APPS, expected_threads, expected_workers, get, main_pid, unit_environment, worker_pids


@pytest.mark.parametrize("app", APPS)
def test_socket_and_service_are_active_and_enabled(host, app):
    for unit in (f"{app}.socket", f"{app}.service"):
        service = host.service(unit)
        assert service.is_running, unit
        assert service.is_enabled, unit


@pytest.mark.parametrize("app", APPS)
def test_socket_owner_group_and_mode(host, app):
    sock = host.file(f"/run/gunicorn/{app}.sock")
    assert sock.is_socket
    assert sock.user == app
    assert sock.group == "www-data"
    assert sock.mode == 0o660


@pytest.mark.parametrize("app", APPS)
def test_health_answers_through_the_socket(host, app):
    assert get(host, app, "/healthz") == (200, {"status": "ok", "app": app})


@pytest.mark.parametrize("app", APPS)
def test_hello_names_app_framework_and_environment(host, app):
    status, body = get(host, app, "/hello")
    assert status == 200
    assert body["app"] == app
    assert body["framework"] == APPS[app]["framework"]
    assert body["message"]
    assert body["env"] == "production"
    # The secret reached the app through the root-only file, not through the code.
    assert body["secret_configured"] is True


@pytest.mark.parametrize("app, path", [(a, p) for a in APPS for p in ("/cpu", "/io")])
def test_cpu_and_io_endpoints(host, app, path):
    status, body = get(host, app, path)
    assert status == 200
    assert body["app"] == app


@pytest.mark.parametrize("app", APPS)
def test_worker_count_follows_the_formula(host, app, facts):
    expected = expected_workers(APPS[app]["profile"], facts["ansible_processor_vcpus"], facts["ansible_memtotal_mb"])
    assert len(worker_pids(host, app)) == expected


def test_gthread_threads_are_sized_for_concurrency(host, facts):
    workers = expected_workers("io", facts["ansible_processor_vcpus"], facts["ansible_memtotal_mb"])
    config = host.file("/etc/gunicorn/sync-api.conf.py").content_string
    assert f"threads = {expected_threads(workers)}\n" in config


@pytest.mark.parametrize("app", APPS)
def test_worker_class_is_visible_in_the_processes(host, app):
    titles = host.check_output("ps --no-headers -o args --ppid %s", str(main_pid(host, app))).splitlines()
    assert titles
    assert all(title == f"gunicorn: worker [{app} {APPS[app]['worker_class']}]" for title in titles), titles


def test_uvicorn_workers_run_on_uvloop_and_httptools(host):
    # The role installs uvicorn's compiled event loop and HTTP parser beside uvicorn-worker, and
    # UvicornWorker loads them by itself: each worker has both extension modules mapped.
    workers = worker_pids(host, "async-api")
    assert workers
    for pid in workers:
        maps = host.check_output("cat /proc/%s/maps", str(pid))
        assert "/site-packages/uvloop/loop." in maps, f"worker {pid} runs without uvloop"
        assert "/site-packages/httptools/parser/parser." in maps, f"worker {pid} parses HTTP without httptools"


@pytest.mark.parametrize("app", APPS)
def test_unit_runs_as_the_app_user_with_graceful_settings(host, app):
    props = dict(
        line.split("=", 1)
        for line in host.check_output(
            "systemctl show %s.service --property Type,User,KillMode,Restart,TimeoutStopUSec,ExecReload", app
        ).splitlines()
    )
    assert props["Type"] == "notify"
    assert props["User"] == app
    assert props["KillMode"] == "mixed"
    assert props["Restart"] == "on-failure"
    assert "/bin/kill -s HUP $MAINPID" in props["ExecReload"] or "argv[]=/bin/kill -s HUP" in props["ExecReload"]
    graceful = int(re.search(r"graceful_timeout = (\d+)", host.file(f"/etc/gunicorn/{app}.conf.py").content_string)[1])
    assert props["TimeoutStopUSec"].endswith("s")
    assert int(props["TimeoutStopUSec"].rstrip("s")) > graceful
    pid = str(main_pid(host, app))
    processes = host.check_output("ps --no-headers -o user:32 --pid %s --ppid %s", pid, pid)
    assert set(processes.split()) == {app}


@pytest.mark.parametrize("app", APPS)
def test_exposure_score_is_at_most_two(host, app):
    out = host.check_output("systemd-analyze security --no-pager %s.service", app)
    score = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out)[1])
    assert score <= 2.0, out.splitlines()[-1]


# The demo turns the access log on for async-api only (its entry's access_log: true); sync-api
# keeps the default, where Nginx's access log is the only one.
ACCESS_LOGGED = {"sync-api": False, "async-api": True}


@pytest.mark.parametrize("app", APPS)
def test_access_log_in_the_journal_only_where_asked_for(host, app):
    config = host.file(f"/etc/gunicorn/{app}.conf.py").content_string
    assert ('accesslog = "-"\n' in config) is ACCESS_LOGGED[app], config
    assert ("accesslog = None\n" in config) is not ACCESS_LOGGED[app], config
    since = host.check_output("date --utc '+%Y-%m-%d %H:%M:%S'")
    time.sleep(1)
    assert get(host, app, "/hello")[0] == 200
    time.sleep(1)  # the journal has the line a moment after the worker wrote it
    log = host.check_output(
        "journalctl --unit %s.service --identifier %s --since %s --no-pager --output cat", app, app, f"{since} UTC"
    )
    # Gunicorn's access_log_format (Flask) or the app's timing line (UvicornWorker): both carry µs.
    line = re.search(r'"GET /hello( HTTP/1\.[01])?" 200 (\d+ )?\d+us', log)
    assert bool(line) is ACCESS_LOGGED[app], log[-2000:]


@pytest.mark.parametrize("app", APPS)
def test_user_has_no_login_shell(host, app):
    user = host.user(app)
    assert user.shell == "/usr/sbin/nologin"
    assert user.group == app


@pytest.mark.parametrize("app", APPS)
def test_code_is_root_owned_and_not_writable_by_the_app(host, app):
    current = host.file(f"/srv/{app}/current")
    assert current.is_symlink
    assert current.linked_to.startswith(f"/srv/{app}/releases/")
    code = host.file(f"/srv/{app}/current/app.py")
    assert (code.user, code.group, code.mode) == ("root", "root", 0o644)
    assert host.run("runuser -u %s -- test -w /srv/%s/current/app.py", app, app).rc != 0
    assert host.run("runuser -u %s -- test -w /srv/%s/current/venv/bin/python", app, app).rc != 0
    shared = host.file(f"/srv/{app}/shared")
    assert (shared.user, shared.mode) == (app, 0o750)


@pytest.mark.parametrize("app", APPS)
def test_environment_and_secrets_files(host, app):
    env = host.file(f"/etc/pyweb/{app}/environment")
    assert (env.user, env.mode) == ("root", 0o644)
    assert unit_environment(host, f"{app}.service")["APP_ENV"] == "production"
    secrets = host.file(f"/etc/pyweb/{app}/secrets")
    assert (secrets.user, secrets.group, secrets.mode) == ("root", "root", 0o600)
    assert host.run("runuser -u %s -- cat /etc/pyweb/%s/secrets", app, app).rc != 0


def test_static_files_ship_with_the_flask_release(host):
    for name in ("index.html", "style.css", "app.js"):
        assert host.file(f"/srv/sync-api/current/static/{name}").is_file
