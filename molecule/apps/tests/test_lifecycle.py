"""An app's life on a host after its first deploy: socket activation turned off, a timer's job on
its schedule and the timer dropped again, background workers (one dropped, one failing on a new
release and switched back), a rename that keeps
the TCP port, removal (`state: absent`) with and without its data, and Nginx settings that still
point at an app being removed. A throwaway app, `scratch`, a copy of the demo's Flask app, so the
other tests' apps are untouched; the tests run in file order, each on what the previous left."""

from conftest import ROOT, host_http, wait_for
from pyweb_testlib import release_independent
from test_real_apps import entry as real_entry

pytestmark = release_independent

PORT = 8071
NAMES = ("scratch", "scratch2")
DATA = "kept across the rename"
# A job that takes longer than its schedule's interval (every 2 s; AccuracySec=1s in the unit).
TICK_LOG = "/srv/scratch/shared/tick.log"
TICK = {"name": "tick", "schedule": "*:*:0/2", "timeout": 60,
        "command": 'echo "start $(date +%s.%N)" >> "$APP_DATA_DIR/tick.log"; echo "tick from $(pwd -P)"; sleep 3; '
                   'echo "end $(date +%s.%N)" >> "$APP_DATA_DIR/tick.log"'}
# A background worker that notes where it started and whether it was asked to stop (SIGINT, as RQ).
BEAT = {"name": "beat", "count": 2, "stop_signal": "SIGINT", "stop_timeout": 10,
        "command": "python -c 'import os, signal, sys, time; "
                   "log = open(os.path.join(os.environ[\"APP_DATA_DIR\"], "
                   "\"beat-%s.log\" % os.environ[\"PYWEB_WORKER_INSTANCE\"]), \"a\", buffering=1); "
                   "log.write(\"start \" + os.getcwd() + chr(10)); "
                   "signal.signal(signal.SIGINT, lambda *_: (log.write(\"graceful\" + chr(10)), sys.exit(0))); "
                   "[time.sleep(1) for _ in iter(int, 1)]'"}


def scratch(name="scratch", **changes):
    """The demo's Flask app under another name, on its own TCP port."""
    return {"name": name, "src": str(ROOT / "examples/apps/sync_api"), "app_module": "app:app",
            "profile": "io", "worker_class": "gthread", "bind": f"127.0.0.1:{PORT}",
            "secrets": {"SECRET_KEY": "scratch-not-secret"}, **changes}


def answering_app(host):
    """The app name that answers on PORT, or None when nothing does."""
    result = host.run("python3 -c %s",
                      "import json, urllib.request; "
                      f"print(json.load(urllib.request.urlopen('http://127.0.0.1:{PORT}/hello', timeout=5))['app'])")
    return result.stdout.strip() if result.rc == 0 else None


def unit(host, name):
    """LoadState, ActiveState and UnitFileState of a unit."""
    out = host.check_output("systemctl show --property LoadState,ActiveState,UnitFileState %s", name)
    return dict(line.split("=", 1) for line in out.splitlines())


def listeners(host):
    """The processes listening on PORT (ss -p names them)."""
    return host.check_output("ss -Hltnp 'sport = :%s'", str(PORT))


def test_a_failed_deploy_that_moved_the_bind_switches_back_onto_the_previous_socket(host, playbook):
    """A deploy moves the app from its unix socket to a TCP port and fails its health gate: the
    previous units come back with the socket they name (systemd re-creates it), and the app
    serves there again, not on the port."""
    unix_socket = "/run/gunicorn/scratch.sock"
    playbook("apps.yml", {"pyweb_apps": [scratch(bind=f"unix:{unix_socket}")]})
    assert host_http(host, "/hello", socket=unix_socket)["status"] == 200

    out = playbook("apps.yml", {"pyweb_apps": [scratch(socket_activation=True, health_path="/missing")],
                                "gunicorn_health_retries": 2}, expect_success=False)
    assert "scratch did not answer /missing with a 2xx" in out
    # Before, the socket kept listening on the port the failed units named, and the restarted
    # Gunicorn found no socket to inherit and could not bind the path itself.
    assert wait_for(lambda: host_http(host, "/hello", socket=unix_socket)["status"] == 200)
    assert unit(host, "scratch.socket")["ActiveState"] == "active"
    assert unit(host, "scratch.service")["ActiveState"] == "active"
    assert answering_app(host) is None, "the port of the failed deploy still answers"


