"""pyweb.stack.sync_tree (plugins/action/sync_tree.py): the manifest and the release name it gives
(the same as sha256sum's, so releases keep their names), and the real action run by
ansible-playbook on this machine: copy once, nothing on the second run, a file edited on the host
brings the whole tree back, check mode copies nothing."""

import os
import stat
import subprocess

import pytest

from conftest import ROOT, load_plugin, play_task

action = load_plugin(ROOT / "plugins" / "action" / "sync_tree.py")
SHELL_MANIFEST = ("find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z"
                  " | xargs -0 --no-run-if-empty sha256sum")


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "src"
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / "pkg" / "stale.pyc").write_bytes(b"\0")
    (root / "B.txt").write_text("upper\n")
    (root / "a b.py").write_text("space = 1\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o750)
    (root / "link.py").symlink_to("a b.py")
    return root


def test_the_manifest_is_sha256sums_and_the_name_its_digest(tree):
    shell = subprocess.run(SHELL_MANIFEST, shell=True, cwd=tree, capture_output=True, text=True, check=True).stdout
    assert action.manifest(tree) == shell
    assert action.tree_files(tree) == ["./B.txt", "./a b.py", "./pkg/__init__.py", "./run.sh"]
    # The name releases had when the manifest came from the shell: the digest of its text.
    named = subprocess.run(f"({SHELL_MANIFEST}) | sha256sum", shell=True, cwd=tree, capture_output=True, text=True,
                           check=True).stdout[:12]
    assert action.tree_id(action.manifest(tree)) == named


def test_the_install_command_moves_a_new_dest_into_place_only_once_unpacked():
    command = action.install_command("/tmp/t.tar.gz", "/srv/a/releases/x y", "root", "root")
    new = command[command.index("else"):]
    assert new.index("-C '/srv/a/releases/x y.new'") < new.index("mv '/srv/a/releases/x y.new' '/srv/a/releases/x y'")
    assert "chmod -R u=rwX,go=rX '/srv/a/releases/x y.new'" in new


def test_copies_once_then_nothing_then_repairs(collections, tree, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("owns the copy by root")
    releases = tmp_path / "releases"
    args = {"src": str(tree), "parent": str(releases)}
    planned, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args, "--check")
    assert planned["changed"] and not releases.exists()

    first, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args)
    dest = releases / first["name"]
    assert first["changed"] and first["files"] == 4 and first["name"] == action.tree_id(action.manifest(tree))
    assert (dest / "a b.py").read_text() == "space = 1\n" and not (dest / "link.py").exists()
    assert not (dest / "pkg" / "__pycache__").exists() and not (dest / "pkg" / "stale.pyc").exists()
    assert stat.S_IMODE((dest / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "B.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "pkg").stat().st_mode) == 0o755
    assert (dest / "B.txt").stat().st_uid == 0

    second, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args)
    assert not second["changed"]

    # Repaired in place: the directory a running process may be in stays the same.
    inode = dest.stat().st_ino
    (dest / "B.txt").write_text("edited on the host\n")
    (dest / "B.txt").chmod(0o600)
    third, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args)
    assert third["changed"] and (dest / "B.txt").read_text() == "upper\n"
    assert stat.S_IMODE((dest / "B.txt").stat().st_mode) == 0o644 and dest.stat().st_ino == inode
    assert sorted(path.name for path in releases.iterdir()) == [first["name"]]

    named, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", {**args, "name": "v1"})
    assert named["name"] == "v1" and (releases / "v1" / "B.txt").exists()


def test_a_named_destination_with_other_files_is_refused_not_rewritten(collections, tree, tmp_path):
    """With refuse, a release named by its caller never changes once made: a changed, an added or a
    deleted file is refused with the caller's message, and the release stays as it was."""
    if os.geteuid() != 0:
        pytest.skip("owns the copy by root")
    releases = tmp_path / "releases"
    args = {"src": str(tree), "parent": str(releases), "name": "v1", "refuse": "app_release_id: v1 is taken"}
    first, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args)
    assert first["changed"] and (releases / "v1" / "B.txt").read_text() == "upper\n"
    again, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args)
    assert not again["changed"] and not again.get("failed")
    # __pycache__ written beside the code by an import is not another file.
    (releases / "v1" / "pkg" / "__pycache__").mkdir()
    (releases / "v1" / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert not play_task(collections, tmp_path, "pyweb.stack.sync_tree", args)[0].get("failed")

    (tree / "B.txt").write_text("changed\n")
    changed, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args, "--check", expect_ok=False)
    assert changed["failed"] and changed["msg"] == "app_release_id: v1 is taken"
    changed, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args, expect_ok=False)
    assert changed["failed"] and changed["msg"] == "app_release_id: v1 is taken"
    assert (releases / "v1" / "B.txt").read_text() == "upper\n"

    (tree / "B.txt").write_text("upper\n")
    (tree / "run.sh").unlink()
    deleted, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", args, expect_ok=False)
    assert deleted["failed"] and (releases / "v1" / "run.sh").exists()

    # Without refuse the same name is rewritten in place, as before.
    (tree / "B.txt").write_text("changed\n")
    replaced, _unused = play_task(collections, tmp_path, "pyweb.stack.sync_tree", {**args, "refuse": ""})
    assert replaced["changed"] and (releases / "v1" / "B.txt").read_text() == "changed\n"
