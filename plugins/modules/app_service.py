#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Bring an app's systemd units to what a deploy asks, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_service
short_description: Reload, start, restart or gracefully reload an app's service and socket in one call
description:
  - Does, in this order and only where needed, what a deploy of one app asks of systemd.
  - Stops and disables a socket unit that socket activation no longer uses (I(retire_socket)).
  - Reloads systemd's view of the units (I(daemon_reload)).
  - Re-creates a changed socket (I(recreate_socket)), stopping the service first, since a socket
    is only re-created once nothing holds it.
  - Enables and starts the socket (I(socket)) and enables the service, when they are not.
  - Starts the service when it is not running; else restarts it (I(restart)) or reloads it
    gracefully (I(reload)), restart winning.
  - Stops and disables the timers and background workers the app no longer has (I(retire_timers),
    I(retire_workers)) first, and enables and starts (or restarts) its workers (I(workers)) and
    timers (I(timers)) last.
  - One C(systemctl show) reads the units' states; a run that changes nothing makes no other call.
  - In check mode, reports what it would do and does nothing.
version_added: 0.1.0
author: pyweb maintainers (@pyweb)
options:
  service:
    description: The service unit, such as C(shop.service).
    type: str
    required: true
  socket:
    description: Its socket unit when socket activation is on, else empty.
    type: str
    default: ""
  retire_socket:
    description: A socket unit that socket activation no longer uses, to stop if it runs and disable if it is enabled.
    type: str
    default: ""
  daemon_reload:
    description: Reload systemd's view of the units first (a unit file changed).
    type: bool
    default: false
  recreate_socket:
    description: Stop the service and restart I(socket), whose unit changed while it ran.
    type: bool
    default: false
  restart:
    description: Restart a running service (its unit, interpreter or environment changed).
    type: bool
    default: false
  reload:
    description: Reload a running service gracefully (its release or config changed), unless it restarts.
    type: bool
    default: false
  timers:
    description:
      - The app's timer units, such as C(shop.cleanup.timer), enabled and started after the service
        when they are not; restarted when I(restart_timers) (their unit files changed).
    type: list
    elements: str
    default: []
  restart_timers:
    description: Restart the running I(timers), so that a changed schedule is in force.
    type: bool
    default: false
  retire_timers:
    description: Timer units the app no longer declares, stopped and disabled first.
    type: list
    elements: str
    default: []
  workers:
    description:
      - The instances of the app's background workers, such as C(shop.celery@1.service), enabled
        and started after the service when they are not; restarted when I(restart_workers).
    type: list
    elements: str
    default: []
  restart_workers:
    description: Restart the running I(workers) (a new release, config, environment or unit).
    type: bool
    default: false
  retire_workers:
    description: Worker instances the app no longer declares, stopped and disabled first.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Start, reload or restart the app
  pyweb.stack.app_service:
    service: shop.service
    socket: shop.socket
    daemon_reload: "{{ units_changed }}"
    reload: "{{ config_changed }}"
  register: shop_service
"""

RETURN = r"""
actions:
  description: The systemctl commands run (or, in check mode, that would run), in order.
  returned: always
  type: list
  elements: str
  sample: ["daemon-reload", "start shop.socket", "reload shop.service"]
started:
  description: Whether the service was not running and this call started it.
  returned: always
  type: bool
retired_socket_found:
  description: Whether the unit file of I(retire_socket) is in /etc/systemd/system.
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pyweb.stack.plugins.module_utils.systemd_show import parse_show

UNIT_DIR = "/etc/systemd/system"
PROPERTIES = "Id,LoadState,UnitFileState,ActiveState"


