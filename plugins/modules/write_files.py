#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Write several files, links and directories in one call: the writer of pyweb.stack.sync_files."""

from __future__ import annotations

DOCUMENTATION = r"""
module: write_files
short_description: Write files, links and directories in one call
description:
  - Writes each item of I(files) in order, as the copy module (a file) or the file module (a link,
    a directory) would, in one round trip.
  - A file is written next to its destination first, validated there when I(validate) is given,
    then moved into place atomically, with its owner, group and mode. With I(backup), the file it
    replaces is kept as a copy named as the copy module names its backups.
  - It writes what it is given and compares nothing; M(pyweb.stack.sync_files) calls it with the
    items that differ from what the host holds, and uses Ansible's copy action instead when a diff
    is asked for.
  - The content of the files is never returned.
version_added: 0.1.0
author: pyweb maintainers (@pyweb)
options:
  files:
    description:
      - The items to write, each with C(dest) and one of C(content) (a file), C(link) (the target
        of a symbolic link) or C(directory=true), and C(owner), C(group), C(mode) (files and
        directories), C(validate) (a command with C(%s) for the new file) and C(backup).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Write two files
  pyweb.stack.write_files:
    files:
      - {dest: /etc/shop/a.conf, content: "a = 1\n", owner: root, group: root, mode: "0644"}
      - {dest: /etc/shop/current, link: /srv/shop/releases/1}
"""

RETURN = r"""
files:
  description: For each destination written, C(changed) and, for a replaced file kept with I(backup), C(backup_file).
  returned: always
  type: dict
"""

import os
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native


def set_attributes(module, path, item):
    """Owner, group and mode as the item says; whether any changed."""
    changed = module.set_owner_if_different(path, item.get("owner", "root"), False)
    changed = module.set_group_if_different(path, item.get("group", "root"), changed)
    if "mode" in item:
        changed = module.set_mode_if_different(path, item["mode"], changed)
    return changed


def write_file(module, item):
    """One file: written beside its destination, validated, moved in; its report."""
    dest = item["dest"]
    report = {"changed": True}
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=f".{os.path.basename(dest)}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(to_bytes(item["content"], errors="surrogate_or_strict"))
        set_attributes(module, temp, item)
        if item.get("validate"):
            if "%s" not in item["validate"]:
                raise ValueError("validate must contain %s")
            rc, out, err = module.run_command(shlex.split(item["validate"].replace("%s", shlex.quote(temp))))
            if rc != 0:
                raise ValueError("failed to validate", out, err)
        if item.get("backup") and os.path.lexists(dest):
            report["backup_file"] = module.backup_local(dest)
        module.atomic_move(temp, dest, unsafe_writes=False, keep_dest_attrs=False)
        temp = None
        set_attributes(module, dest, item)
    finally:
        if temp and os.path.lexists(temp):
            os.unlink(temp)
    return report


def write_link(item):
    """One symbolic link, replacing whatever link or file is there."""
    dest = item["dest"]
    temp = os.path.join(os.path.dirname(dest), f".{os.path.basename(dest)}.{os.getpid()}.link")
    os.symlink(item["link"], temp)
    os.replace(temp, dest)
    return {"changed": True}


def write_directory(module, item):
    """One directory (its missing parents made as mkdir -p makes them)."""
    os.makedirs(item["dest"], exist_ok=True)
    set_attributes(module, item["dest"], item)
    return {"changed": True}


def main():
    module = AnsibleModule(argument_spec={"files": {"type": "list", "elements": "dict", "required": True}},
                           supports_check_mode=True)
    reports = {}
    for item in module.params["files"]:
        dest = item.get("dest", "")
        try:
            if module.check_mode:
                reports[dest] = {"changed": True}
            elif "link" in item:
                reports[dest] = write_link(item)
            elif item.get("directory"):
                reports[dest] = write_directory(module, item)
            else:
                reports[dest] = write_file(module, item)
        except (OSError, ValueError) as exc:
            msg, stdout, stderr = (list(exc.args) + ["", ""])[:3] if isinstance(exc, ValueError) else (to_native(exc), "", "")
            module.fail_json(msg=msg, dest=dest, files=reports, stdout=stdout, stderr=stderr)
    module.exit_json(changed=bool(reports), files=reports)


if __name__ == "__main__":
    main()
