# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""pyweb.stack.apt_present: Debian packages present, asking dpkg first.

Ansible's apt module costs about a second per call even when every package is installed, and
refreshes package lists older than cache_valid_time first. Here one shell command asks dpkg which
of the packages are installed and counts the package lists; apt runs only when one is missing,
with the lists refreshed when they are older than cache_valid_time (or when there are none). In
check mode on a host without package lists apt could not plan anything: the install is reported
as a change that would happen, and nothing runs.
"""

from __future__ import annotations

import shlex

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

LISTS = "/var/lib/apt/lists"


def probe_command(names):
    """dpkg's status of each package, then the number of package lists, in one command."""
    quoted = " ".join(shlex.quote(name) for name in names)
    return (f"dpkg-query -W -f='${{Package}} ${{db:Status-Status}}\\n' -- {quoted} 2>/dev/null; "
            f"echo \"lists $(find {LISTS} -maxdepth 1 -name '*_Packages*' 2>/dev/null | wc -l)\"")


def parse_probe(stdout, names):
    """(the packages that are not installed, in the order asked; the number of package lists)."""
    installed, lists = set(), 0
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "lists" and fields[1].isdigit():
            lists = int(fields[1])
        elif len(fields) == 2 and fields[1] == "installed":
            installed.add(fields[0].split(":")[0])
    return [name for name in names if name.split(":")[0] not in installed], lists


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("names", "cache_valid_time"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        names = self._task.args.get("names")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
            raise AnsibleActionFail("apt_present: names must be a list of package names")
        try:
            valid = int(self._task.args.get("cache_valid_time", 3600))
        except (TypeError, ValueError) as error:
            raise AnsibleActionFail("apt_present: cache_valid_time must be a number of seconds") from error
        if not names:
            result.update(changed=False, missing=[], msg="no packages asked for")
            return result
        probe = self._low_level_execute_command(probe_command(names), sudoable=True)
        missing, lists = parse_probe(probe.get("stdout", ""), names)
        result.update(missing=missing, lists=lists)
        if not missing:
            result.update(changed=False, msg="every package is installed")
            return result
        if self._task.check_mode and lists == 0:
            result.update(changed=True, msg=f"would install {', '.join(missing)} (no package lists to plan with)")
            return result
        installed = self._execute_module(
            module_name="ansible.legacy.apt", task_vars=task_vars,
            module_args={"name": names, "state": "present", "update_cache": True,
                         # Empty lists are refreshed whatever their folder's time says.
                         "cache_valid_time": valid if lists > 0 else 0})
        installed.pop("invocation", None)
        result.update(installed)
        result["missing"] = missing
        return result
