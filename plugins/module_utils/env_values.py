"""Which values an environment variable can hold.

systemd's EnvironmentFile= holds strings: YAML's null (an empty ``SENTRY_DSN:``) would reach the
app as the string ``None``, a list or a mapping as its Python repr. Read by the filter that
writes the files (plugins/filter/app_systemd_env.py) and by the checks of the app role's
variables (plugins/filter/role_checks.py). Messages name the variable, never its value.
"""

from __future__ import annotations


def env_value_problem(value) -> str:
    """Why ``value`` cannot be an environment variable's value, or "" when it can."""
    if value is None:
        return 'it is null (YAML writes an empty value as null): write "" for an empty string'
    if not isinstance(value, (str, int, float)):
        kind = "list" if isinstance(value, (list, tuple)) else "mapping" if isinstance(value, dict) else type(value).__name__
        return f"it is a {kind}: an environment variable holds a string, a number or a boolean"
    return ""


def env_value_problems(mapping, label="app_env") -> list:
    """One message per variable of ``mapping`` whose value an environment cannot hold."""
    return [f"{label}.{name}: {problem}" for name, value in (mapping or {}).items()
            if (problem := env_value_problem(value))]
