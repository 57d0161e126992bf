#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Documentation of the action plugin plugins/action/sync_files.py, which does the work."""

from __future__ import annotations

DOCUMENTATION = r"""
module: sync_files
short_description: Write many files, asking the host once what differs
description:
  - Takes files rendered on the controller (or records of other files' checksums) and links,
    reads what the host holds for all of them in one call (M(pyweb.stack.file_states)), and writes only the files
    whose content, owner, group or mode differ, each through Ansible's copy action (so C(validate),
    C(backup), check mode and C(--diff) behave as they do for M(ansible.builtin.copy)).
  - A run that changes nothing costs one round trip, whatever the number of files.
version_added: 0.1.0
author: pyweb maintainers (@pyweb)
options:
  files:
    description:
      - The files. Each takes C(dest) (absolute path) and exactly one of C(content) (the text to
        write), C(template) (a template found and rendered on the controller as
        M(ansible.builtin.template) finds and renders its C(src), with the task's variables and
        the item's own C(template_vars)), C(checksums_of), a list of paths whose SHA-1 checksums
        make the file, one "path sha1" line each ("absent" for a missing file; a leading "-" is
        kept in the line and ignored for the look-up), C(link), the target of a symbolic link
        to make at C(dest) (replacing what is there; never followed), or C(directory=true) for a
        directory (mode default 0755). Items are handled in their order, so a directory goes
        before the files written into it.
      - Optional per file C(owner) and C(group) (default root), C(mode) (four octal digits, default
        0644), C(validate) (a command with %s, run on the candidate before it replaces the file),
        and C(secret) (true keeps the content and its diff out of every result).
    type: list
    elements: dict
    required: true
  backup:
    description: Keep a copy of each replaced file beside it, as M(ansible.builtin.copy) does.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Write the app's units
  pyweb.stack.sync_files:
    files:
      - dest: /etc/systemd/system/shop.service
        content: "{{ lookup('ansible.builtin.template', 'shop.service.j2') }}"
      - dest: /etc/shop/environment-checksums
        checksums_of: [/etc/shop/environment]
        mode: "0600"
  register: written
"""

RETURN = r"""
files:
  description: Per file (keyed by dest) whether it existed before, whether it changed, why, and the backup made.
  returned: always
  type: dict
  sample:
    /etc/systemd/system/shop.service:
      dest: /etc/systemd/system/shop.service
      existed: true
      changed: true
      reason: content
      mode: "0644"
      backup_file: /etc/systemd/system/shop.service.1234.2026-12-04@05:00:00~
"""
