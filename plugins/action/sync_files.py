# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""pyweb.stack.sync_files: plan on the controller, ask the host once, write only what differs.

Every file a task manages arrives rendered (its content), as a template to render here on the
controller with the task's variables and its own template_vars, or as the checksums of other
files for a record of them; a link arrives as its target. One call of pyweb.stack.file_states
reads what the host holds, so a run that changes nothing costs one round trip, whatever the
number of files. What differs (content, owner, group, mode, a link's target) is written by one
more call, of pyweb.stack.write_files, with validate and backup as the copy module does them; in
check mode nothing is called, since the probe said what would change. When a diff is asked for,
the files go through Ansible's own copy action (and links and directories through the file
module) one by one instead, since only it shows the diff.
"""

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

ITEM_KEYS = {"dest", "content", "template", "template_vars", "checksums_of", "link", "directory", "owner", "group",
             "mode", "validate", "secret"}
# Each item gives exactly one of these: what the file holds, the link's target, or directory: true.
SOURCE_KEYS = ("content", "template", "checksums_of", "link", "directory")


def record_content(paths, states):
    """A record of other files' SHA-1 checksums, one "path checksum" line each ("absent" for a
    missing file); a leading "-" (systemd's optional EnvironmentFile=) is kept in the line and
    dropped for the look-up."""
    lines = []
    for path in paths:
        state = states.get(path.lstrip("-"), {})
        lines.append(f"{path} {state.get('checksum', 'absent') if state.get('exists') else 'absent'}\n")
    return "".join(lines)


def probe_paths(files):
    """Every path the probe reads: each file, and each file a record is made of."""
    paths = []
    for item in files:
        for path in [item["dest"], *(p.lstrip("-") for p in item.get("checksums_of") or [])]:
            if path not in paths:
                paths.append(path)
    return paths


def normalise(files, backup):
    """Each item checked and completed with its defaults; a bad item fails naming its key."""
    if not isinstance(files, list):
        raise AnsibleActionFail("sync_files: files must be a list")
    out = []
    for index, item in enumerate(files):
        if not isinstance(item, dict):
            raise AnsibleActionFail(f"sync_files: files[{index}] must be a mapping")
        unknown = set(item) - ITEM_KEYS
        if unknown:
            raise AnsibleActionFail(f"sync_files: files[{index}] has unknown keys {sorted(unknown)}")
        if not str(item.get("dest", "")).startswith("/"):
            raise AnsibleActionFail(f"sync_files: files[{index}].dest must be an absolute path")
        if sum(key in item for key in SOURCE_KEYS) != 1:
            raise AnsibleActionFail(f"sync_files: {item['dest']}: give exactly one of {', '.join(SOURCE_KEYS)}")
        if "directory" in item and item["directory"] is not True:
            raise AnsibleActionFail(f"sync_files: {item['dest']}: directory takes only true")
        if "template_vars" in item and not isinstance(item["template_vars"], dict):
            raise AnsibleActionFail(f"sync_files: {item['dest']}: template_vars must be a mapping")
        mode = str(item.get("mode", "0755" if "directory" in item else "0644"))
        if len(mode) != 4 or not mode.startswith("0") or any(c not in "01234567" for c in mode):
            raise AnsibleActionFail(f"sync_files: {item['dest']}: mode must be four octal digits, got {mode!r}")
        out.append({"owner": "root", "group": "root", "validate": "", "secret": False, "backup": backup,
                    **item, "mode": mode})
    return out


def differs(item, content, state):
    """Why the host's file must be written, or "" when it already holds what is wanted."""
    if not state.get("exists"):
        return "missing"
    if "link" in item:
        if state.get("type") != "link":
            return f"a {state.get('type')}, not a link"
        return "target" if state.get("target") != item["link"] else ""
    if "directory" in item:
        if state.get("type") != "directory":
            return f"a {state.get('type')}, not a directory"
        return next((key for key in ("owner", "group", "mode") if state.get(key) != item[key]), "")
    if state.get("type") != "file":
        return f"a {state.get('type')}, not a file"
    if state.get("checksum") != hashlib.sha1(content.encode("utf-8")).hexdigest():
        return "content"
    for key in ("owner", "group", "mode"):
        if state.get(key) != item[key]:
            return key
    return ""


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("files", "backup"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        del tmp
        files = normalise(self._task.args.get("files"), bool(self._task.args.get("backup", False)))
        probe = self._execute_module(module_name="pyweb.stack.file_states",
                                     module_args={"paths": probe_paths(files)}, task_vars=task_vars)
        if probe.get("failed"):
            result.update(failed=True, msg=f"sync_files: could not read the files: {probe.get('msg')}")
            return result
        states = probe["states"]
        report, diffs, pending = {}, [], []
        for item in files:
            content = self._content(item, states, task_vars)
            state = states.get(item["dest"], {})
            report[item["dest"]] = {"dest": item["dest"], "owner": item["owner"], "group": item["group"],
                                    "mode": item["mode"], "existed": bool(state.get("exists")), "changed": False}
            reason = differs(item, content, state)
            if reason:
                report[item["dest"]]["reason"] = reason
                pending.append((item, content))
        # Without a diff to show, everything that differs is written in one call; a diff needs
        # Ansible's own copy action (it reads the host's file for the before side), one file at a time.
        written_all = self._one_by_one(pending, task_vars, diffs) if self._task.diff else self._at_once(pending, task_vars)
        for dest, written in written_all.items():
            entry = report[dest]
            entry["changed"] = bool(written.get("changed"))
            if written.get("backup_file"):
                entry["backup_file"] = written["backup_file"]
        failed = next((item for item, _content in pending if written_all.get(item["dest"], {}).get("failed")), None)
        if failed:
            written = written_all[failed["dest"]]
            result.update(failed=True, files={dest: entry for dest, entry in report.items() if dest in written_all},
                          dest=failed["dest"], msg=f"{failed['dest']}: {written.get('msg', 'the write failed')}")
            for key in ("stdout", "stderr", "exception"):
                if written.get(key) and not failed["secret"]:
                    result[key] = written[key]
            return result
        result["changed"] = any(entry["changed"] for entry in report.values())
        result["files"] = report
        if diffs:
            result["diff"] = diffs
        return result

    def _one_by_one(self, pending, task_vars, diffs):
        """Each item by Ansible's copy action or file module, stopping at the first failure."""
        written_all = {}
        for item, content in pending:
            written = (self._link(item, task_vars) if "link" in item
                       else self._directory(item, task_vars) if "directory" in item
                       else self._copy(item, content, task_vars))
            written_all[item["dest"]] = written
            if written.get("failed"):
                break
            if written.get("diff") and not item["secret"]:
                diffs.extend(written["diff"] if isinstance(written["diff"], list) else [written["diff"]])
        return written_all

    def _at_once(self, pending, task_vars):
        """Every item by one call of pyweb.stack.write_files (nothing at all in check mode: the probe
        said what would change)."""
        if not pending:
            return {}
        if self._task.check_mode:
            return {item["dest"]: {"changed": True} for item, _content in pending}
        wanted = []
        for item, content in pending:
            if "link" in item:
                wanted.append({"dest": item["dest"], "link": item["link"]})
            elif "directory" in item:
                wanted.append({key: item[key] for key in ("dest", "directory", "owner", "group", "mode")})
            else:
                wanted.append({"content": content, **{key: item[key] for key in
                                                      ("dest", "owner", "group", "mode", "validate", "backup")}})
        written = self._execute_module(module_name="pyweb.stack.write_files", module_args={"files": wanted},
                                       task_vars=task_vars)
        written_all = dict(written.get("files") or {})
        if written.get("failed"):
            dest = written.get("dest") or pending[0][0]["dest"]
            written_all[dest] = {key: written.get(key) for key in ("failed", "msg", "stdout", "stderr", "exception")}
        return written_all

    def _content(self, item, states, task_vars):
        """What the file must hold: given, rendered from its template, or a record of checksums."""
        if "content" in item:
            return item["content"]
        if "checksums_of" in item:
            return record_content(item["checksums_of"], states)
        if "link" in item or "directory" in item:
            return ""
        # The template lookup finds the file as the template module would (the role's templates/
        # first) and renders it with the task's variables and the item's own.
        lookup = self._shared_loader_obj.lookup_loader.get(
            "ansible.builtin.template", loader=self._loader, templar=self._templar)
        return lookup.run([item["template"]], variables=task_vars, template_vars=item.get("template_vars") or {})[0]

    def _link(self, item, task_vars):
        """The file module for one link, as a task with state: link and force would run it."""
        return self._file(task_vars, path=item["dest"], src=item["link"], state="link", force=True, follow=False,
                          owner=item["owner"], group=item["group"])

    def _directory(self, item, task_vars):
        """The file module for one directory (its parents made as the module makes them)."""
        return self._file(task_vars, path=item["dest"], state="directory", owner=item["owner"], group=item["group"],
                          mode=item["mode"])

    def _file(self, task_vars, **args):
        written = self._execute_module(module_name="ansible.legacy.file", module_args=args, task_vars=task_vars)
        written.pop("invocation", None)
        return written

    def _copy(self, item, content, task_vars):
        """Ansible's copy action for one file: validate, backup, check mode and diff as it does them."""
        task = self._task.copy()
        task.args = {"content": content, "dest": item["dest"], "owner": item["owner"], "group": item["group"],
                     "mode": item["mode"], "backup": item["backup"]}
        if item["validate"]:
            task.args["validate"] = item["validate"]
        if item["secret"]:
            # Neither the content nor its diff may reach the output.
            task.diff = False
        copy = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        written = copy.run(task_vars=task_vars)
        written.pop("invocation", None)
        return written
