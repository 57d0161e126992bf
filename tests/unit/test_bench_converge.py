"""The converge benchmark's reading of Ansible's recap and its targets."""

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import converge  # noqa: E402

OUTPUT = """PLAY RECAP *********************************************************************
pyweb-demo                 : ok=266  changed=0    unreachable=0    failed=0    skipped=103  rescued=0    ignored=0
"""


def run(seconds, changed=0):
    return {"seconds": seconds, "ok": 266, "changed": changed, "unreachable": 0, "failed": 0, "skipped": 103}


def test_recap_reads_the_counts():
    assert converge.recap(OUTPUT) == {"ok": 266, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 103}


def test_recap_without_a_recap_fails():
    with pytest.raises(ValueError):
        converge.recap("ERROR! the playbook could not be parsed")


def test_targets_met_and_missed():
    result = converge.summarise(run(85.0, changed=70), [run(29.0), run(40.0), run(25.0)])
    fresh, again = result["targets"]
    assert fresh["met"] is True and fresh["value"] == 85.0
    assert again["value"] == 29.0 and again["met"] is True
    slow = converge.summarise(run(95.0, changed=70), [run(31.0), run(31.0)])
    assert [t["met"] for t in slow["targets"]] == [False, False]


def test_a_repeated_run_that_changes_something_misses_its_target():
    result = converge.summarise(run(60.0, changed=70), [run(10.0), run(10.0, changed=1)])
    again = result["targets"][1]
    assert again["met"] is False and "changed something" in again["note"]
    assert "**no** (a repeated run changed something)" in converge.markdown(result)
