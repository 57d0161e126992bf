#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Documentation of the action plugin pyweb.stack.sync_tree (plugins/action/sync_tree.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: sync_tree
short_description: Copy a directory of the controller to the host as one archive, when it differs
description:
  - Makes the tree's manifest on the controller (each regular file's SHA-256 in byte order of its
    path, as C(sha256sum) prints it; C(__pycache__) and C(.pyc) files left out) and checks the
    copy on the host against it in one command.
  - When a file is missing or differs, the tree goes over as one gzip archive and is unpacked over
    the destination in place (a new destination is unpacked next to it and moved into place
    whole), with the owner given and the modes the copy module's C(u=rwX,go=rX) gives. Files the
    host holds beyond the tree stay, as with the copy module.
  - Two round trips whatever the number of files; check mode and a matching copy need one.
  - Runs on the controller as an action plugin; this file only documents it.
version_added: 0.2.0
author: pyweb maintainers (@pyweb)
options:
  src:
    description: The directory on the controller (relative paths are found as the copy module finds its C(src)).
    type: str
    required: true
  dest:
    description: The directory on the host. Give this or I(parent).
    type: str
  parent:
    description: The folder on the host whose subdirectory I(name) receives the tree.
    type: str
  name:
    description: The subdirectory of I(parent); by default the tree's own name (I(tree_id)).
    type: str
  refuse:
    description:
      - A message. When given, a destination that exists and holds other files than the tree (a file
        differs or is missing, or one is there beyond the tree, C(__pycache__) and C(.pyc) aside) is
        left as it is, and the task fails with this message. For a directory that must never change
        once made, such as a release a caller named.
    type: str
  owner:
    description: Owner of every file and folder of the copy.
    type: str
    default: root
  group:
    description: Group of every file and folder of the copy.
    type: str
    default: root
"""

EXAMPLES = r"""
- name: Put the code into a release named after it
  pyweb.stack.sync_tree:
    src: /home/me/shop
    parent: /srv/shop/releases
  register: shop_release
"""

RETURN = r"""
tree_id:
  description: The first 12 hex digits of the manifest's SHA-256.
  returned: always
  type: str
name:
  description: The subdirectory the tree went to (I(name), else I(tree_id)).
  returned: always
  type: str
dest:
  description: The directory on the host.
  returned: always
  type: str
files:
  description: How many files the tree has.
  returned: always
  type: int
"""
