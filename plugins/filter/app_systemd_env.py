"""Write a value into a systemd EnvironmentFile= so that the app receives exactly that string.

systemd does not read JSON: ``KEY="p\\u00e4ss"`` reaches the app as the ten characters
``p\\u00e4ss``, and a JSON-escaped newline as a backslash and an ``n``. Its own syntax, in double
quotes, keeps every character as it is (non-ASCII, newlines, single quotes, leading and trailing
spaces) except four, which a backslash must escape: ``"``, ``\\``, ``$`` and the backtick. Inside
double quotes a backslash before any other character is kept as it is, and one before a newline
joins the lines, which the escaping of every backslash rules out.

A NUL byte cannot be in any process's environment, so it is refused with the variable's name, and
so is anything but a string, a number or a boolean: YAML's null (an empty ``SENTRY_DSN:``) would
otherwise reach the app as the string ``None``, and a list or a mapping as its Python repr. An
empty value is written ``""``. The message names the variable, never its value (secrets).
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.pyweb.stack.plugins.module_utils.env_values import env_value_problem

_ESCAPED = re.compile(r'([\\"`$])')


def app_systemd_env_value(value, name="value"):
    """The double-quoted form of ``value`` for an EnvironmentFile= line."""
    problem = env_value_problem(value)
    if problem:
        raise AnsibleFilterError(f"{name}: {problem}")
    if isinstance(value, bool):
        # Ansible's YAML turns `yes` into True; the app reads what the user wrote as a word.
        text = "true" if value else "false"
    else:
        text = str(value)
    if "\0" in text:
        raise AnsibleFilterError(f"{name}: a NUL character cannot be passed in a process's environment")
    return '"' + _ESCAPED.sub(r"\\\1", text) + '"'


def app_systemd_env_values(mapping):
    """Every value of a name -> value mapping in its double-quoted form, in the mapping's order."""
    return {str(name): app_systemd_env_value(value, str(name)) for name, value in (mapping or {}).items()}


class FilterModule:
    def filters(self):
        return {"app_systemd_env_values": app_systemd_env_values}
