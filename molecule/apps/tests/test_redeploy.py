"""A code change reloads gracefully (same master, new workers, new answer); rollback restores
the previous answer; a release that fails its import check or its preview never goes live:
the previous release serves, also after a worker respawn and a restart. Runs after test_apps.py
(file order) because it changes the release."""

import os
import re
import shutil
import signal
import subprocess

from conftest import ROOT, get, main_pid, wait_for, worker_pids
from pyweb_testlib import playbook_command, release_independent

# What these tests prove is the deploy's order and its switch back (Ansible's tasks, Gunicorn's
# HUP at the pinned version): the same on either release. The converge, the idempotence run and
# the other tests of this scenario cover what a release changes (Python, systemd, Nginx).
pytestmark = release_independent


def version(host):
    return get(host, "sync-api", "/hello")[1]["version"]


def copy_with(tmp_path, edit):
    """The demo's Flask app with its app.py edited."""
    src = tmp_path / "sync_api"
    shutil.copytree(ROOT / "examples/apps/sync_api", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "app.py").write_text(edit((src / "app.py").read_text()))
    return src


def current_release(host, app="sync-api"):
    return os.path.basename(host.file(f"/srv/{app}/current").linked_to)


def backups(host, app):
    """Copies of replaced files (name.<pid>.<date>@<time>~) a deploy keeps only until it passed or
    was switched back."""
    return host.run(f"find /etc/gunicorn /etc/pyweb/{app} /etc/systemd/system -maxdepth 1 -name '*~'").stdout.split()


def serves_after_respawn_and_restart(host, app, serves):
    """serves() holds now, after kill -9 of a worker (its replacement imports `current` again) and
    after a restart of the unit (a new master reads the config, the unit and the environment)."""
    assert wait_for(serves), f"{app} does not serve the expected release"
    workers = worker_pids(host, app)
    host.run("kill -9 %s", str(workers[0]))
    assert wait_for(lambda: (pids := worker_pids(host, app)) and workers[0] not in pids and len(pids) == len(workers))
    assert wait_for(serves), f"{app} serves another release once a worker respawned"
    host.run("systemctl restart %s.service", app)
    assert wait_for(lambda: host.service(f"{app}.service").is_running and serves()), (
        f"{app} serves another release after a restart")


def test_code_change_reloads_and_rollback_restores(host, demo_apps, playbook, tmp_path):
    master = main_pid(host, "sync-api")
    workers = worker_pids(host, "sync-api")
    assert version(host) == "1"

    # The same app with one line of code changed, deployed the way the demo deploys it.
    src = tmp_path / "sync_api"
    shutil.copytree(ROOT / "examples/apps/sync_api", src, ignore=shutil.ignore_patterns("__pycache__"))
    code = (src / "app.py").read_text()
    (src / "app.py").write_text(re.sub(r'^VERSION = "1"$', 'VERSION = "2"', code, flags=re.M))
    sync_api = dict(next(app for app in demo_apps if app["name"] == "sync-api"), src=str(src))
    extra_vars = {"pyweb_apps": [sync_api]}

    playbook("apps.yml", extra_vars)
    assert wait_for(lambda: version(host) == "2")
    assert main_pid(host, "sync-api") == master, "a code change must reload, not restart"
    new_workers = wait_for(lambda: (pids := worker_pids(host, "sync-api")) and not set(pids) & set(workers) and pids)
    assert new_workers, "the old workers were not replaced"
    assert len(new_workers) == len(workers)

    playbook("rollback.yml", extra_vars)
    assert wait_for(lambda: version(host) == "1")
    assert main_pid(host, "sync-api") == master
    assert get(host, "sync-api", "/healthz")[0] == 200