def test_a_socket_activated_app_on_a_tcp_port_serves(host, playbook):
    playbook("apps.yml", {"pyweb_apps": [scratch(socket_activation=True)]})
    assert wait_for(lambda: answering_app(host) == "scratch")
    assert unit(host, "scratch.socket")["ActiveState"] == "active"
    assert "systemd" in listeners(host)
    host.run_expect([0], "install -o scratch -g scratch -m 0640 /dev/null /srv/scratch/shared/keep.txt")
    host.run_expect([0], "echo %s > /srv/scratch/shared/keep.txt", DATA)


def test_turning_socket_activation_off_stops_the_socket(host, playbook):
    playbook("apps.yml", {"pyweb_apps": [scratch(socket_activation=False, timers=[TICK], background_workers=[BEAT])]})
    # Before, the socket kept listening on the port and Gunicorn could not bind it.
    assert wait_for(lambda: answering_app(host) == "scratch")
    socket = unit(host, "scratch.socket")
    assert socket["ActiveState"] == "inactive" and socket["LoadState"] == "not-found", socket
    assert not host.file("/etc/systemd/system/sockets.target.wants/scratch.socket").exists
    assert "gunicorn" in listeners(host) and "systemd" not in listeners(host)


def tick_runs(host):
    """(start, end) of each finished run of the tick timer's job, from the log it keeps."""
    lines = host.file(TICK_LOG).content_string.split() if host.file(TICK_LOG).exists else []
    marks = list(zip(lines[::2], lines[1::2]))
    starts = [float(value) for mark, value in marks if mark == "start"]
    ends = [float(value) for mark, value in marks if mark == "end"]
    return list(zip(starts, ends))


def test_a_timer_runs_its_job_on_schedule_as_the_app_and_never_twice_at_once(host):
    """The job (deployed by the test above) takes longer than its schedule's interval: systemd
    starts the next run only once the last one ended."""
    timer = unit(host, "scratch.tick.timer")
    assert (timer["ActiveState"], timer["UnitFileState"]) == ("active", "enabled"), timer
    assert "scratch.tick.timer" in host.check_output("systemctl list-timers --all --no-pager")
    assert wait_for(lambda: len(tick_runs(host)) >= 2, timeout=40, interval=1), host.file(TICK_LOG).content_string
    runs = tick_runs(host)
    assert all(end - start >= 3 for start, end in runs), runs
    assert all(later[0] >= earlier[1] for earlier, later in zip(runs, runs[1:])), f"overlapping runs: {runs}"
    assert host.file(TICK_LOG).user == "scratch"
    assert "tick from /srv/scratch/releases/" in host.check_output("journalctl -t scratch.tick --no-pager -o cat")


def beat(host, number):
    """What background worker scratch.beat@<number> wrote, line by line."""
    path = f"/srv/scratch/shared/beat-{number}.log"
    return host.file(path).content_string.splitlines() if host.file(path).exists else []


def test_background_workers_run_from_the_release_as_the_app(host):
    for number in (1, 2):
        name = f"scratch.beat@{number}.service"
        state = unit(host, name)
        assert (state["ActiveState"], state["UnitFileState"]) == ("active", "enabled"), (name, state)
        pid = host.check_output("systemctl show --property MainPID --value %s", name)
        assert host.check_output("ps -o user= -p %s", pid) == "scratch"
        assert wait_for(lambda: beat(host, number)), name
        assert beat(host, number)[-1].startswith("start /srv/scratch/releases/"), beat(host, number)


def test_a_timer_left_out_of_the_entry_is_stopped_and_removed(host, playbook):
    """The same release with one timer and one worker instance fewer: the timer's units go, the
    second worker is asked to stop (its stop signal), the first keeps running untouched."""
    first = host.check_output("systemctl show --property MainPID --value scratch.beat@1.service")
    playbook("apps.yml", {"pyweb_apps": [scratch(socket_activation=False, background_workers=[dict(BEAT, count=1)])]})
    for name in ("scratch.tick.timer", "scratch.tick.service"):
        assert unit(host, name)["LoadState"] == "not-found", name
        assert not host.file(f"/etc/systemd/system/{name}").exists
    assert answering_app(host) == "scratch"
    assert unit(host, "scratch.beat@2.service")["ActiveState"] == "inactive"
    assert not host.file("/etc/systemd/system/multi-user.target.wants/scratch.beat@2.service").exists
    assert beat(host, 2)[-1] == "graceful"
    assert host.check_output("systemctl show --property MainPID --value scratch.beat@1.service") == first


