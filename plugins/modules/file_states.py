#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""What a list of paths holds on the host, in one round trip: the probe of pyweb.stack.sync_files."""

from __future__ import annotations

DOCUMENTATION = r"""
module: file_states
short_description: Report the state of many paths in one call
description:
  - Reads, for each path, whether it exists, its type, owner, group and mode, for regular files
    the digest of their content (SHA-1 unless I(checksum_algorithm) says otherwise), and for links their
    target as written and the real path they resolve to.
  - Changes nothing; runs in check mode as well.
  - The action plugin M(pyweb.stack.sync_files) asks it once for every file a task manages, so a
    run that changes nothing costs one round trip instead of one or two per file.
version_added: 0.1.0
author: pyweb maintainers (@pyweb)
options:
  paths:
    description: Absolute paths to read. A missing path is reported with C(exists=false).
    type: list
    elements: path
    default: []
  list:
    description:
      - Directories whose entries to report (name, path, type, modification time, and a link's
        target), sorted by name. A missing directory lists nothing.
    type: list
    elements: path
    default: []
  read:
    description: Small text files whose content to return (a missing one returns nothing).
    type: list
    elements: path
    default: []
  checksum_algorithm:
    description: The digest of regular files' content (sha1 is what Ansible's copy module compares).
    type: str
    choices: [sha1, sha256]
    default: sha1
  globs:
    description: Shell patterns (C(/srv/shop/venvs/*/bin/python)) whose matching paths to return.
    type: list
    elements: str
    default: []
  accounts:
    description:
      - User names whose account to report (from the passwd, group and shadow databases), so that
        a caller can leave an account that is already as it wants alone without asking again.
      - Of the password only whether it is exactly C(!) (locked, never set) is returned, never
        the hash.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Read the unit files
  pyweb.stack.file_states:
    paths: [/etc/systemd/system/shop.service, /etc/systemd/system/shop.socket]
  register: units
"""

RETURN = r"""
listings:
  description: For each directory of I(list), its entries.
  returned: always
  type: dict
  sample: {/srv/shop/releases: [{name: 4f2a9c1b7e30, path: /srv/shop/releases/4f2a9c1b7e30, type: directory, mtime: 1796361881.8}]}
contents:
  description: For each file of I(read) that exists, its text.
  returned: always
  type: dict
matches:
  description: For each pattern of I(globs), the paths that match it, sorted.
  returned: always
  type: dict
accounts:
  description: For each name of I(accounts), C(exists) and, when it does, its uid, primary group (name
    and gid), home, shell and C(password_locked) (its shadow password is exactly C(!)).
  returned: always
  type: dict
  sample: {shop: {exists: true, uid: 996, gid: 996, group: shop, home: /srv/shop, shell: /usr/sbin/nologin, password_locked: true}}
states:
  description: One entry per path, keyed by the path.
  returned: always
  type: dict
  sample:
    /etc/systemd/system/shop.service:
      exists: true
      type: file
      mode: "0644"
      owner: root
      group: root
      checksum: 3b9a5c1c0d1f7e3fb64a1d6e0c3d0c7a7f58b2c1
"""

import glob
import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

TYPES = ((stat.S_ISLNK, "link"), (stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"))


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def path_state(module, path, algorithm="sha1"):
    """The state of one path; the content's checksum only for regular files."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    kind = next((name for test, name in TYPES if test(info.st_mode)), "other")
    state = {
        "exists": True,
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(info.st_mode),
        "owner": _name(pwd.getpwuid, info.st_uid),
        "group": _name(grp.getgrgid, info.st_gid),
    }
    if kind == "file":
        state["checksum"] = module.digest_from_file(path, algorithm)
    elif kind == "link":
        state["target"] = os.readlink(path)
        state["resolved"] = os.path.realpath(path)
    return state


def listing(path):
    """A directory's entries, sorted by name: name, path, type, mtime, and a link's target."""
    try:
        names = sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries = []
    for name in names:
        full = os.path.join(path, name)
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            continue
        entry = {"name": name, "path": full, "mtime": info.st_mtime,
                 "type": next((kind for test, kind in TYPES if test(info.st_mode)), "other")}
        if entry["type"] == "link":
            entry["target"] = os.readlink(full)
        entries.append(entry)
    return entries


def shadow_password(name, path="/etc/shadow"):
    """The password field of one account (None when the account has no shadow entry). Read here, not
    with the spwd module, which Python 3.13 no longer has."""
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if fields[0] == name and len(fields) > 1:
                    return fields[1]
    except FileNotFoundError:
        pass
    return None


def account(name, shadow_path="/etc/shadow"):
    """One user account as the passwd, group and shadow databases hold it."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "uid": entry.pw_uid, "gid": entry.pw_gid, "group": _name(grp.getgrgid, entry.pw_gid),
            "home": entry.pw_dir, "shell": entry.pw_shell,
            "password_locked": shadow_password(name, shadow_path) == "!"}


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError):
        return None


def main():
    list_of_paths = {"type": "list", "elements": "path", "default": []}
    module = AnsibleModule(
        argument_spec={"paths": list_of_paths, "list": list_of_paths, "read": list_of_paths,
                       "globs": {"type": "list", "elements": "str", "default": []},
                       "accounts": {"type": "list", "elements": "str", "default": []},
                       "checksum_algorithm": {"type": "str", "choices": ["sha1", "sha256"], "default": "sha1"}},
        supports_check_mode=True,
    )
    algorithm = module.params["checksum_algorithm"]
    states = {path: path_state(module, path, algorithm) for path in module.params["paths"]}
    listings = {path: listing(path) for path in module.params["list"]}
    contents = {path: text for path in module.params["read"] if (text := read(path)) is not None}
    matches = {pattern: sorted(glob.glob(pattern)) for pattern in module.params["globs"]}
    accounts = {name: account(name) for name in module.params["accounts"]}
    module.exit_json(changed=False, states=states, listings=listings, contents=contents, matches=matches,
                     accounts=accounts)


if __name__ == "__main__":
    main()
