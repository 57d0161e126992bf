#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Put back or let go of the files a deploy wrote, from the copies it kept: the one restore and
clean-up step of the app, server and Nginx roles."""

from __future__ import annotations

DOCUMENTATION = r"""
module: file_backups
short_description: Put back the files a run replaced, or let go of their backups
description:
  - The one backup and restore step behind every file a deploy writes with a backup
    (M(pyweb.stack.sync_files) with I(backup), or the copy module with C(backup=true)), that is the
    app's environment and secrets files, the server's config and units, Nginx's configuration and
    the certificates and keys users give.
  - With I(state=restored), each item that names a C(backup_file) gets that copy back, with the
    item's owner, group and mode, moved into place atomically; an item the run created (C(changed)
    and not C(existed)) is removed. Then, as with I(state=discarded), every backup of the items is
    removed.
  - With I(state=discarded), the run's writes stay and every backup of each item is removed,
    those the run made and those an interrupted earlier run left, named as the copy module names
    them (C(<name>.<pid>.<date>@<time>~)) beside the file. I(folders) are swept for backups of any
    name as well.
  - One round trip, whatever the number of files.
version_added: 0.1.0
author: pyweb maintainers (@pyweb)
options:
  files:
    description:
      - The files a run manages, each a path, or a result item of M(pyweb.stack.sync_files)
        (C(dest), C(changed), C(existed), C(backup_file), C(owner), C(group), C(mode)).
      - Items that do not exist or did not change are only swept for leftover backups.
    type: list
    elements: raw
    default: []
  folders:
    description: Folders whose backups, of any file, are removed too.
    type: list
    elements: path
    default: []
  state:
    description: C(restored) puts the previous files back first; C(discarded) keeps what the run wrote.
    type: str
    choices: [restored, discarded]
    required: true
"""

EXAMPLES = r"""
- name: Put the previous configuration back
  pyweb.stack.file_backups:
    files: "{{ synced.files.values() | list }}"
    state: restored

- name: Remove the backups once the configuration passed
  pyweb.stack.file_backups:
    files: "{{ synced.files.values() | list }}"
    folders: [/etc/nginx/conf.d]
    state: discarded
"""

RETURN = r"""
restored:
  description: The files put back from their backups.
  returned: always
  type: list
  elements: str
removed:
  description: The files this run had created, removed again.
  returned: always
  type: list
  elements: str
backups_removed:
  description: The backups removed.
  returned: always
  type: list
  elements: str
"""

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

# The copy module's backup name: <file>.<pid>.<YYYY-MM-DD@HH:MM:SS>~
BACKUP_SUFFIX = r"\.[0-9]+\.[0-9]{4}-[0-9]{2}-[0-9]{2}@[0-9:]+~"


def as_item(entry):
    """A path or a result item, as a dict with at least dest."""
    if isinstance(entry, str):
        return {"dest": entry}
    if isinstance(entry, dict) and isinstance(entry.get("dest") or entry.get("path"), str):
        return {**entry, "dest": entry.get("dest") or entry["path"]}
    raise ValueError(f"each of files must be a path or a mapping with dest, got {entry!r}")


def backups_of(dest, listing):
    """The backups of dest among the names of its folder."""
    pattern = re.compile(re.escape(os.path.basename(dest)) + BACKUP_SUFFIX + "$")
    return [os.path.join(os.path.dirname(dest), name) for name in listing if pattern.match(name)]


def any_backups(folder, listing):
    pattern = re.compile(".+" + BACKUP_SUFFIX + "$")
    return [os.path.join(folder, name) for name in listing if pattern.match(name)]


def plan(items, folders, state, listings):
    """What to do, from the items and the folders' listings (name lists by folder): the files to
    put back as (backup, item), those to remove, and the backups to remove."""
    restore, remove, backups = [], [], []
    for item in items:
        if state == "restored" and item.get("changed"):
            if item.get("backup_file"):
                restore.append((item["backup_file"], item))
            elif not item.get("existed", True):
                remove.append(item["dest"])
        backups += backups_of(item["dest"], listings.get(os.path.dirname(item["dest"]), []))
        if item.get("backup_file"):
            backups.append(item["backup_file"])
    for folder in folders:
        backups += any_backups(folder, listings.get(folder, []))
    return restore, remove, sorted(set(backups))


def listing(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


def put_back(module, backup, item):
    """The backup's content back at the item's path, with its owner, group and mode, atomically."""
    dest = item["dest"]
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=f".{os.path.basename(dest)}.")
    os.close(fd)
    try:
        shutil.copyfile(backup, temp)
        module.set_owner_if_different(temp, item.get("owner", "root"), False)
        module.set_group_if_different(temp, item.get("group", "root"), False)
        module.set_mode_if_different(temp, item.get("mode") or "0644", False)
        os.replace(temp, dest)
        temp = None
    finally:
        if temp and os.path.lexists(temp):
            os.unlink(temp)


def remove_path(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec={"files": {"type": "list", "elements": "raw", "default": []},
                       "folders": {"type": "list", "elements": "path", "default": []},
                       "state": {"type": "str", "choices": ["restored", "discarded"], "required": True}},
        supports_check_mode=True)
    try:
        items = [as_item(entry) for entry in module.params["files"]]
    except ValueError as exc:
        module.fail_json(msg=f"file_backups: {exc}")
    folders = module.params["folders"]
    listings = {folder: listing(folder) for folder in {os.path.dirname(item["dest"]) for item in items} | set(folders)}
    restore, remove, backups = plan(items, folders, module.params["state"], listings)
    backups = [path for path in backups if os.path.lexists(path)]
    restore = [(backup, item) for backup, item in restore if os.path.lexists(backup)]
    remove = [path for path in remove if os.path.lexists(path)]
    if not module.check_mode:
        try:
            for backup, item in restore:
                put_back(module, backup, item)
            for path in remove + backups:
                remove_path(path)
        except OSError as exc:
            module.fail_json(msg=f"file_backups: {exc}", restored=[], removed=[], backups_removed=[])
    module.exit_json(changed=bool(restore or remove or backups), restored=[item["dest"] for _b, item in restore],
                     removed=remove, backups_removed=backups)


if __name__ == "__main__":
    main()