def test_a_release_that_cannot_import_never_goes_live(host, demo_apps, playbook, tmp_path):
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    before = current_release(host)
    history = host.file("/srv/sync-api/releases.history").content_string
    broken = copy_with(tmp_path, lambda code: re.sub(r'^VERSION = "1"$', 'VERSION = "bad"\nimport no_such_module',
                                                     code, flags=re.M))
    try:
        out = playbook("apps.yml", {"pyweb_apps": [dict(demo, src=str(broken), releases_keep=1)]},
                       expect_success=False)
        assert "No module named 'no_such_module'" in out
        assert "sync-api: the deploy of release " in out
        assert "failed at the check step (Write the server config, the units and the environment record that differ: " in out
        assert f"Switched back to release {before} with its previous environment, config and units; " \
               "sync-api serves it (/healthz answers 2xx)." in out
        assert current_release(host) == before
        assert host.file("/srv/sync-api/releases.history").content_string == history
        assert host.file(f"/srv/sync-api/releases/{before}/venv/bin/gunicorn").exists
        assert backups(host, "sync-api") == []
        serves_after_respawn_and_restart(host, "sync-api", lambda: version(host) == "1")
    finally:
        playbook("apps.yml", {"pyweb_apps": [dict(demo, src=str(ROOT / "examples/apps/sync_api"))]})
    assert version(host) == "1"


def test_environment_change_restarts_and_a_failing_health_check_switches_back(host, demo_apps, playbook, tmp_path):
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    src = str(ROOT / "examples/apps/sync_api")
    master = main_pid(host, "sync-api")
    try:
        # systemd reads the environment only at start: a changed variable must restart the master.
        changed_env = dict(demo, src=src, env={**demo["env"], "HELLO_MESSAGE": "restarted"})
        playbook("apps.yml", {"pyweb_apps": [changed_env]})
        assert main_pid(host, "sync-api") != master
        assert get(host, "sync-api", "/hello")[1]["message"] == "restarted"
        before = current_release(host)
        config = host.file("/etc/gunicorn/sync-api.conf.py").content_string
        master = main_pid(host, "sync-api")

        # An app that imports but never turns healthy fails its preview: its own server, on a
        # private socket, does not answer the health path, and the unit's journal is shown; its
        # entry asks for Gunicorn's access log, so the journal carries the failing request too. It
        # never goes live: the previous release, config and environment stay, and with
        # releases_keep 1 the previous release was not pruned before the preview.
        def broken_health(code):
            code = re.sub(r'^VERSION = "1"$', 'VERSION = "3"', code, flags=re.M)
            return code.replace('return jsonify(status="ok", app=APP_NAME)',
                                'return jsonify(status="broken", app=APP_NAME), 503')

        broken = copy_with(tmp_path, broken_health)
        out = playbook(
            "apps.yml",
            {"pyweb_apps": [dict(changed_env, src=str(broken), access_log=True, releases_keep=1)],
             "gunicorn_health_retries": 3},
            expect_success=False,
        )
        assert "sync-api did not answer /healthz with a 2xx within 3 s on its new release, before it went live" in out
        assert "Last answer: 503" in out
        assert "(sync-api_preview.service):" in out
        assert '"GET /healthz HTTP/1.1" 503' in out
        assert "failed at the preview step (Stop before the switch when the new release does not answer its " \
               "health path: sync-api did not answer /healthz" in out
        assert f"Switched back to release {before} with its previous environment, config and units; " \
               "sync-api serves it (/healthz answers 2xx)." in out
        # The preview's unit is gone, and nothing of it is left in /run.
        assert host.run("systemctl is-active sync-api_preview.service").stdout.strip() in ("inactive", "unknown")
        assert not host.file("/run/sync-api_preview").exists
        assert host.check_output("ls /run | grep -c '^pyweb-preview' || true") == "0"
        # Nothing of the broken release went live: the master was never reloaded or restarted.
        assert main_pid(host, "sync-api") == master
        assert current_release(host) == before
        assert host.file("/etc/gunicorn/sync-api.conf.py").content_string == config
        assert host.file(f"/srv/sync-api/releases/{before}/venv/bin/gunicorn").exists
        assert backups(host, "sync-api") == []
        serves_after_respawn_and_restart(
            host, "sync-api",
            lambda: get(host, "sync-api", "/healthz")[0] == 200 and version(host) == "1"
            and get(host, "sync-api", "/hello")[1]["message"] == "restarted")
    finally:
        # The demo's own app and environment bring it back, whatever failed above.
        playbook("apps.yml", {"pyweb_apps": [dict(demo, src=src)]})
    assert get(host, "sync-api", "/healthz") == (200, {"status": "ok", "app": "sync-api"})
    assert get(host, "sync-api", "/hello")[1]["message"] == demo["env"]["HELLO_MESSAGE"]


