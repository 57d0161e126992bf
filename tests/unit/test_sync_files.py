"""pyweb.stack.sync_files (plugins/action/sync_files.py, plugins/modules/file_states.py): the plan
on the controller, and the real action run by ansible-playbook on this machine (connection local)
into a temporary directory: one probe, writes only what differs, validate, backup, check mode,
records of checksums, secrets kept out of the output."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, load_plugin, play_task

action = load_plugin(ROOT / "plugins" / "action" / "sync_files.py")
BIN = Path(sys.executable).parent


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def test_record_content_lists_checksums_and_absent_files():
    states = {"/a": {"exists": True, "checksum": "aa"}, "/b": {"exists": False}}
    assert action.record_content(["/a", "-/b", "/c"], states) == "/a aa\n-/b absent\n/c absent\n"


def test_probe_paths_once_each_without_the_optional_dash():
    files = [{"dest": "/x", "content": ""}, {"dest": "/r", "checksums_of": ["/x", "-/y"]}]
    assert action.probe_paths(files) == ["/x", "/r", "/y"]


@pytest.mark.parametrize("state, reason", [
    ({"exists": False}, "missing"),
    ({"exists": True, "type": "link"}, "a link, not a file"),
    ({"exists": True, "type": "file", "checksum": "0" * 40, "owner": "root", "group": "root", "mode": "0644"}, "content"),
    ({"exists": True, "type": "file", "checksum": sha1("hi"), "owner": "app", "group": "root", "mode": "0644"}, "owner"),
    ({"exists": True, "type": "file", "checksum": sha1("hi"), "owner": "root", "group": "root", "mode": "0600"}, "mode"),
    ({"exists": True, "type": "file", "checksum": sha1("hi"), "owner": "root", "group": "root", "mode": "0644"}, ""),
])
def test_differs_names_what_differs(state, reason):
    (item,) = action.normalise([{"dest": "/x", "content": "hi"}], False)
    assert action.differs(item, "hi", state) == reason


@pytest.mark.parametrize("state, reason", [
    ({"exists": False}, "missing"),
    ({"exists": True, "type": "file"}, "a file, not a link"),
    ({"exists": True, "type": "link", "target": "/elsewhere"}, "target"),
    ({"exists": True, "type": "link", "target": "/etc/site.conf"}, ""),
])
def test_a_link_differs_by_its_target(state, reason):
    (item,) = action.normalise([{"dest": "/x", "link": "/etc/site.conf"}], False)
    assert action.differs(item, "", state) == reason


@pytest.mark.parametrize("files, message", [
    ("nope", "must be a list"),
    ([{"dest": "relative", "content": ""}], "absolute path"),
    ([{"dest": "/x"}], "exactly one of content, template, checksums_of, link, directory"),
    ([{"dest": "/x", "content": "", "checksums_of": []}], "exactly one of content, template"),
    ([{"dest": "/x", "template": "a.j2", "link": "b"}], "exactly one of content, template"),
    ([{"dest": "/x", "template": "a.j2", "template_vars": []}], "template_vars must be a mapping"),
    ([{"dest": "/x", "directory": "yes"}], "directory takes only true"),
    ([{"dest": "/x", "content": "", "mode": "644"}], "four octal digits"),
    ([{"dest": "/x", "content": "", "colour": "red"}], "unknown keys ['colour']"),
])
def test_bad_items_are_refused_by_name(files, message):
    with pytest.raises(action.AnsibleActionFail, match=message.replace("[", r"\[").replace("]", r"\]")):
        action.normalise(files, False)


@pytest.fixture
def play(collections, tmp_path):
    """Run one sync_files task against this machine; return its registered result and the output."""
    if os.geteuid() != 0:
        pytest.skip("writes root-owned files")

    def run(files, *args, backup=False, expect_ok=True):
        return play_task(collections, tmp_path, "pyweb.stack.sync_files", {"files": files, "backup": backup},
                         *args, expect_ok=expect_ok)

    return run


def test_writes_what_differs_and_nothing_on_the_second_run(play, tmp_path):
    env = tmp_path / "environment"
    files = [{"dest": str(tmp_path / "app.conf"), "content": "workers = 3\n", "mode": "0640"},
             {"dest": str(env), "content": "A=1\n"},
             {"dest": str(tmp_path / "record"), "checksums_of": [str(env), f"-{tmp_path}/none"], "mode": "0600"}]
    first, _unused = play(files)
    assert first["changed"] and all(entry["changed"] for entry in first["files"].values())
    assert (tmp_path / "app.conf").read_text() == "workers = 3\n"
    assert oct((tmp_path / "app.conf").stat().st_mode & 0o777) == "0o640"
    # The record is made from what the probe read before this run wrote the environment file.
    assert (tmp_path / "record").read_text() == f"{env} absent\n-{tmp_path}/none absent\n"

    second, _unused = play(files)
    # The environment file exists now: only the record of its checksum changes.
    assert [dest for dest, entry in second["files"].items() if entry["changed"]] == [str(tmp_path / "record")]
    assert (tmp_path / "record").read_text() == f"{env} {sha1('A=1' + chr(10))}\n-{tmp_path}/none absent\n"

    third, _unused = play(files)
    assert not third["changed"] and not any(entry["changed"] for entry in third["files"].values())


def test_mode_alone_is_fixed_and_backup_kept(play, tmp_path):
    dest = tmp_path / "unit"
    play([{"dest": str(dest), "content": "[Unit]\n"}])
    dest.chmod(0o600)
    result, _unused = play([{"dest": str(dest), "content": "[Unit]\nDescription=x\n"}], backup=True)
    entry = result["files"][str(dest)]
    assert entry["changed"] and entry["reason"] == "content" and Path(entry["backup_file"]).read_text() == "[Unit]\n"
    assert oct(dest.stat().st_mode & 0o777) == "0o644"


def test_a_failed_validate_leaves_the_file_and_names_it(play, tmp_path):
    dest = tmp_path / "checked.conf"
    play([{"dest": str(dest), "content": "good\n"}])
    result, _unused = play([{"dest": str(dest), "content": "bad\n", "validate": "grep -q good %s"}], expect_ok=False)
    assert result["failed"] and result["msg"].startswith(str(dest))
    assert dest.read_text() == "good\n"


def test_check_mode_writes_nothing_and_reports_the_change(play, tmp_path):
    dest = tmp_path / "planned"
    result, _unused = play([{"dest": str(dest), "content": "x\n"}], "--check")
    assert result["changed"] and result["files"][str(dest)]["existed"] is False
    assert not dest.exists()


def test_a_secret_never_reaches_the_output(play, tmp_path):
    dest = tmp_path / "secrets"
    play([{"dest": str(dest), "content": "TOKEN=old-sekrit\n", "secret": True, "mode": "0600"}])
    result, out = play([{"dest": str(dest), "content": "TOKEN=new-sekrit\n", "secret": True, "mode": "0600"}], "--diff")
    assert result["changed"] and "diff" not in result
    assert "sekrit" not in out and "sekrit" not in json.dumps(result)
    assert dest.read_text() == "TOKEN=new-sekrit\n"


def test_file_states_reads_lists_globs_and_digests(collections, tmp_path):
    """The probe's other reads: a directory's entries, a small file's text, glob matches, and the
    SHA-256 digest when asked."""
    (tmp_path / "venvs" / "a1" / "bin").mkdir(parents=True)
    (tmp_path / "venvs" / "a1" / "bin" / "python").write_text("")
    (tmp_path / "venvs" / "b2").mkdir()
    (tmp_path / "history").write_text("a1\nb2\n")
    (tmp_path / "current").symlink_to("venvs/a1")
    args = {"paths": [str(tmp_path / "history"), str(tmp_path / "current"), str(tmp_path / "none")],
            "list": [str(tmp_path / "venvs"), str(tmp_path / "missing")],
            "read": [str(tmp_path / "history"), str(tmp_path / "none")],
            "globs": [f"{tmp_path}/venvs/*/bin/python"], "checksum_algorithm": "sha256"}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(tmp_path / "none.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    done = subprocess.run([BIN / "ansible", "localhost", "-c", "local", "-e",
                           f"ansible_python_interpreter={sys.executable}", "-m", "pyweb.stack.file_states",
                           "-a", json.dumps(args)], env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert done.stdout.lstrip().startswith("{"), done.stdout[:2000] + done.stderr[:2000]
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    states = result["states"]
    assert states[str(tmp_path / "history")]["checksum"] == hashlib.sha256(b"a1\nb2\n").hexdigest()
    assert states[str(tmp_path / "current")] | {"resolved": None} == {
        "exists": True, "type": "link", "target": "venvs/a1", "mode": states[str(tmp_path / "current")]["mode"],
        "owner": "root", "group": "root", "resolved": None}
    assert states[str(tmp_path / "current")]["resolved"] == str((tmp_path / "venvs" / "a1").resolve())
    assert states[str(tmp_path / "none")] == {"exists": False}
    assert [(e["name"], e["type"]) for e in result["listings"][str(tmp_path / "venvs")]] == [
        ("a1", "directory"), ("b2", "directory")]
    assert result["listings"][str(tmp_path / "missing")] == []
    assert result["contents"] == {str(tmp_path / "history"): "a1\nb2\n"}
    assert result["matches"] == {f"{tmp_path}/venvs/*/bin/python": [f"{tmp_path}/venvs/a1/bin/python"]}


def test_templates_render_on_the_controller_with_their_own_vars_and_links_follow(play, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "site.conf.j2").write_text("server_name {{ site.name }};\n")
    files = [{"dest": str(tmp_path / f"{name}.conf"), "template": "site.conf.j2", "template_vars": {"site": {"name": name}}}
             for name in ("shop", "blog")]
    files.append({"dest": str(tmp_path / "enabled"), "link": str(tmp_path / "shop.conf")})
    first, _unused = play(files)
    assert first["changed"] and (tmp_path / "blog.conf").read_text() == "server_name blog;\n"
    assert os.readlink(tmp_path / "enabled") == str(tmp_path / "shop.conf")
    assert first["files"][str(tmp_path / "enabled")] == {
        "dest": str(tmp_path / "enabled"), "owner": "root", "group": "root", "mode": "0644", "existed": False,
        "changed": True, "reason": "missing"}
    second, _unused = play(files)
    assert not second["changed"]
    (tmp_path / "enabled").unlink()
    (tmp_path / "enabled").symlink_to(tmp_path / "blog.conf")
    third, _unused = play(files)
    assert [dest for dest, entry in third["files"].items() if entry["changed"]] == [str(tmp_path / "enabled")]
    assert os.readlink(tmp_path / "enabled") == str(tmp_path / "shop.conf")


def test_a_directory_goes_before_the_files_in_it_and_keeps_its_mode(play, tmp_path):
    folder = tmp_path / "conf.d"
    files = [{"dest": str(folder), "directory": True, "mode": "0700"},
             {"dest": str(folder / "a.conf"), "content": "a\n"}]
    planned, _unused = play(files, "--check")
    assert planned["changed"] and not folder.exists()
    first, _unused = play(files)
    assert first["files"][str(folder)]["reason"] == "missing" and (folder / "a.conf").read_text() == "a\n"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    folder.chmod(0o755)
    second, _unused = play(files)
    assert [(dest, entry["reason"]) for dest, entry in second["files"].items() if entry["changed"]] == [(str(folder), "mode")]
    assert not play(files)[0]["changed"]


def test_with_a_diff_asked_for_the_copy_action_writes_and_shows_it(play, tmp_path):
    dest = tmp_path / "shown.conf"
    play([{"dest": str(dest), "content": "old\n"}])
    result, _output = play([{"dest": str(dest), "content": "new\n"}], "--diff")
    assert result["changed"] and dest.read_text() == "new\n"
    assert "new" in json.dumps(result["diff"])


def test_a_failed_validate_after_other_writes_reports_them_and_stops(play, tmp_path):
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    files = [{"dest": str(first), "content": "1\n"},
             {"dest": str(second), "content": "bad\n", "validate": "grep -q good %s"},
             {"dest": str(third), "content": "3\n"}]
    result, _output = play(files, expect_ok=False)
    assert result["failed"] and result["msg"] == f"{second}: failed to validate"
    assert result["files"][str(first)]["changed"] and first.read_text() == "1\n"
    assert not second.exists() and not third.exists()
    assert not list(tmp_path.glob(".second.*")), "the candidate file is cleaned up"


file_states = load_plugin(ROOT / "plugins" / "modules" / "file_states.py")


def test_file_states_reports_an_account_without_its_password_hash(tmp_path):
    """The account of the user running the tests, and only whether a shadow password is exactly "!"."""
    import pwd  # pylint: disable=import-outside-toplevel
    me = pwd.getpwuid(os.getuid())
    shadow = tmp_path / "shadow"
    shadow.write_text(f"other:$y$j9T$hash:1::::::\n{me.pw_name}:!:20000:0:99999:7:::\n")
    found = file_states.account(me.pw_name, str(shadow))
    assert found == {"exists": True, "uid": me.pw_uid, "gid": me.pw_gid, "group": found["group"],
                     "home": me.pw_dir, "shell": me.pw_shell, "password_locked": True}
    shadow.write_text(f"{me.pw_name}:$y$j9T$hash:20000:0:99999:7:::\n")
    assert file_states.account(me.pw_name, str(shadow))["password_locked"] is False
    assert "hash" not in json.dumps(file_states.account(me.pw_name, str(shadow)))
    assert file_states.account("no-such-user-pyweb") == {"exists": False}
    assert file_states.shadow_password("x", str(tmp_path / "missing")) is None