def test_a_worker_that_fails_on_the_new_release_switches_the_deploy_back(host, playbook):
    graceful = beat(host, 1).count("graceful")
    out = playbook("apps.yml", {"pyweb_apps": [scratch(socket_activation=False, background_workers=[
        dict(BEAT, count=1, command="python -c 'raise SystemExit(3)'")])]}, expect_success=False)
    assert "background workers scratch.beat@1.service" in out and "did not stay up" in out, out[-3000:]
    # Back on the previous unit: the worker that stopped for the failed one runs the old command again.
    assert wait_for(lambda: unit(host, "scratch.beat@1.service")["ActiveState"] == "active", timeout=60), \
        host.run("journalctl -u scratch.beat@1.service --no-pager -n 30").stdout
    assert beat(host, 1).count("graceful") == graceful + 1
    assert wait_for(lambda: beat(host, 1)[-1].startswith("start /srv/scratch/releases/"))
    assert "raise SystemExit" not in host.file("/etc/systemd/system/scratch.beat@.service").content_string
    assert answering_app(host) == "scratch"


def test_a_rename_takes_over_the_port_and_the_old_app_is_removed(host, playbook):
    """scratch was deployed from a list of its own (the extra vars of the tests above), which the
    rename drops: the next runs find it running with no entry. A run reports it and leaves it; with
    pyweb_apps_remove_undeclared, the run that deploys scratch2 removes it first, so scratch2 takes
    over its port in the same run."""
    out = playbook("apps.yml", {"pyweb_apps_limit": ["sync-api"]})
    assert "pyweb deployed scratch on this host, and no entry of pyweb_apps names it any more: still running" in out
    assert answering_app(host) == "scratch"

    out = playbook("apps.yml", {"pyweb_apps__renamed": [scratch("scratch2", socket_activation=True)],
                                "pyweb_apps_remove_undeclared": True})
    assert "pyweb deployed scratch on this host, and no entry of pyweb_apps names it any more: removed in this run" in out
    assert wait_for(lambda: answering_app(host) == "scratch2")
    for name in ("scratch.service", "scratch.socket"):
        state = unit(host, name)
        assert (state["LoadState"], state["ActiveState"]) == ("not-found", "inactive"), (name, state)
    assert unit(host, "scratch.beat@1.service")["LoadState"] == "not-found"
    assert not host.file("/etc/systemd/system/scratch.beat@.service").exists
    for path in ("/etc/pyweb/scratch", "/etc/gunicorn/scratch.conf.py", "/srv/scratch/releases",
                 "/srv/scratch/venvs", "/srv/scratch/current", "/srv/scratch/releases.history"):
        assert not host.file(path).exists, f"{path} stayed after state: absent"
    # The data and the user that owns it stay without purge_data.
    assert host.file("/srv/scratch/shared/keep.txt").content_string.strip() == DATA
    assert host.user("scratch").exists


def test_nginx_settings_that_point_at_an_app_being_removed_are_refused(host, playbook):
    notes_socket = "/run/gunicorn/notes.sock"
    before = host_http(host, "/health", socket=notes_socket)
    out = playbook("apps.yml", {"pyweb_apps__real": [real_entry("notes", state="absent"), real_entry("chat")],
                                "pyweb_apps_limit": ["notes"]}, expect_success=False)
    assert ("nginx_upstreams[notes] sends requests to unix:/run/gunicorn/notes.sock, the socket of notes, "
            "whose entry in pyweb_apps has state absent") in out
    # Refused before anything changed: notes still serves.
    assert host_http(host, "/health", socket=notes_socket)["status"] == before["status"] == 200
    assert host.file("/etc/pyweb/notes/secrets").exists


def test_purge_data_removes_the_data_and_the_user(host, playbook):
    # scratch was removed already (its data and user stayed); scratch2 still serves.
    playbook("apps.yml", {"pyweb_apps": [scratch(name, state="absent", purge_data=True) for name in NAMES]})
    for name in NAMES:
        assert not host.file(f"/srv/{name}").exists
        assert not host.user(name).exists
        assert not host.group(name).exists
        assert unit(host, f"{name}.service")["LoadState"] == "not-found"
    assert answering_app(host) is None