def test_an_unchanged_app_is_skipped_and_a_hand_edit_is_put_back(host, demo_apps, playbook):
    """The plan step: an app whose record matches the plan and the host costs one round trip and
    runs no deploy step; a config edited by hand is found, written back and reloaded onto."""
    extra_vars = {"pyweb_apps": [next(app for app in demo_apps if app["name"] == "sync-api")]}
    # This run's plan (the src path as this playbook sees it) gets its record, then is matched.
    playbook("apps.yml", extra_vars)
    out = playbook("apps.yml", extra_vars, args=("-v",))
    # The task shows its answer once.
    answers = [line for line in re.findall(r"last deploy left it: sync-api\] \**\n.*\n(.*)", out)
               if not line.startswith("skipping")]
    assert len(answers) == 1 and '"matches": true' in answers[0], answers or out[-3000:]
    assert "Note the step (build)" not in out, "a matching app ran its deploy steps"
    record = host.file("/srv/sync-api/.pyweb-deployed.json")
    assert record.user == "root" and record.mode == 0o600

    config = "/etc/gunicorn/sync-api.conf.py"
    before = host.file(config).content_string
    assert host.run(f"echo '# edited by hand' >> {config}").rc == 0
    out = playbook("apps.yml", extra_vars, args=("-v",))
    assert re.search(rf"\"matches\": false.*path {re.escape(config)}: file ", out), out[-3000:]
    assert host.file(config).content_string == before
    assert get(host, "sync-api", "/healthz")[0] == 200


def interrupted_run(extra_vars, at_task):
    """apps.yml killed (as by a lost connection: no handler, no rescue) when it starts at_task."""
    cmd, env, vars_file = playbook_command("apps.yml", extra_vars)
    seen = []
    try:
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True) as run:
            for line in run.stdout:
                seen.append(line)
                if line.startswith(f"TASK [{at_task}]"):
                    os.killpg(run.pid, signal.SIGKILL)
                    break
            run.wait()
    finally:
        vars_file.unlink()
    return "".join(seen)


def test_a_deploy_stopped_after_the_switch_goes_live_whole_on_the_next_run(host, demo_apps, playbook, tmp_path):
    """A deploy killed after `current` switched, before the service reloaded: old workers would
    serve on while new ones import the new code. The next run finds the deploy record marked as
    under way and checks and restarts the app, though it finds nothing else to change."""
    demo = dict(next(app for app in demo_apps if app["name"] == "sync-api"), src=str(ROOT / "examples/apps/sync_api"))
    playbook("apps.yml", {"pyweb_apps": [demo]})
    assert version(host) == "1"
    version_2 = copy_with(tmp_path, lambda code: re.sub(r'^VERSION = "1"$', 'VERSION = "2"', code, flags=re.M))
    newer = dict(demo, src=str(version_2))
    try:
        out = interrupted_run({"pyweb_apps": [newer], "pyweb_apps_limit": ["sync-api"]},
                              "Start, reload or restart the service onto the release")
        assert "TASK [Switch current to the checked release]" in out, out[-3000:]
        master = main_pid(host, "sync-api")
        # The window the test is about: the new release is current, the old one still serves.
        assert current_release(host) != "" and version(host) == "1"

        out = playbook("apps.yml", {"pyweb_apps": [newer]}, args=("-v",))
        assert "the last deploy stopped part way" in out
        assert wait_for(lambda: version(host) == "2")
        assert main_pid(host, "sync-api") != master, "the app was not restarted onto the whole release"
        # Finished: the next run finds the app as this one left it.
        assert '"matches": true' in playbook("apps.yml", {"pyweb_apps": [newer]}, args=("-v",))
    finally:
        playbook("apps.yml", {"pyweb_apps": [demo]})
    assert version(host) == "1"
