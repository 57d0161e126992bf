"""Release commands (an entry's release_commands): a SQLite migration and a marker written in the
app's data directory run in the new release before it goes live, as the app's user with its
environment and secrets, their output in the play with the secret masked and in the journal as
written; a run that changes nothing does not run them again; a command that fails stops the deploy
with the previous release serving and names the step and the command. Runs after test_redeploy.py
(file order) and leaves sync-api as the demo deploys it."""

from conftest import ROOT, get, wait_for
from pyweb_testlib import release_independent, versioned_copy

# Ansible's steps, the same on either release (the converge covers what a release changes).
pytestmark = release_independent

SECRET = "rc-secret-4f1c9e27"
MARKER = "/srv/sync-api/shared/release-commands.txt"
DATABASE = "/srv/sync-api/shared/release-commands.sqlite3"
MIGRATE = ("python -c 'import os, sqlite3; db = sqlite3.connect(os.path.join(os.environ[\"APP_DATA_DIR\"], "
           "\"release-commands.sqlite3\")); db.execute(\"create table if not exists migrations (name text primary key)\"); "
           "db.execute(\"insert into migrations values (?)\", (\"0001_initial\",)); db.commit()'")
# Who ran, where, what `current` linked to meanwhile, an env value, the secret and which python.
WHERE = ('printf "%s\\n" "$(id -un)" "$PWD $(pwd -P)" "$(readlink -f /srv/sync-api/current)" "$RC_MARK" "$RC_TOKEN" '
         '"$(command -v python)" > "$APP_DATA_DIR/release-commands.txt"')
SHOW_SECRET = 'echo "the token is $RC_TOKEN"'


def version(host):
    return get(host, "sync-api", "/hello")[1]["version"]


def current(host):
    return host.file("/srv/sync-api/current").linked_to


def source(tmp_path, version_name):
    """The demo's Flask app with another VERSION: a new release."""
    return versioned_copy(ROOT / "examples/apps/sync_api", tmp_path / f"sync_api_{version_name}", version_name)


def entry(demo, src, commands):
    return dict(demo, src=str(src), env={**demo["env"], "RC_MARK": "env-visible"},
                secrets={**demo["secrets"], "RC_TOKEN": SECRET}, release_commands=commands)


def test_release_commands_run_as_the_app_before_the_switch_and_once(host, demo_apps, playbook, tmp_path):
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    host.run(f"rm -f {MARKER} {DATABASE}")
    before = current(host)
    app = entry(demo, source(tmp_path, "rc"), [MIGRATE, WHERE, SHOW_SECRET])
    try:
        out = playbook("apps.yml", {"pyweb_apps": [app]}, args=("-v",))
        assert version(host) == "rc"
        after = current(host)
        assert after != before
        # Ran as the app's user in the new release, with its virtualenv first on PATH, while
        # `current` still pointed at the release that served; the env value and the secret visible.
        user, cwd, live, mark, token, python = host.file(MARKER).content_string.splitlines()
        assert (user, cwd, live, mark, token) == ("sync-api", f"{after} {after}", before, "env-visible", SECRET)
        assert python.startswith("/srv/sync-api/") and python.endswith("/bin/python")
        assert host.file(MARKER).user == "sync-api"
        rows = host.check_output(f"python3 -c 'import sqlite3; print(sqlite3.connect(\"{DATABASE}\")"
                                 ".execute(\"select count(*) from migrations\").fetchone()[0])'")
        assert rows == "1"
        # The play shows each command and its output, the secret masked; the journal as written.
        assert "release command: python -c" in out
        assert "the token is ********" in out
        assert SECRET not in out
        assert wait_for(lambda: f"the token is {SECRET}" in host.check_output(
            "journalctl --quiet --no-pager -o cat -t sync-api-release"))

        # Nothing changed: the plan step skips the deploy and the commands do not run again (the
        # migration would fail on its primary key if they did).
        host.run(f"rm -f {MARKER}")
        out = playbook("apps.yml", {"pyweb_apps": [app]}, args=("-v",))
        assert "Note the step (build)" not in out
        assert "Run the release commands" not in out
        assert not host.file(MARKER).exists
        assert current(host) == after
    finally:
        host.run(f"rm -f {MARKER} {DATABASE}")
        playbook("apps.yml", {"pyweb_apps": [dict(demo, src=str(ROOT / "examples/apps/sync_api"))]})
    assert version(host) == "1"


def test_a_failing_release_command_leaves_the_previous_release_serving(host, demo_apps, playbook, tmp_path):
    demo = next(app for app in demo_apps if app["name"] == "sync-api")
    before = current(host)
    history = host.file("/srv/sync-api/releases.history").content_string
    assert version(host) == "1"
    failing = "echo cannot migrate >&2; exit 4"
    app = entry(demo, source(tmp_path, "rcfail"), [SHOW_SECRET, failing, f"touch {MARKER}"])
    try:
        out = playbook("apps.yml", {"pyweb_apps": [app]}, args=("-v",), expect_success=False)
        assert "failed at the release commands step" in out
        assert f"release command failed (exit status 4): {failing}" in out
        assert "cannot migrate" in out
        assert "sync-api serves it (/healthz answers 2xx)." in out
        assert SECRET not in out
        # The commands after the failing one did not run; the release never went live.
        assert not host.file(MARKER).exists
        assert current(host) == before
        assert version(host) == "1"
        assert get(host, "sync-api", "/healthz")[0] == 200
        assert host.file("/srv/sync-api/releases.history").content_string == history
    finally:
        host.run(f"rm -f {MARKER}")
        playbook("apps.yml", {"pyweb_apps": [dict(demo, src=str(ROOT / "examples/apps/sync_api"))]})
    assert version(host) == "1"
