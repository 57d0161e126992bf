"""pyweb.stack.deploy_record (plugins/modules/deploy_record.py, plugins/action/deploy_record.py):
the plan's digest on the controller, the measures on the host, and the real action run by
ansible-playbook on this machine (connection local) into a temporary directory: no record, a
matching record, a changed plan, a file edited by hand, a missing account, check mode."""

import json
import os
import subprocess

import pytest

from conftest import ROOT, load_plugin, play_task

module = load_plugin(ROOT / "plugins" / "modules" / "deploy_record.py")
action = load_plugin(ROOT / "plugins" / "action" / "deploy_record.py")


def test_tree_digest_follows_content_and_names_and_skips_bytecode(tmp_path):
    (tmp_path / "app.py").write_text("app = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    first = action.tree_digest(tmp_path)
    (tmp_path / "other.pyc").write_bytes(b"\1")
    assert action.tree_digest(tmp_path) == first
    (tmp_path / "app.py").write_text("app = 2\n")
    assert action.tree_digest(tmp_path) != first
    (tmp_path / "app.py").write_text("app = 1\n")
    (tmp_path / "app.py").rename(tmp_path / "main.py")
    assert action.tree_digest(tmp_path) != first
    assert action.tree_digest(tmp_path / "missing") == "absent"
    assert action.tree_digest(tmp_path / "main.py") != action.tree_digest(tmp_path)


def test_plan_digest_changes_with_inputs_sources_and_code():
    base = action.plan_digest(["a", 1], {"src": "x"}, "code")
    assert base == action.plan_digest(["a", 1], {"src": "x"}, "code")
    assert base != action.plan_digest(["a", 2], {"src": "x"}, "code")
    assert base != action.plan_digest(["a", 1], {"src": "y"}, "code")
    assert base != action.plan_digest(["a", 1], {"src": "x"}, "other code")


def test_entry_tells_files_links_directories_and_absent(tmp_path):
    target = tmp_path / "file"
    target.write_text("hello\n")
    target.chmod(0o640)
    (tmp_path / "link").symlink_to("file")
    assert module.entry(str(target), follow=False).startswith(f"file {os.getuid()}:{os.getgid()} 0640 ")
    assert module.entry(str(tmp_path / "link"), follow=False).startswith("link file ")
    assert module.entry(str(tmp_path / "link"), follow=True) == module.entry(str(target), follow=False)
    assert module.entry(str(tmp_path), follow=False).startswith("directory ")
    assert module.entry(str(tmp_path / "none"), follow=False) == "absent"


def test_tree_follows_its_root_link_but_not_the_links_below(tmp_path):
    release = tmp_path / "releases" / "1"
    release.mkdir(parents=True)
    (release / "app.py").write_text("a\n")
    (release / "venv").symlink_to("../../venvs/x")
    (tmp_path / "current").symlink_to("releases/1")
    first = module.tree(str(tmp_path / "current"))
    assert first.startswith("tree ") and first.endswith("(2 entries)")
    (release / "__pycache__").mkdir()
    (release / "__pycache__" / "app.pyc").write_bytes(b"\0")
    assert module.tree(str(tmp_path / "current")) == first
    (release / "venv").unlink()
    (release / "venv").symlink_to("../../venvs/y")
    assert module.tree(str(tmp_path / "current")) != first


def test_units_read_in_one_call_and_unknown_units_named():
    calls = []

    stdout = ("Id=a.service\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\nNeedDaemonReload=no\n\n"
              "Id=b.socket\nLoadState=not-found\nUnitFileState=\nActiveState=inactive\nNeedDaemonReload=no\n")

    def run(argv):
        """Stands in for AnsibleModule.run_command: (rc, stdout, stderr)."""
        calls.append(argv)
        return 0, stdout, ""

    found = module.units(["a.service", "b.socket"], run)
    assert len(calls) == 1 and calls[0][-2:] == ["a.service", "b.socket"]
    assert found["a.service"] == "LoadState=loaded UnitFileState=enabled ActiveState=active NeedDaemonReload=no"
    assert found["b.socket"].startswith("LoadState=not-found")
    assert module.units([], run) == {} and len(calls) == 1


def test_differences_name_what_changed():
    record = {"plan": "p", "measured": {"paths": {"/etc/a": "file 0:0 0644 x"}, "units": {"a.service": "up"}}}
    same = {"paths": {"/etc/a": "file 0:0 0644 x"}, "units": {"a.service": "up"}}
    assert module.differences(record, "p", same) == []
    assert module.differences(None, "p", same) == ["no record of a finished deploy"]
    assert module.differences(record, "q", same)[0].startswith("the plan differs")
    edited = {"paths": {"/etc/a": "file 0:0 0644 y"}, "units": {"a.service": "down"}}
    found = module.differences(record, "p", edited)
    assert [line.split(":")[0] for line in found] == ["path /etc/a", "unit a.service"]
    assert module.spec_of(record)["paths"] == ["/etc/a"] and module.spec_of(record)["trees"] == []


@pytest.fixture
def record(collections, tmp_path):
    """Run one deploy_record task against this machine; return its registered result."""

    def run(state, inputs, sources, measure=None, *args):
        task = {"path": str(tmp_path / "record.json"), "state": state, "inputs": inputs, "sources": sources}
        if measure is not None:
            task["measure"] = measure
        return play_task(collections, tmp_path, "pyweb.stack.deploy_record", task, *args)[0]

    return run


def test_record_then_check_then_drift(record, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("app = 1\n")
    config = tmp_path / "app.conf"
    config.write_text("workers = 2\n")
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    measure = {"paths": [str(config), str(tmp_path / "absent")], "trees": [str(source)], "users": [user]}

    assert record("check", ["a"], [str(source)])["differences"] == ["no record of a finished deploy"]
    # Check mode plans the record and writes nothing.
    assert record("write", ["a"], [str(source)], measure, "--check")["changed"]
    assert not (tmp_path / "record.json").exists()

    written = record("write", ["a"], [str(source)], measure)
    assert written["changed"]
    assert oct((tmp_path / "record.json").stat().st_mode & 0o777) == "0o600"
    stored = json.loads((tmp_path / "record.json").read_text())
    assert stored["measured"]["paths"][str(tmp_path / "absent")] == "absent"
    # A record holds digests, never the inputs themselves.
    assert "inputs" not in stored
    assert not record("write", ["a"], [str(source)], measure)["changed"]

    same = record("check", ["a"], [str(source)])
    assert same["matches"] and same["differences"] == [] and not same["changed"]
    assert record("check", ["b"], [str(source)])["differences"][0].startswith("the plan differs")

    (source / "app.py").write_text("app = 2\n")
    assert record("check", ["a"], [str(source)])["differences"][0].startswith("the plan differs")
    (source / "app.py").write_text("app = 1\n")

    config.write_text("workers = 3\n")
    drift = record("check", ["a"], [str(source)])
    assert not drift["matches"] and drift["differences"][0].startswith(f"path {config}: file ")


def test_a_deploy_under_way_is_reported_until_the_next_record(record, tmp_path):
    """A deploy marks the record when it starts; a run that finds the mark knows the deploy stopped
    part way (and deploys whole, restarting the app); the next record clears it."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("app = 1\n")
    # No record yet: nothing to mark, and a first deploy that stops is deployed whole anyway.
    assert not record("deploying", [], [])["changed"] and not (tmp_path / "record.json").exists()

    record("write", ["a"], [str(source)], {})
    assert record("deploying", [], [])["changed"]
    stopped = record("check", ["a"], [str(source)])
    assert stopped["interrupted"] and not stopped["matches"]
    assert stopped["differences"] == ["the last deploy stopped part way"]

    record("write", ["a"], [str(source)], {})
    finished = record("check", ["a"], [str(source)])
    assert finished["matches"] and not finished["interrupted"]


def test_what_served_comes_back_with_the_check(collections, tmp_path):
    task = {"path": str(tmp_path / "record.json"), "state": "write", "inputs": ["a"], "sources": [],
            "serving": {"bind": "unix:/run/gunicorn/shop.sock", "health_path": "/healthz"}}
    play_task(collections, tmp_path, "pyweb.stack.deploy_record", task)
    checked = play_task(collections, tmp_path, "pyweb.stack.deploy_record", {**task, "state": "check"})[0]
    assert checked["serving"] == {"bind": "unix:/run/gunicorn/shop.sock", "health_path": "/healthz"}
