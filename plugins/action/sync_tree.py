# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""pyweb.stack.sync_tree: a directory of the controller onto the host, as one archive.

The manifest (every file's SHA-256, in path order, as `sha256sum` prints it) is made here on the
controller; it names the tree (its digest) and one command on the host checks the copy there
against it. When a file is missing or differs, the tree goes over as one compressed archive, unpacked over
the destination (or next to a new one, which it then becomes): two round trips whatever the
number of files, where Ansible's copy module asks about each file in turn.

With ``refuse`` (a message), a destination that exists and holds other files than the tree (one
differs, is missing, or is there beyond the tree) is left as it is and the task fails with that
message: a release that may be live is never rewritten under a name the caller gave it.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import tarfile
import tempfile
from pathlib import Path

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase

ARGS = {"src", "dest", "parent", "name", "owner", "group", "refuse"}


def tree_files(root: Path) -> list[str]:
    """The tree's files as `find . -type f` names them (regular files, not links to them),
    __pycache__ and .pyc left out, in byte order."""
    names = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        for name in files:
            path = Path(folder, name)
            if name.endswith(".pyc") or path.is_symlink() or not path.is_file():
                continue
            names.append("./" + path.relative_to(root).as_posix())
    return sorted(names, key=lambda name: name.encode())


def manifest(root: Path) -> str:
    """`sha256sum` of every file, one "digest  ./path" line each, in the order of tree_files."""
    lines = []
    for name in tree_files(root):
        lines.append(f"{hashlib.sha256((root / name).read_bytes()).hexdigest()}  {name}\n")
    return "".join(lines)


def tree_id(text: str) -> str:
    """The name a manifest gives its tree: the first 12 hex digits of its own SHA-256 (of the
    text with one final line feed, as an empty tree has none)."""
    return hashlib.sha256((text if text.endswith("\n") else text + "\n").encode()).hexdigest()[:12]


def archive(root: Path, names: list[str], out) -> None:
    """A gzip tar of the files (and the folders above them), owned by root, modes as on disk."""
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=6, dereference=True) as tar:
        def owned(info):
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info
        for name in names:
            tar.add(str(root / name), arcname=name, recursive=False, filter=owned)


def names_digest(names: list[str]) -> str:
    """The SHA-256 of the file names as `find . -type f | LC_ALL=C sort` prints them."""
    return hashlib.sha256("".join(f"{name}\n" for name in names).encode()).hexdigest()


def check_command(dest: str, names: list[str], exact: bool) -> str:
    """Exit 0 when dest holds the manifest's files (read on stdin) as they are; with ``exact`` also
    no file beyond them (__pycache__ and .pyc aside). 3: dest is missing; 1 or 2: it differs."""
    d = shlex.quote(dest)
    command = f"cd {d} 2>/dev/null || exit 3; sha256sum --check --quiet --status - || exit 1"
    if exact:
        command += (f"; [ \"$(find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' | LC_ALL=C sort | sha256sum"
                    f" | cut -c1-64)\" = {names_digest(names)} ] || exit 2")
    return command


def install_command(archive_path: str, dest: str, owner: str, group: str) -> str:
    """A new dest is unpacked next to it and moved into place whole; an existing one (a live
    release, say, whose running processes keep it as their directory) is unpacked over in place.
    Either way it gets the owner and the modes the copy module's u=rwX,go=rX gives."""
    d, new = shlex.quote(dest), shlex.quote(dest + ".new")
    unpack = f"tar -xzf {shlex.quote(archive_path)} --no-same-owner -C"
    fix = f"chown -R {shlex.quote(owner)}:{shlex.quote(group)}"
    return (f"set -e; if [ -d {d} ]; then {unpack} {d}; {fix} {d}; chmod -R u=rwX,go=rX {d}; "
            f"else rm -rf {new}; mkdir -p {new}; {unpack} {new}; {fix} {new}; chmod -R u=rwX,go=rX {new}; "
            f"mv {new} {d}; fi")


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(ARGS)

    def _source(self, src: str) -> Path:
        """Where copy would read src from: absolute, else found as copy finds it."""
        if os.path.isabs(src):
            return Path(src)
        try:
            return Path(self._find_needle("files", src))
        except AnsibleError as error:
            raise AnsibleActionFail(f"sync_tree: src {src} not found: {error}") from error

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        if not isinstance(args.get("src"), str) or not args["src"]:
            raise AnsibleActionFail("sync_tree: src is required")
        if bool(args.get("dest")) == bool(args.get("parent")):
            raise AnsibleActionFail("sync_tree: give exactly one of dest and parent")
        if not str(args.get("dest") or args.get("parent")).startswith("/"):
            raise AnsibleActionFail("sync_tree: dest and parent must be absolute paths")
        root = self._source(args["src"])
        if not root.is_dir():
            raise AnsibleActionFail(f"sync_tree: src {root} is not a directory")
        owner, group = str(args.get("owner", "root")), str(args.get("group", "root"))
        names = tree_files(root)
        text = manifest(root)
        name = str(args.get("name") or tree_id(text))
        dest = args.get("dest") or f"{args['parent'].rstrip('/')}/{name}"
        result.update(tree_id=tree_id(text), name=name, dest=dest, files=len(names))

        refuse = str(args.get("refuse") or "")
        check = self._low_level_execute_command(check_command(dest, names, bool(refuse)), sudoable=True,
                                                in_data=text.encode())
        if check.get("rc") == 0:
            result.update(changed=False, msg="the tree on the host matches")
            return result
        if refuse and check.get("rc") in (1, 2):
            result.update(failed=True, changed=False, msg=refuse)
            return result
        result["changed"] = True
        if self._task.check_mode:
            result["msg"] = "the tree would be copied"
            return result

        remote_tmp = self._make_tmp_path()
        try:
            with tempfile.NamedTemporaryFile(suffix=".tar.gz") as local:
                archive(root, names, local)
                local.flush()
                remote = self._connection._shell.join_path(remote_tmp, "tree.tar.gz")
                self._transfer_file(local.name, remote)
            self._fixup_perms2((remote_tmp, remote))
            done = self._low_level_execute_command(install_command(remote, dest, owner, group), sudoable=True)
        finally:
            self._remove_tmp_path(remote_tmp)
        if done.get("rc") != 0:
            result.update(failed=True, msg=f"sync_tree: unpacking into {dest} failed: {done.get('stderr', '')}")
            return result
        result["msg"] = f"copied {len(names)} files"
        return result
