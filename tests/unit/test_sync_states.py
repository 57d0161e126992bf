"""The probe comparison (plugins/filter/sync_states.py): a path that matches is left alone, any
difference (missing, type, owner, group, mode, link target) asks for the task."""

import pytest

from conftest import ROOT, load_plugin

states_filter = load_plugin(ROOT / "plugins" / "filter" / "sync_states.py")
DIR = {"path": "/srv/shop", "type": "directory", "owner": "root", "group": "root", "mode": "0755"}
LINK = {"path": "/srv/shop/current", "type": "link", "target": "releases/abc"}
GOOD_DIR = {"exists": True, "type": "directory", "owner": "root", "group": "root", "mode": "0755"}


@pytest.mark.parametrize("item, state, reason", [
    (DIR, GOOD_DIR, ""),
    (DIR, None, "missing"),
    (DIR, {"exists": False}, "missing"),
    (DIR, {**GOOD_DIR, "type": "file"}, "a file, not a directory"),
    (DIR, {**GOOD_DIR, "owner": "shop"}, "owner"),
    (DIR, {**GOOD_DIR, "group": "shop"}, "group"),
    (DIR, {**GOOD_DIR, "mode": "0750"}, "mode"),
    (LINK, {"exists": True, "type": "link", "target": "releases/abc"}, ""),
    (LINK, {"exists": True, "type": "link", "target": "releases/old"}, "target"),
    (LINK, GOOD_DIR, "a directory, not a link"),
])
def test_path_differs(item, state, reason):
    assert states_filter.path_differs(item, state) == reason


def test_only_the_paths_that_differ_are_returned():
    states = {"/srv/shop": GOOD_DIR, "/srv/shop/current": {"exists": False}}
    assert states_filter.sync_paths_to_fix([DIR, LINK], states) == [LINK]
    assert states_filter.sync_paths_to_fix([DIR], {"/srv/shop": GOOD_DIR}) == []


def test_systemctl_show_is_read_per_unit():
    output = ("Id=shop.service\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\n\n"
              "Id=shop.socket\nLoadState=loaded\nUnitFileState=disabled\nActiveState=inactive\n")
    units = states_filter.sync_unit_states(output)
    assert units["shop.service"]["ActiveState"] == "active"
    assert units["shop.socket"] == {"Id": "shop.socket", "LoadState": "loaded", "UnitFileState": "disabled",
                                    "ActiveState": "inactive"}
    assert states_filter.sync_unit_states("") == {}
