"""A code change reloads gracefully (same master, new workers, new answer); rollback restores
the previous answer. Runs after test_apps.py (file order) because it changes the release."""

import re
import shutil

from conftest import ROOT, get, main_pid, wait_for, worker_pids


def version(host):
    return get(host, "sync-api", "/hello")[1]["version"]


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

    out = playbook("apps.yml", extra_vars)
    assert "Reload gracefully onto the new release" in out
    assert wait_for(lambda: version(host) == "2")
    assert main_pid(host, "sync-api") == master, "a code change must reload, not restart"
    new_workers = wait_for(lambda: (pids := worker_pids(host, "sync-api")) and not set(pids) & set(workers) and pids)
    assert new_workers, "the old workers were not replaced"
    assert len(new_workers) == len(workers)

    playbook("rollback.yml", extra_vars)
    assert wait_for(lambda: version(host) == "1")
    assert main_pid(host, "sync-api") == master
    assert get(host, "sync-api", "/healthz")[0] == 200


def test_environment_change_restarts_and_a_failing_health_check_fails_the_play(host, demo_apps, playbook, tmp_path):
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    src = str(ROOT / "examples/apps/sync_api")
    master = main_pid(host, "sync-api")
    try:
        # systemd reads the environment only at start: a changed variable must restart the master.
        changed_env = dict(demo, src=src, env={**demo["env"], "HELLO_MESSAGE": "restarted"})
        out = playbook("apps.yml", {"pyweb_apps": [changed_env]})
        assert "Restart onto the new unit, interpreter or environment" in out
        assert main_pid(host, "sync-api") != master
        assert get(host, "sync-api", "/hello")[1]["message"] == "restarted"

        # An app that deploys but never turns healthy fails the play, with the unit's journal shown.
        # Its entry asks for Gunicorn's access log, so the journal carries the failing request too.
        broken = tmp_path / "sync_api"
        shutil.copytree(src, broken, ignore=shutil.ignore_patterns("__pycache__"))
        code = (broken / "app.py").read_text()
        (broken / "app.py").write_text(
            code.replace('return jsonify(status="ok", app=APP_NAME)', 'return jsonify(status="broken", app=APP_NAME), 503')
        )
        out = playbook(
            "apps.yml",
            {"pyweb_apps": [dict(changed_env, src=str(broken), access_log=True)], "gunicorn_health_retries": 3},
            expect_success=False,
        )
        assert "sync-api did not answer /healthz with a 2xx within 3 s." in out
        assert "journalctl -u sync-api:" in out
        assert '"GET /healthz HTTP/1.1" 503' in out
    finally:
        # The demo's own app and environment bring it back, whatever failed above.
        playbook("apps.yml", {"pyweb_apps": [dict(demo, src=src)]})
    assert get(host, "sync-api", "/healthz") == (200, {"status": "ok", "app": "sync-api"})
    assert get(host, "sync-api", "/hello")[1]["message"] == demo["env"]["HELLO_MESSAGE"]
