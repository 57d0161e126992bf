"""The converge benchmark: its reading of Ansible's recap, the per-app slope, its targets, the
inventory of N identical apps, and its report."""

import sys

import pytest
import yaml

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import converge  # noqa: E402

OUTPUT = """PLAY RECAP *********************************************************************
pyweb-demo                 : ok=266  changed=0    unreachable=0    failed=0    skipped=103  rescued=0    ignored=0
"""


def run(seconds, changed=0):
    return {"seconds": seconds, "ok": 266, "changed": changed, "unreachable": 0, "failed": 0, "skipped": 103}


def case(fresh, *again):
    runs = [run(s) if not isinstance(s, dict) else s for s in again]
    return {"fresh": run(fresh, changed=70), "again": runs,
            "no_change": sorted(r["seconds"] for r in runs)[len(runs) // 2]}


def test_recap_reads_the_counts():
    assert converge.recap(OUTPUT) == {"ok": 266, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 103}


def test_recap_without_a_recap_fails():
    with pytest.raises(ValueError):
        converge.recap("ERROR! the playbook could not be parsed")


def test_slope_is_the_cost_of_one_more_app():
    assert converge.slope({1: 12.0, 5: 20.0, 10: 30.0}) == pytest.approx(2.0)
    assert converge.slope({3: 10.0}) == 0.0


def test_targets_met_and_missed():
    result = converge.summarise(case(55.0, 18.0, 19.0), {1: case(40.0, 12.0), 10: case(200.0, 39.0)})
    met = {t["target"]: t["met"] for t in result["targets"]}
    assert met == {"demo site.yml, no change": True, "fresh demo converge": True, "10 apps on one host, no change": True,
                   "extra no-change cost per app": True, "extra fresh cost per app": True}
    slow = converge.summarise(case(95.0, 31.0), {1: case(40.0, 12.0), 10: case(400.0, 60.0)})
    assert [t["met"] for t in slow["targets"]] == [False, False, False, False, False]


def test_a_repeated_run_that_changes_something_misses_its_target():
    result = converge.summarise(case(50.0, 10.0, run(10.0, changed=1)), {})
    assert result["targets"][0]["met"] is False and "changed something" in result["targets"][0]["note"]
    assert "**no** (a repeated run changed something)" in converge.markdown(result)


def test_apps_inventory_holds_copies_that_differ_only_in_their_names(tmp_path):
    converge.apps_inventory(tmp_path, 3)
    apps = yaml.safe_load((tmp_path / "group_vars/all/apps.yml").read_text())["pyweb_apps"]
    assert [app["name"] for app in apps] == ["app-01", "app-02", "app-03"]
    assert all({k: v for k, v in app.items() if k != "name"} == {k: v for k, v in apps[0].items() if k != "name"}
               for app in apps)
    hosts = yaml.safe_load((tmp_path / "hosts.yml").read_text())
    assert list(hosts["all"]["children"]["app"]["hosts"]) == [converge.HOST]


def test_report_and_chart(tmp_path):
    result = converge.summarise(case(55.0, 18.0), {1: case(40.0, 12.0), 5: case(100.0, 20.0)})
    result["date"] = "2026-12-04 06:00 UTC"
    text = converge.markdown(result)
    assert "| 5 | 100.0 | 20.0 | 266 | 0 |" in text and "| extra no-change cost per app | ≤ 3 s | 2.0 | yes |" in text
    converge.chart(result, tmp_path / "converge.png")
    assert (tmp_path / "converge.png").stat().st_size > 1000


def test_the_previews_are_read_from_the_task_times_and_reported():
    output = """TASK [pyweb.stack.gunicorn : Run the new release on a private socket and ask its health path] ***
Saturday 05 December 2026  19:00:09 +0000 (0:00:00.098)       0:00:26.546 *****
ok: [pyweb-converge]

TASK [pyweb.stack.gunicorn : Stop before the switch when the new release does not answer its health path] ***
Saturday 05 December 2026  19:00:11 +0000 (0:00:02.100)       0:00:28.646 *****
skipping: [pyweb-converge]

TASK [pyweb.stack.gunicorn : Run the new release on a private socket and ask its health path] ***
Saturday 05 December 2026  19:00:29 +0000 (0:00:00.066)       0:00:47.023 *****
ok: [pyweb-converge]

PLAY RECAP *********************************************************************
Saturday 05 December 2026  19:00:31 +0000 (0:00:01.900)       0:00:48.923 *****
"""
    assert converge.previews(output) == [2.10, 1.90]
    fresh = {**case(55.0, 18.0)["fresh"], "previews": [2.1, 1.9]}
    result = converge.summarise({**case(55.0, 18.0), "fresh": fresh}, {})
    assert ("Health before live: the 2 previews of the fresh demo converge took 4.0 s of its 55.0 s, "
            "2.0 s per deploy (median;") in converge.markdown(result)