def plan(params, states):
    """The systemctl commands (argument lists without `systemctl`) the parameters and the units'
    states ask for, and whether the service gets started."""
    service, socket = params["service"], params["socket"]
    commands = []
    retired = states.get(params["retire_socket"], {})
    if params["retire_socket"]:
        if retired.get("ActiveState", "inactive") not in ("inactive", "failed"):
            commands.append(["stop", params["retire_socket"]])
        if retired.get("UnitFileState") == "enabled":
            commands.append(["disable", params["retire_socket"]])
    for timer in (params.get("retire_timers") or []) + (params.get("retire_workers") or []):
        if states.get(timer, {}).get("ActiveState", "inactive") not in ("inactive", "failed"):
            commands.append(["stop", timer])
        if states.get(timer, {}).get("UnitFileState") == "enabled":
            commands.append(["disable", timer])
    if params["daemon_reload"]:
        commands.append(["daemon-reload"])
    recreated = bool(socket and params["recreate_socket"])
    if recreated:
        commands += [["stop", service], ["restart", socket]]
    if socket:
        if states.get(socket, {}).get("UnitFileState") != "enabled":
            commands.append(["enable", socket])
        if not recreated and states.get(socket, {}).get("ActiveState") != "active":
            commands.append(["start", socket])
    if states.get(service, {}).get("UnitFileState") != "enabled":
        commands.append(["enable", service])
    active_state = states.get(service, {}).get("ActiveState")
    started = recreated or active_state != "active"
    if started and not recreated and active_state in ("activating", "failed"):
        # A service that failed on its new files (a reload that killed its workers or master) is
        # restarting on its own, or has given up: start it onto the files as they are now (a
        # restore has put the previous ones back), from a clean slate. A start would only join
        # the restart under way; systemd refuses one past its start limit until reset-failed.
        commands += [["reset-failed", service], ["restart", service]]
    elif started:
        commands.append(["start", service])
    elif params["restart"]:
        commands.append(["restart", service])
    elif params["reload"]:
        commands.append(["reload", service])
    for kind in ("workers", "timers"):
        for unit in params.get(kind) or []:
            state = states.get(unit, {})
            if state.get("UnitFileState") != "enabled":
                commands.append(["enable", unit])
            if state.get("ActiveState") == "failed":
                # Past its start limit (a worker that kept failing): from a clean slate.
                commands += [["reset-failed", unit], ["start", unit]]
            elif state.get("ActiveState") not in ("active", "activating"):
                commands.append(["start", unit])
            elif params.get(f"restart_{kind}") and kind == "workers":
                # A worker crashing on a release (a switch back restarts it) may reach its start
                # limit between this read and the restart, which systemd would then refuse.
                commands += [["reset-failed", unit], ["restart", unit]]
            elif params.get(f"restart_{kind}"):
                commands.append(["restart", unit])
    return commands, started


def journal_tail(module, unit, lines=12):
    """The unit's last journal lines (what its commands said on the way down), for a failure
    message: "systemctl ... failed" alone sends the user to the host to find out why."""
    journalctl = module.get_bin_path("journalctl")
    if not journalctl or not unit.endswith((".service", ".socket")):
        return ""
    rc, out, _err = module.run_command([journalctl, "--unit", unit, "--lines", str(lines), "--no-pager",
                                        "--output", "cat"])
    return f" Its journal ends: {' | '.join(line for line in out.splitlines() if line.strip())}" if rc == 0 and out.strip() else ""


def main():
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "str", "required": True},
            "socket": {"type": "str", "default": ""},
            "retire_socket": {"type": "str", "default": ""},
            "daemon_reload": {"type": "bool", "default": False},
            "recreate_socket": {"type": "bool", "default": False},
            "restart": {"type": "bool", "default": False},
            "reload": {"type": "bool", "default": False},
            "timers": {"type": "list", "elements": "str", "default": []},
            "restart_timers": {"type": "bool", "default": False},
            "retire_timers": {"type": "list", "elements": "str", "default": []},
            "workers": {"type": "list", "elements": "str", "default": []},
            "restart_workers": {"type": "bool", "default": False},
            "retire_workers": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    systemctl = module.get_bin_path("systemctl", required=True)
    units = [unit for unit in (params["service"], params["socket"], params["retire_socket"],
                               *params["timers"], *params["retire_timers"], *params["workers"],
                               *params["retire_workers"]) if unit]
    rc, out, err = module.run_command([systemctl, "show", f"--property={PROPERTIES}", "--", *units])
    if rc != 0:
        module.fail_json(msg=f"systemctl show {' '.join(units)} failed: {err.strip() or out.strip()}")
    retired_found = bool(params["retire_socket"]) and os.path.exists(os.path.join(UNIT_DIR, params["retire_socket"]))
    commands, started = plan(params, parse_show(out))
    actions = [" ".join(command) for command in commands]
    if not module.check_mode:
        for command in commands:
            rc, out, err = module.run_command([systemctl, *command])
            if rc != 0:
                module.fail_json(msg=f"systemctl {' '.join(command)} failed: {err.strip() or out.strip()}"
                                     f"{journal_tail(module, command[-1])}",
                                 actions=actions, started=started, retired_socket_found=retired_found)
    module.exit_json(changed=bool(commands), actions=actions, started=started,
                     retired_socket_found=retired_found)


if __name__ == "__main__":
    main()
