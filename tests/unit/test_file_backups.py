"""pyweb.stack.file_backups: the one restore and clean-up step behind every file a deploy writes
with a backup (plugins/modules/file_backups.py)."""

import os

import pytest

from conftest import ROOT, load_plugin, play_task

backups = load_plugin(ROOT / "plugins/modules/file_backups.py")

STAMP = ".4242.2026-12-04@10:00:00~"


def test_restored_puts_back_removes_what_the_run_created_and_all_backups():
    items = [{"dest": "/etc/x/a.conf", "changed": True, "existed": True, "backup_file": "/etc/x/a.conf" + STAMP},
             {"dest": "/etc/x/new.conf", "changed": True, "existed": False},
             {"dest": "/etc/x/same.conf", "changed": False, "existed": True}]
    listings = {"/etc/x": ["a.conf", "a.conf" + STAMP, "same.conf.1.2025-01-01@00:00:00~", "new.conf", "other.conf" + STAMP]}
    restore, remove, found = backups.plan(items, [], "restored", listings)
    assert [(backup, item["dest"]) for backup, item in restore] == [("/etc/x/a.conf" + STAMP, "/etc/x/a.conf")]
    assert remove == ["/etc/x/new.conf"]
    # Another file's backup in the same folder is not this run's to remove.
    assert found == ["/etc/x/a.conf" + STAMP, "/etc/x/same.conf.1.2025-01-01@00:00:00~"]


def test_discarded_keeps_the_writes_and_sweeps_the_folders():
    items = ["/etc/x/a.conf", {"dest": "/etc/x/b.conf", "changed": True, "existed": False}]
    listings = {"/etc/x": ["a.conf" + STAMP, "a.conf.bak"], "/etc/y": ["z" + STAMP, "z"]}
    restore, remove, found = backups.plan([backups.as_item(i) for i in items], ["/etc/y"], "discarded", listings)
    assert (restore, remove) == ([], [])
    assert found == ["/etc/x/a.conf" + STAMP, "/etc/y/z" + STAMP]


def test_a_bad_item_is_named():
    with pytest.raises(ValueError, match="path or a mapping with dest"):
        backups.as_item({"mode": "0644"})


@pytest.mark.skipif(os.geteuid() != 0, reason="writes root-owned files")
def test_a_failed_write_comes_back_with_its_mode_and_check_mode_changes_nothing(collections, tmp_path):
    kept = tmp_path / "kept.conf"
    kept.write_text("old\n")
    backup = tmp_path / ("kept.conf" + STAMP)
    backup.write_text("old\n")
    kept.write_text("new\n")
    kept.chmod(0o644)
    created = tmp_path / "created.conf"
    created.write_text("new\n")
    stale = tmp_path / ("created.conf" + STAMP)
    stale.write_text("stale\n")
    items = [{"dest": str(kept), "changed": True, "existed": True, "backup_file": str(backup), "mode": "0600"},
             {"dest": str(created), "changed": True, "existed": False}]

    planned, _output = play_task(collections, tmp_path, "pyweb.stack.file_backups",
                                 {"files": items, "state": "restored"}, "--check")
    assert planned["changed"] and kept.read_text() == "new\n" and created.exists() and backup.exists()

    done, _output = play_task(collections, tmp_path, "pyweb.stack.file_backups", {"files": items, "state": "restored"})
    assert done["restored"] == [str(kept)] and done["removed"] == [str(created)]
    assert kept.read_text() == "old\n" and oct(kept.stat().st_mode & 0o777) == "0o600"
    assert not created.exists() and not backup.exists() and not stale.exists()

    again, _output = play_task(collections, tmp_path, "pyweb.stack.file_backups", {"files": items, "state": "discarded"})
    assert not again["changed"]
