# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""pyweb.stack.deploy_record: the plan's digest, made on the controller, then one call on the host.

The plan is everything a deploy is made from that the host cannot tell by itself: the deploy's
inputs (its variables, as the caller passes them), the content of its sources on the controller
(a directory tree or a file) and the code of this collection (its roles and plugins, so that an
upgraded collection deploys again). Only the digest reaches the host.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase

ARGS = {"path", "state", "inputs", "sources", "measure", "serving"}
# The parts of the collection whose change changes what a deploy writes.
CODE_FOLDERS = ("roles", "plugins")
_CODE_DIGEST = {}


def tree_digest(root: Path) -> str:
    """The digest of a directory's files (names and content), or of one file; "absent" when missing.

    __pycache__ and .pyc files are left out, as the release's manifest leaves them out."""
    if root.is_file():
        return hashlib.sha256(root.read_bytes()).hexdigest()
    if not root.is_dir():
        return "absent"
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(name for name in dirs if name != "__pycache__")
        for name in sorted(names):
            if name.endswith(".pyc"):
                continue
            path = Path(folder, name)
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"-")
    return digest.hexdigest()


def code_digest(collection: Path) -> str:
    """The digest of this collection's roles and plugins, worked out once per controller process."""
    if collection not in _CODE_DIGEST:
        _CODE_DIGEST[collection] = hashlib.sha256(
            "".join(tree_digest(collection / folder) for folder in CODE_FOLDERS).encode()).hexdigest()
    return _CODE_DIGEST[collection]


def plan_digest(inputs, sources: dict, code: str) -> str:
    """One digest of the inputs, each source's digest (by the name the caller gave) and the code."""
    text = json.dumps({"inputs": inputs, "sources": sources, "code": code}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGS)

    def _source_path(self, source: str) -> Path:
        """Where copy would read a source from: absolute, else found as copy finds its src."""
        if os.path.isabs(source):
            return Path(source)
        try:
            return Path(self._find_needle("files", source))
        except AnsibleError:
            return Path(source).absolute()

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if not args.get("path"):
            raise AnsibleActionFail("deploy_record: path is required")
        sources = args.get("sources") or []
        if not isinstance(sources, list) or not all(isinstance(source, str) for source in sources):
            raise AnsibleActionFail("deploy_record: sources must be a list of paths on the controller")
        state = args.get("state", "check")
        module_args = {"path": args["path"], "state": state, "measure": args.get("measure") or {},
                       "serving": args.get("serving") or {}}
        # Marking a deploy under way needs no plan (and no walk of the sources).
        if state != "deploying":
            digests = {source: tree_digest(self._source_path(source)) for source in sources}
            collection = Path(__file__).resolve().parents[2]
            module_args["plan"] = plan_digest(args.get("inputs"), digests, code_digest(collection))
        result.update(self._execute_module(module_name="pyweb.stack.deploy_record",
                                           module_args=module_args, task_vars=task_vars))
        result.pop("invocation", None)
        return result
