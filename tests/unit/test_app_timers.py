"""An app's timers (gunicorn_timers, an entry's `timers`): their units, named <app>.<name>, the
command line systemd passes on as written, the timers an app dropped, and the checks that refuse a
bad timer before anything changes (plugins/filter/app_timers.py, role_checks.py)."""

import shlex

import pytest

from conftest import ROOT, app_check_problems, load_plugin, load_yaml, role_options

timers = load_plugin(ROOT / "plugins/filter/app_timers.py")
GUNICORN = role_options("gunicorn")


def test_each_timer_has_a_service_and_a_timer_unit_with_the_spec_defaults():
    files = timers.pyweb_timer_files([{"name": "purge", "command": "flask purge", "schedule": "daily"}], "shop")
    assert [item["dest"] for item in files] == ["/etc/systemd/system/shop.purge.service",
                                                "/etc/systemd/system/shop.purge.timer"]
    expected = {"name": "purge", "command": "flask purge", "schedule": "daily", "timeout": 3600, "persistent": True}
    assert all(item["template_vars"]["gunicorn_timer"] == expected for item in files)
    assert timers.pyweb_timer_units([{"name": "purge"}], "shop") == ["shop.purge.timer"]
    spec = GUNICORN["gunicorn_timers"]["options"]
    assert timers.TIMER_DEFAULTS == {key: spec[key]["default"] for key in timers.TIMER_DEFAULTS}
    for item in files:
        assert (ROOT / "roles/gunicorn/templates" / item["template"]).is_file()


def test_only_the_apps_own_dropped_timers_are_retired():
    on_host = ["shop.purge.timer", "shop.purge.service", "shop.old.timer", "shop.service", "shop.socket",
               "shopping.old.timer", "shop.a.b.timer"]
    assert timers.pyweb_retired_timers(on_host, [{"name": "purge"}], "shop") == ["shop.old.timer"]
    assert timers.pyweb_retired_timers(on_host, [], "shop") == ["shop.old.timer", "shop.purge.timer"]


@pytest.mark.parametrize("command", ['echo "$HOME" 100% done', "printf '%s\\n' a\\\\b", 'sh -c "x=\\"y\\""'])
def test_the_command_reaches_the_shell_as_written(command):
    """systemd's unquoting of ExecStart= (C escapes in double quotes, $$ and %% for a literal $ and
    %), done by hand here, gives back the command."""
    quoted = timers.pyweb_systemd_quote(command)
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    assert "$" not in inner.replace("$$", "") and "%" not in inner.replace("%%", "")
    (word,) = shlex.split(inner.replace("$$", "$").replace("%%", "%").join('""'), posix=True)
    assert word == command
    with pytest.raises(ValueError):
        timers.pyweb_systemd_quote("echo a\necho b")


def test_a_bad_timer_is_refused_by_name():
    def problems(*items):
        return app_check_problems(timers=list(items))

    good = {"name": "purge", "command": "flask purge", "schedule": "daily"}
    assert problems(good) == []
    assert any("gunicorn_timers.bogus" in p for p in problems({**good, "bogus": 1}))
    assert any("gunicorn_timers[1].name must be" in p for p in problems(good, good))
    assert any("gunicorn_timers[0].name must be" in p for p in problems({**good, "name": "Purge_Now"}))
    assert any("command must be a non-empty shell command on one line" in p
               for p in problems({**good, "command": "a\nb"}))
    assert any("timeout must be at least 1 second" in p for p in problems({**good, "timeout": 0}))
    assert any("schedule must be one calendar expression" in p for p in problems({**good, "schedule": " "}))


def test_the_named_timers_of_refused_schedules():
    selected = [{"name": "shop", "gunicorn": {"gunicorn_timers": [{"name": "a", "schedule": "nope"},
                                                                  {"name": "b", "schedule": "daily"}]}}]
    assert timers.pyweb_app_timers_named(selected, ["nope"]) == ["pyweb_apps[shop].timers[a].schedule 'nope'"]


def test_the_schedules_are_checked_on_the_host_before_anything_changes():
    tasks = load_yaml(ROOT / "roles/apps/tasks/assert.yml")
    names = [task["name"] for task in tasks]
    assert names.index("Check the timers' schedules with systemd's own parser") < names.index(
        "Note the variables whose checks passed")
    check = tasks[names.index("Check the timers' schedules with systemd's own parser")]
    assert check["check_mode"] is False and check["ansible.builtin.command"]["expand_argument_vars"] is False
