# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""The systemd units of an app's background workers (gunicorn_background_workers: Celery, RQ,
arq, dramatiq): for each kind, one template unit <app>.<name>@.service, which runs the command from
the app's current release, and `count` instances of it, <app>.<name>@1.service and up. The server
role writes the templates with the rest of its units (pyweb.stack.sync_files), restarts the
instances with each release, and retires the instances and kinds the app no longer declares."""

from __future__ import annotations

import re

TEMPLATE = "etc/systemd/system/app-worker@.service.j2"
UNIT_DIR = "/etc/systemd/system"
# Where `systemctl enable` links an instance (the template's WantedBy=).
WANTS_DIR = f"{UNIT_DIR}/multi-user.target.wants"
# The defaults of the optional keys (meta/argument_specs.yml; tests/unit holds the two together):
# an entry's workers reach the role as written, without the spec's defaults.
WORKER_DEFAULTS = {"count": 1, "stop_signal": "SIGTERM", "stop_timeout": 30}


def _workers(workers):
    return [{**WORKER_DEFAULTS, **worker} for worker in workers or []]


def pyweb_worker_files(workers, app_name) -> list[dict]:
    """pyweb.stack.sync_files items: the template unit of each kind of worker, rendered from the
    role's template with the worker (its defaults filled in) as `gunicorn_worker`."""
    return [{"dest": f"{UNIT_DIR}/{app_name}.{worker['name']}@.service", "template": TEMPLATE,
             "template_vars": {"gunicorn_worker": worker}} for worker in _workers(workers)]


def pyweb_worker_units(workers, app_name) -> list[str]:
    """Every instance: <app>.<name>@<n>.service for n from 1 to count."""
    return [f"{app_name}.{worker['name']}@{number}.service"
            for worker in _workers(workers) for number in range(1, int(worker["count"]) + 1)]


def pyweb_retired_workers(wants, templates, workers, app_name) -> dict:
    """What of this app's workers the host holds and the app no longer declares: the enabled
    instances (`wants`, the names in multi-user.target.wants) beyond a kind's count or of a kind
    that is gone, and the template units (`templates`, the names in /etc/systemd/system) of the
    kinds that are gone. {"units": [...], "templates": [...]}."""
    declared = {worker["name"]: int(worker["count"]) for worker in _workers(workers)}
    instance = re.compile(rf"^{re.escape(app_name)}\.([a-z0-9][a-z0-9-]*)@(\d+)\.service$")
    template = re.compile(rf"^{re.escape(app_name)}\.([a-z0-9][a-z0-9-]*)@\.service$")
    units = sorted(name for name in wants or []
                   if (match := instance.match(name))
                   and not 1 <= int(match.group(2)) <= declared.get(match.group(1), 0))
    files = sorted(name for name in templates or []
                   if (match := template.match(name)) and match.group(1) not in declared)
    return {"units": units, "templates": files}


def pyweb_worker_instances(wants, app_name) -> list[str]:
    """This app's enabled worker instances among the names in multi-user.target.wants."""
    instance = re.compile(rf"^{re.escape(app_name)}\.[a-z0-9][a-z0-9-]*@\d+\.service$")
    return sorted(name for name in wants or [] if instance.match(name))


def pyweb_workers_down(show) -> list[str]:
    """From `systemctl show --property Id,ActiveState,NRestarts,UnitFileState` of the app's
    instances: the enabled ones not active, or restarted by systemd since their start, each as
    "<unit> (<state>, <n> restarts)". A disabled instance (one a switch back stopped) is not asked."""
    down = []
    for block in str(show or "").strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if not props or props.get("UnitFileState") != "enabled":
            continue
        if props.get("ActiveState") != "active" or props.get("NRestarts", "0") not in ("", "0"):
            down.append(f"{props.get('Id')} ({props.get('ActiveState')}, {props.get('NRestarts') or 0} restarts)")
    return down


class FilterModule:
    def filters(self):
        return {
            "pyweb_worker_files": pyweb_worker_files,
            "pyweb_worker_units": pyweb_worker_units,
            "pyweb_retired_workers": pyweb_retired_workers,
            "pyweb_worker_instances": pyweb_worker_instances,
            "pyweb_workers_down": pyweb_workers_down,
        }
