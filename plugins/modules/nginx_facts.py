#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""What the Nginx role asks the host before it writes anything, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nginx_facts
short_description: Read the installed Nginx, its units, its pid file and its folders in one call
description:
  - The version and modules of the installed Nginx (C(nginx -V)), which the configuration is
    written for.
  - The state of systemd units (C(systemctl show)), such as C(nginx.service) and its exporter's.
  - The process id in the pid file the configuration names, to compare with the unit's main process.
  - The entries of folders, such as the sites and conf.d files in place.
  - Read-only; it runs in check mode as well. On a host without Nginx C(build.known) is false.
version_added: 0.1.0
author: pyweb maintainers (@pyweb)
options:
  pid_file:
    description: The pid file the configuration names.
    type: path
    required: true
  units:
    description: The units to read.
    type: list
    elements: str
    default: []
  list:
    description: Folders whose entries to list (a missing folder lists none).
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: Ask the host about Nginx
  pyweb.stack.nginx_facts:
    pid_file: /run/nginx/nginx.pid
    units: [nginx.service, prometheus-nginx-exporter.service]
    list: [/etc/nginx/conf.d]
  register: nginx_host
"""

RETURN = r"""
build:
  description: C(known) (whether Nginx answered), C(version) and C(modules) (its --with-..._module flags).
  returned: always
  type: dict
units:
  description: By unit, its C(Id), C(LoadState), C(UnitFileState), C(ActiveState) and C(MainPID).
  returned: always
  type: dict
pid_file_pid:
  description: The pid file's content, stripped; empty when it is missing.
  returned: always
  type: str
listings:
  description: By folder, the paths of its entries, sorted.
  returned: always
  type: dict
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pyweb.stack.plugins.module_utils.systemd_show import parse_show

PROPERTIES = "Id,LoadState,UnitFileState,ActiveState,MainPID"


def parse_build(rc, text):
    """`nginx -V`'s answer (it prints to stderr) as known, version and modules."""
    if rc != 0:
        return {"known": False, "version": "", "modules": []}
    version = re.findall(r"nginx version: nginx/([0-9.]+)", text)
    return {"known": True, "version": version[0] if version else "",
            "modules": sorted(set(re.findall(r"--with-[a-z0-9_]+_module", text)))}


def main():
    module = AnsibleModule(argument_spec={"pid_file": {"type": "path", "required": True},
                                          "units": {"type": "list", "elements": "str", "default": []},
                                          "list": {"type": "list", "elements": "path", "default": []}},
                           supports_check_mode=True)
    nginx = module.get_bin_path("nginx", opt_dirs=["/usr/sbin"])
    if nginx:
        rc, out, err = module.run_command([nginx, "-V"])
        build = parse_build(rc, out + err)
    else:
        build = parse_build(1, "")
    units = {}
    if module.params["units"]:
        rc, out, err = module.run_command(["systemctl", "show", f"--property={PROPERTIES}", *module.params["units"]])
        if rc != 0:
            module.fail_json(msg=f"systemctl show failed: {err.strip()}")
        units = parse_show(out)
    try:
        with open(module.params["pid_file"], encoding="ascii", errors="replace") as handle:
            pid = handle.read().strip()
    except OSError:
        pid = ""
    listings = {}
    for folder in module.params["list"]:
        try:
            listings[folder] = sorted(os.path.join(folder, name) for name in os.listdir(folder))
        except OSError:
            listings[folder] = []
    module.exit_json(changed=False, build=build, units=units, pid_file_pid=pid, listings=listings)


if __name__ == "__main__":
    main()
