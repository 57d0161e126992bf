"""Development mode: the same app with Gunicorn's code reload and debug logging, so an edited file
in the live release serves without any playbook run; back in production, reload is off again.
Runs after test_apps.py (file order) and leaves sync-api as the demo deploys it."""

import time

from conftest import ROOT, get, main_pid, unit_environment, wait_for, worker_pids
from pyweb_testlib import release_independent

CONFIG = "/etc/gunicorn/sync-api.conf.py"


def version(host):
    status, body = get(host, "sync-api", "/hello")
    return body["version"] if status == 200 else None


@release_independent
def test_development_mode_reloads_edited_code_by_itself_and_production_turns_it_off(host, demo_apps, playbook):
    demo = dict(next(app for app in demo_apps if app["name"] == "sync-api"), src=str(ROOT / "examples/apps/sync_api"))
    try:
        playbook("apps.yml", {"pyweb_apps": [dict(demo, mode="development")]})
        config = host.file(CONFIG).content_string
        assert "reload = True\n" in config
        assert 'loglevel = "debug"\n' in config
        assert 'accesslog = "-"\n' in config
        assert unit_environment(host, "sync-api.service")["APP_ENV"] == "development"
        assert get(host, "sync-api", "/hello")[1]["env"] == "development"

        master, workers = main_pid(host, "sync-api"), worker_pids(host, "sync-api")
        assert version(host) == "1"
        # Edit the code where it runs; no playbook, no systemctl: the workers notice by themselves.
        host.check_output("sed -i 's/^VERSION = \"1\"$/VERSION = \"live-edit\"/' /srv/sync-api/current/app.py")
        assert wait_for(lambda: version(host) == "live-edit", timeout=60), "the edited code was never served"
        new_workers = wait_for(lambda: (pids := worker_pids(host, "sync-api")) and not set(pids) & set(workers) and pids)
        assert new_workers, "the workers were not replaced"
        assert main_pid(host, "sync-api") == master, "the reload replaces workers, not the master"
        journal = host.check_output("journalctl --unit sync-api.service --no-pager --output cat --lines 400")
        assert "Worker reloading: /srv/sync-api/current/app.py modified" in journal
    finally:
        # The demo's production deploy copies the release's files back and turns reload off.
        playbook("apps.yml", {"pyweb_apps": [demo]})

    config = host.file(CONFIG).content_string
    assert "reload = False\n" in config
    assert 'loglevel = "info"\n' in config
    assert "accesslog = None\n" in config
    assert unit_environment(host, "sync-api.service")["APP_ENV"] == "production"
    assert version(host) == "1"
    assert get(host, "sync-api", "/hello")[1]["env"] == "production"

    # In production the same edit is not picked up: the workers keep the code they loaded.
    workers = worker_pids(host, "sync-api")
    edit = "sed -i 's/^VERSION = \"%s\"$/VERSION = \"%s\"/' /srv/sync-api/current/app.py"
    host.check_output(edit, "1", "live-edit")
    try:
        time.sleep(5)  # the development reloader polls every second
        assert version(host) == "1"
        assert worker_pids(host, "sync-api") == workers
    finally:
        host.check_output(edit, "live-edit", "1")
