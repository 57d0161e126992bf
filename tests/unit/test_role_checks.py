"""The checks of the app and gunicorn roles' variables (plugins/filter/role_checks.py): what the
roles' tasks/assert.yml run, and what the apps role runs for every app at once. Each bad value
gives one message that names the variable (and the app), never a secret's value."""

import pytest

from conftest import ROOT, entry_options, load_plugin, role_options

checks = load_plugin(ROOT / "plugins/filter/role_checks.py")
contract = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")
EXAMPLE = str(ROOT / "examples/apps/sync_api")
TEMPLATES = str(ROOT / "templates")

APP, GUNICORN = role_options("app"), role_options("gunicorn")
ENTRY = entry_options()


def selected(*entries, **host_values):
    entries = [{"src": EXAMPLE, **entry} for entry in entries]
    return contract.pyweb_app_role_vars(entries, ENTRY, APP, GUNICORN, host_values=host_values)


def found(*entries, **host_values):
    return checks.pyweb_app_check_problems(selected(*entries, **host_values), APP, GUNICORN, TEMPLATES)


def test_the_example_apps_have_no_problems():
    assert found({"name": "sync-api"}, {"name": "async-api", "profile": "async", "server": "granian"}) == []


@pytest.mark.parametrize("entry, host_values, words", [
    ({"workers": -2}, {}, "workers -2"),
    ({"threads": 4, "profile": "cpu", "worker_class": "sync"}, {}, "gthread worker class"),
    ({"timeout": 0}, {}, "gunicorn_timeout (0)"),
    ({"max_requests": 10, "max_requests_jitter": 50}, {}, "gunicorn_max_requests_jitter (50) at most"),
    ({"bind": "localhost"}, {}, "gunicorn_bind must be unix:/path.sock or host:port"),
    ({"socket_mode": "666"}, {}, "gunicorn_socket_mode must be four octal digits"),
    ({"app_module": "app"}, {}, "gunicorn_app_module must be module:variable"),
    ({"health_path": "health"}, {}, "gunicorn_health_path must start with /"),
    ({"metrics_listen": "localhost:9210"}, {}, "gunicorn_metrics_listen must be empty"),
    ({"profile": "async", "worker_class": "gthread"}, {}, "gunicorn_worker_class gthread does not fit gunicorn_profile async"),
    ({"server": "granian", "max_requests": 100}, {}, "gunicorn_max_requests cannot be set with gunicorn_server granian"),
    ({"server": "granian", "granian_respawn_interval": 0.1}, {}, "0.5 to 120 seconds; got 0.1"),
    ({"config_template": "nope.conf.j2"}, {}, "gunicorn_config_template nope.conf.j2 is not a file"),
    ({"releases_keep": 0}, {}, "app_releases_keep must be at least 1; got 0"),
    ({"env": {"APP_NAME": "x"}}, {}, "app_env/app_secrets keys: APP_NAME"),
    ({"env": {"1BAD": "x"}}, {}, "app_env/app_secrets keys must be shell variable names; app_env has 1BAD"),
    ({"env": {"GUNICORN_CMD_ARGS": "--workers=4"}}, {},
     "app_env/app_secrets keys: GUNICORN_CMD_ARGS in app_env would override the server settings"),
    ({"secrets": {"GRANIAN_WORKERS": "4"}}, {}, "GRANIAN_WORKERS in app_secrets would override"),
    ({"env": {"SENTRY_DSN": None}}, {}, "env (app_env).SENTRY_DSN: it is null"),
    ({"src": "/nonexistent"}, {}, "app_src (\"/nonexistent\") must be, on the controller, a directory"),
    ({"src": "", "src_type": "git", "git_repo": "not a url"}, {}, "app_src_type git needs app_git_repo as a URL"),
    ({"wheelhouse": "/nonexistent"}, {}, "app_wheelhouse (\"/nonexistent\") must be empty"),
    ({}, {"gunicorn_backlog": "many"}, "gunicorn_backlog"),
    ({}, {"gunicorn_timeout": 0}, "gunicorn_timeout (0)"),
])
def test_a_bad_value_gives_one_message_naming_the_app_and_the_variable(entry, host_values, words):
    problems = found({"name": "sync-api", **entry}, **host_values)
    assert len(problems) == 1, problems
    assert problems[0].startswith("sync-api: ") and words in problems[0], problems


def test_a_type_error_stops_that_roles_other_checks():
    problems = found({"name": "sync-api"}, gunicorn_backlog="many", gunicorn_timeout=0)
    assert len(problems) == 1 and "unable to convert to int" in problems[0], problems


def test_secret_values_never_reach_a_message():
    problems = found({"name": "sync-api", "secrets": {"TOKEN": ["hunter2-secret"], "bad key": "hunter3-secret"}})
    assert problems and not any("hunter" in problem for problem in problems), problems


def test_every_app_is_checked_and_named():
    problems = found({"name": "first", "timeout": 0}, {"name": "second", "workers": -1})
    assert [problem.split(":")[0] for problem in problems] == ["first", "second"]


def test_the_tasks_call_the_checks_with_each_roles_spec():
    """The roles' own assert.yml and the apps role's one task run the same filter."""
    for role in ("app", "gunicorn"):
        text = (ROOT / "roles" / role / "tasks" / "assert.yml").read_text()
        assert f"pyweb.stack.role_problems(__{role}_options, '{role}'" in text
    assert "pyweb.stack.pyweb_app_check_problems(" in (ROOT / "roles/apps/vars/main.yml").read_text()
