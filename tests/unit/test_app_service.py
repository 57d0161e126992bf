"""pyweb.stack.app_service: what one deploy asks of systemd, as one plan of systemctl commands,
in order and only where the units' states need it (plugins/modules/app_service.py)."""

import pytest

from conftest import ROOT, load_plugin

service = load_plugin(ROOT / "plugins/modules/app_service.py")

RUNNING = {"shop.service": {"UnitFileState": "enabled", "ActiveState": "active"},
           "shop.socket": {"UnitFileState": "enabled", "ActiveState": "active"}}
NEW = {"shop.service": {"UnitFileState": "", "ActiveState": "inactive"},
       "shop.socket": {"UnitFileState": "", "ActiveState": "inactive"}}


def plan(states, **params):
    base = {"service": "shop.service", "socket": "shop.socket", "retire_socket": "", "daemon_reload": False,
            "recreate_socket": False, "restart": False, "reload": False}
    commands, started = service.plan({**base, **params}, states)
    return [" ".join(command) for command in commands], started


def test_units_as_wanted_need_no_command():
    assert plan(RUNNING) == ([], False)


def test_a_new_app_is_loaded_enabled_and_started_socket_first():
    assert plan(NEW, daemon_reload=True, restart=True) == (
        ["daemon-reload", "enable shop.socket", "start shop.socket", "enable shop.service", "start shop.service"], True)


@pytest.mark.parametrize("params, last", [
    ({"restart": True}, "restart shop.service"),
    ({"reload": True}, "reload shop.service"),
    ({"restart": True, "reload": True}, "restart shop.service"),
])
def test_a_running_service_restarts_or_reloads(params, last):
    assert plan(RUNNING, **params) == ([last], False)


def test_a_stopped_service_is_started_not_reloaded():
    states = {**RUNNING, "shop.service": {"UnitFileState": "enabled", "ActiveState": "inactive"}}
    assert plan(states, reload=True) == (["start shop.service"], True)


def test_a_changed_socket_is_recreated_once_the_service_let_go():
    assert plan(RUNNING, daemon_reload=True, recreate_socket=True, restart=True) == (
        ["daemon-reload", "stop shop.service", "restart shop.socket", "start shop.service"], True)


def test_a_socket_no_longer_used_is_stopped_and_disabled_before_the_rest():
    states = {**RUNNING, "shop.socket": {"UnitFileState": "enabled", "ActiveState": "active"}}
    commands, _unused = plan(states, socket="", retire_socket="shop.socket", daemon_reload=True, restart=True)
    assert commands == ["stop shop.socket", "disable shop.socket", "daemon-reload", "restart shop.service"]


def test_a_retired_socket_already_stopped_needs_nothing():
    states = {**RUNNING, "shop.socket": {"UnitFileState": "disabled", "ActiveState": "inactive"}}
    assert plan(states, socket="", retire_socket="shop.socket") == ([], False)


def test_the_show_output_of_several_units_is_read_by_id():
    from ansible_collections.pyweb.stack.plugins.module_utils.systemd_show import parse_show

    out = "Id=shop.service\nActiveState=active\n\nId=shop.socket\nActiveState=inactive\n"
    assert parse_show(out) == {"shop.service": {"Id": "shop.service", "ActiveState": "active"},
                               "shop.socket": {"Id": "shop.socket", "ActiveState": "inactive"}}


@pytest.mark.parametrize("state", ["activating", "failed"])
def test_a_service_that_failed_on_its_new_files_restarts_onto_the_files_now_in_place(state):
    """A reload that killed the server leaves it restarting on its own (activating) or given up
    (failed); a restore that put the previous files back must restart it onto them, not reload a
    unit that is not running or start one past its start limit."""
    states = {**RUNNING, "shop.service": {"UnitFileState": "enabled", "ActiveState": state}}
    assert plan(states, reload=True) == (["reset-failed shop.service", "restart shop.service"], True)
