#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""The record a finished deploy leaves on the host, and the check of a later run against it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_record
short_description: Record what a finished deploy left on the host, and check a later run against it
description:
  - With I(state=write), measures what a deploy that just passed its health gate left on the host
    (paths, file digests, release trees, accounts, units) and stores it with the I(plan) it
    deployed, readable by root only.
  - With I(state=check) (the default), reads that record, measures the same things again and
    reports whether the host still holds exactly that and the plan is the same. A run whose plan
    and host both match has nothing to deploy; anything else (no record, a new plan, a file edited
    by hand, a stopped unit) is named in I(differences), and the caller runs its full deploy.
  - With I(state=deploying), marks the record (when there is one) as belonging to a deploy under
    way; the next I(state=write) clears the mark. A check that finds it reports I(interrupted), since
    the deploy that wrote it stopped part way.
  - One round trip per call, whatever the number of files. Changes nothing in check mode.
  - The action plugin of the same name computes I(plan) on the controller from the deploy's inputs,
    its sources and the collection's own code.
version_added: 0.2.0
author: pyweb maintainers (@pyweb)
options:
  path:
    description: The record file.
    type: path
    required: true
  state:
    description: >-
      C(check) compares the host with the record; C(write) stores a new record; C(deploying) marks
      the record as belonging to a deploy under way.
    type: str
    choices: [check, write, deploying]
    default: check
  plan:
    description: Digest of everything the deploy was made from (set by the action plugin; not used by I(state=deploying)).
    type: str
    default: ""
  serving:
    description: >-
      What a switch back to this deploy needs to know (I(state=write)), such as the bind and the
      health path it answered on; a check returns it. Nothing secret.
    type: dict
    default: {}
  measure:
    description:
      - What to measure (I(state=write) only; a check measures what the record names).
      - C(paths) are read without following a last link (type, owner, group, mode; a link's
        target); C(files) follow links (a regular file's digest); C(trees) are walked below their
        root (followed when a link), every entry's type, owner, group, mode and digest summed up
        into one digest, C(__pycache__) left out; C(users) and C(groups) are accounts; C(units)
        are systemd units (loaded, enabled and active states, and whether systemd must reload).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Ask the host whether the app is as its last deploy left it
  pyweb.stack.deploy_record:
    path: /srv/shop/.pyweb-deployed.json
    inputs: ["{{ shop_settings | to_json | hash('sha256') }}"]
    sources: [files/shop]
  register: shop_record
"""

RETURN = r"""
matches:
  description: Whether the record exists, names the same plan and the host still holds what it measured.
  returned: always
  type: bool
differences:
  description: What differs, one short sentence each (empty when I(matches)).
  returned: always
  type: list
  elements: str
interrupted:
  description: Whether the record is marked as belonging to a deploy that did not finish.
  returned: always
  type: bool
serving:
  description: The I(serving) the record was written with (empty without a record).
  returned: always
  type: dict
"""

import grp
import hashlib
import json
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

MEASURES = ("paths", "files", "trees", "users", "groups", "units")
UNIT_PROPERTIES = ("Id", "LoadState", "UnitFileState", "ActiveState", "NeedDaemonReload")


def _digest(path):
    sha1 = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            sha1.update(block)
    return sha1.hexdigest()


def entry(path, follow):
    """One path as a short string: type, owner, group, mode, and a file's digest or a link's target."""
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return "absent"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    owner = f"{info.st_uid}:{info.st_gid} {stat.S_IMODE(info.st_mode):04o}"
    if stat.S_ISLNK(info.st_mode):
        return f"link {os.readlink(path)} {owner}"
    if stat.S_ISDIR(info.st_mode):
        return f"directory {owner}"
    if stat.S_ISREG(info.st_mode):
        try:
            return f"file {owner} {_digest(path)}"
        except OSError as error:
            return f"file {owner} unreadable ({error.strerror})"
    return f"other {owner}"


def tree(root):
    """A digest of every entry below root (root itself followed when it is a link)."""
    if not os.path.isdir(root):
        return entry(root, follow=True)
    lines = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(name for name in dirs if name != "__pycache__")
        for name in sorted(dirs + names):
            path = os.path.join(folder, name)
            lines.append(f"{os.path.relpath(path, root)} {entry(path, follow=False)}\n")
    return "tree " + hashlib.sha256("".join(lines).encode()).hexdigest() + f" ({len(lines)} entries)"


def account(name, database):
    try:
        found = database(name)
    except KeyError:
        return "absent"
    if database is pwd.getpwnam:
        return f"{found.pw_uid}:{found.pw_gid} {found.pw_dir} {found.pw_shell}"
    return str(found.gr_gid)


def units(names, run):
    """unit -> its properties as one string, in one systemctl call (run: the module's run_command)."""
    if not names:
        return {}
    returncode, stdout, _stderr = run(["systemctl", "show", "--property=" + ",".join(UNIT_PROPERTIES), "--", *names])
    blocks = stdout.strip().split("\n\n") if stdout.strip() else []
    found = {}
    for block in blocks:
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        found[values.get("Id", "")] = " ".join(f"{key}={values.get(key, '')}" for key in UNIT_PROPERTIES[1:])
    # `systemctl show` answers in the order asked; a unit it does not know is still listed by Id.
    return {name: found.get(name, f"unknown (systemctl exit {returncode})") for name in names}


def measure(spec, run):
    """What the host holds now for each thing spec names."""
    return {
        "paths": {path: entry(path, follow=False) for path in spec.get("paths") or []},
        "files": {path: entry(path, follow=True) for path in spec.get("files") or []},
        "trees": {path: tree(path) for path in spec.get("trees") or []},
        "users": {name: account(name, pwd.getpwnam) for name in spec.get("users") or []},
        "groups": {name: account(name, grp.getgrnam) for name in spec.get("groups") or []},
        "units": units(list(spec.get("units") or []), run),
    }


def differences(record, plan, now):
    """What differs between a record and the plan and host of this run, one sentence each."""
    if not record:
        return ["no record of a finished deploy"]
    found = []
    if record.get("deploying"):
        found.append("the last deploy stopped part way")
    if record.get("plan") != plan:
        found.append("the plan differs (the app's variables, its sources or the collection changed)")
    recorded = record.get("measured") or {}
    for kind in MEASURES:
        for name, value in (recorded.get(kind) or {}).items():
            if now.get(kind, {}).get(name) != value:
                found.append(f"{kind[:-1]} {name}: {value} when recorded, {now.get(kind, {}).get(name)} now")
    return found


def read_record(path):
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def spec_of(record):
    """The measure spec a record was written with (its names, per kind)."""
    measured = (record or {}).get("measured") or {}
    return {kind: list((measured.get(kind) or {}).keys()) for kind in MEASURES}


def write_record(path, content):
    folder = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".deploy-record.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["check", "write", "deploying"], "default": "check"},
            "plan": {"type": "str", "default": ""},
            "measure": {"type": "dict", "default": {}},
            "serving": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    path, plan = module.params["path"], module.params["plan"]
    record = read_record(path)
    if module.params["state"] == "check":
        found = differences(record, plan, measure(spec_of(record), module.run_command) if record else {})
        module.exit_json(changed=False, matches=not found, differences=found,
                         interrupted=bool((record or {}).get("deploying")), serving=(record or {}).get("serving") or {},
                         msg="as recorded" if not found else "; ".join(found))
    if module.params["state"] == "deploying":
        # Only a record to mark: a first deploy that stops has no record, and its next run deploys whole.
        marked = bool(record) and not record.get("deploying")
        if marked and not module.check_mode:
            write_record(path, json.dumps({**record, "deploying": True}, indent=1, sort_keys=True) + "\n")
        module.exit_json(changed=marked, matches=False, differences=[], interrupted=False, serving={})
    unknown = sorted(set(module.params["measure"]) - set(MEASURES))
    if unknown:
        module.fail_json(msg=f"measure: unknown kinds {', '.join(unknown)} (known: {', '.join(MEASURES)})")
    new = {"plan": plan, "measured": measure(module.params["measure"], module.run_command),
           "serving": module.params["serving"]}
    content = json.dumps(new, indent=1, sort_keys=True) + "\n"
    changed = record != new
    if changed and not module.check_mode:
        write_record(path, content)
    module.exit_json(changed=changed, matches=True, differences=[], interrupted=False,
                     serving=module.params["serving"])


if __name__ == "__main__":
    main()
