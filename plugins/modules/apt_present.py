#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Documentation of the action plugin pyweb.stack.apt_present (plugins/action/apt_present.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: apt_present
short_description: Make Debian packages present, asking dpkg before apt
description:
  - One command asks dpkg which of I(names) are installed and counts the host's package lists;
    M(ansible.builtin.apt) runs only when a package is missing, refreshing the lists first when
    they are older than I(cache_valid_time) or when there are none.
  - A run in which every package is installed costs one short command and no apt call.
  - In check mode on a host without package lists apt cannot plan anything. The missing packages
    are then reported as a change that would happen, and nothing runs.
  - Runs on the controller as an action plugin; this file only documents it.
version_added: 0.2.0
author: pyweb maintainers (@pyweb)
options:
  names:
    description: Package names (as apt takes them).
    type: list
    elements: str
    required: true
  cache_valid_time:
    description: Seconds for which the package lists count as fresh before a needed install.
    type: int
    default: 3600
"""

EXAMPLES = r"""
- name: Install Nginx from Debian's packages
  pyweb.stack.apt_present:
    names: [nginx, python3-cryptography]
  register: nginx_install
"""

RETURN = r"""
missing:
  description: The packages dpkg did not report installed before this run.
  returned: always
  type: list
  elements: str
lists:
  description: How many package lists the host had.
  returned: always
  type: int
"""
