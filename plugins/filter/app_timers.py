# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""The systemd units of an app's timers (gunicorn_timers): for each, <app>.<name>.service, which
runs the command once from the app's current release, and <app>.<name>.timer, which starts it on
its schedule. The server role writes them with the rest of its units (pyweb.stack.sync_files, one
template each) and retires the ones the app no longer declares."""

from __future__ import annotations

import re

SERVICE_TEMPLATE = "etc/systemd/system/app-timer.service.j2"
TIMER_TEMPLATE = "etc/systemd/system/app-timer.timer.j2"
UNIT_DIR = "/etc/systemd/system"


# The defaults of gunicorn_timers' optional keys (meta/argument_specs.yml; tests/unit holds the
# two together): an entry's timers reach the role as written, without the spec's defaults.
TIMER_DEFAULTS = {"timeout": 3600, "persistent": True}


def pyweb_timer_files(timers, app_name) -> list[dict]:
    """pyweb.stack.sync_files items: the service and timer unit of each timer, rendered from the
    role's templates with the timer (its defaults filled in) as `gunicorn_timer`."""
    files = []
    for timer in ({**TIMER_DEFAULTS, **timer} for timer in timers or []):
        for template in (SERVICE_TEMPLATE, TIMER_TEMPLATE):
            kind = template.rsplit(".", 2)[-2]
            files.append({"dest": f"{UNIT_DIR}/{app_name}.{timer['name']}.{kind}", "template": template,
                          "template_vars": {"gunicorn_timer": timer}})
    return files


def pyweb_systemd_quote(word) -> str:
    """One word of a unit file's ExecStart= that reaches the program as written: double-quoted with
    C escapes for backslash and quote, $ doubled (systemd would expand $NAME and ${NAME} with the
    unit's environment) and % doubled (systemd's specifiers). A line feed cannot be written."""
    text = str(word)
    if "\n" in text or "\r" in text:
        raise ValueError("a unit file's command line cannot hold a line feed")
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%")
    return f'"{text}"'


def pyweb_timer_units(timers, app_name) -> list[str]:
    """The timer units, <app>.<name>.timer, in the order of gunicorn_timers."""
    return [f"{app_name}.{timer['name']}.timer" for timer in timers or []]


def pyweb_retired_timers(unit_names, timers, app_name) -> list[str]:
    """Of the unit files in /etc/systemd/system (names), this app's timer units whose timer is no
    longer declared: <app>.<name>.timer with a <name> that gunicorn_timers lacks."""
    pattern = re.compile(rf"^{re.escape(app_name)}\.([a-z0-9][a-z0-9-]*)\.timer$")
    declared = {timer["name"] for timer in timers or []}
    return sorted(name for name in unit_names or []
                  if (match := pattern.match(name)) and match.group(1) not in declared)


def pyweb_app_timers_named(selected, schedules) -> list[str]:
    """The timers of the apps (the apps role's selected list) whose schedule is one of
    `schedules`, as a user finds them: pyweb_apps[<app>].timers[<name>].schedule '<schedule>'."""
    wanted = set(schedules or [])
    return [f"pyweb_apps[{app['name']}].timers[{timer['name']}].schedule '{timer['schedule']}'"
            for app in selected or [] for timer in app.get("gunicorn", {}).get("gunicorn_timers") or []
            if str(timer.get("schedule")) in wanted]


class FilterModule:
    def filters(self):
        return {
            "pyweb_app_timers_named": pyweb_app_timers_named,
            "pyweb_systemd_quote": pyweb_systemd_quote,
            "pyweb_timer_files": pyweb_timer_files,
            "pyweb_timer_units": pyweb_timer_units,
            "pyweb_retired_timers": pyweb_retired_timers,
        }
