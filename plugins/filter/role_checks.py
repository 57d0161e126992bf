"""The checks of the app and gunicorn roles' variables, beyond what their argument specs say.

Each role's ``tasks/assert.yml`` runs its argument spec and then these checks with its variables;
the apps role runs both for every app at once (``pyweb_app_check_problems``), in one task
whatever the number of apps, with exactly the variables each app's deploy will use. Every
problem is one message that names the variable (and the app), never the value of an env or
secrets entry.

The source checks (``app_src``, ``gunicorn_config_template``) look at the controller's files, as
the Jinja tests ``is file`` and ``is directory`` did: a relative path starts at the directory
ansible-playbook runs in.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.pyweb.stack.plugins.module_utils.env_values import env_value_problems
from ansible_collections.pyweb.stack.plugins.module_utils.plain import plain
from ansible_collections.pyweb.stack.plugins.module_utils.worker_profiles import PROFILE_ALLOWED

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
ACCOUNT = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
TIMER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RELEASE_ID = re.compile(r"^[A-Za-z0-9._-]*$")
GIT_REPO = re.compile(r"^(https?://|ssh://|git://|file://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[^ ]+$")
GIT_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
ARCHIVE = re.compile(r".*\.(tar\.gz|tgz|zip)$")
PACKAGE = re.compile(r".*\.(whl|tar\.gz|zip)$")
# The variables the app sets from app_name, app_mode and app_base_dir.
RESERVED_ENV = ("APP_NAME", "APP_ENV", "APP_DATA_DIR")
# Variables the servers read as settings, over the config the gunicorn role writes and checks:
# Gunicorn's command line in a variable, and Granian's options (GRANIAN_WORKERS, ...).
SERVER_ENV = re.compile(r"^(GUNICORN_CMD_ARGS|GRANIAN_[A-Z0-9_]+)$")

UNIX_BIND = re.compile(r"^unix:/[^ ]+\.sock$")
TCP_BIND = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$")
SOCKET_MODE = re.compile(r"^0[0-7]{3}$")
APP_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*(\(.*\))?$")
METRICS_LISTEN = re.compile(r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$")

# Gunicorn settings Granian has no equivalent for: each must keep its default, so a setting never
# silently does nothing. Variable -> (is it at its default?, why).
GRANIAN_UNSUPPORTED = {
    "gunicorn_worker_class": (lambda v: v == "",
                              "Granian has no worker classes; gunicorn_profile picks ASGI (async) or WSGI (cpu, io)"),
    "gunicorn_metrics_listen": (lambda v: v == "", "the role's metrics hooks need Gunicorn's master"),
    "gunicorn_statsd_host": (lambda v: v == "", "Granian sends no StatsD metrics"),
    "gunicorn_max_requests": (lambda v: _int(v) == 0, "Granian cannot restart a worker after a number of requests"),
    "gunicorn_preload_app": (lambda v: not _bool(v), "Granian's master never imports the app"),
    "gunicorn_config_template": (lambda v: v == "", "it replaces gunicorn.conf.py, which Granian does not read"),
}


def _int(value) -> int:
    """Jinja's ``int`` filter: the number, or 0 when it is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _bool(value) -> bool:
    return boolean(value, strict=False)


def _json(value) -> str:
    return json.dumps(value)


def _is_file(path) -> bool:
    return isinstance(path, str) and os.path.isfile(path)


def spec_problems(values: Mapping, options: Mapping) -> tuple[list, dict]:
    """Ansible's own argument spec validation of a role's variables: its messages, and the values
    converted to their types (for the checks that follow). A no_log option's value is only checked
    for being a mapping (a list, when its spec says so), so that no message can quote it."""
    checked = {var: values[var] for var in options if var in values}
    problems = []
    for var, option in options.items():
        if option.get("no_log") and var in checked:
            value = checked.pop(var)
            if option.get("type") == "list":
                if not isinstance(value, (list, tuple)):
                    problems.append(f"{var} must be a list.")
            elif not isinstance(value, Mapping):
                problems.append(f"{var} must be a mapping of variable names to values.")
    result = ArgumentSpecValidator(options).validate(checked)
    # Only what was checked: the validator also fills in the spec's defaults for what it did not see.
    converted = dict(values)
    converted.update({var: value for var, value in result.validated_parameters.items() if var in checked})
    return problems + list(result.error_messages), converted


def app_role_problems(v: Mapping) -> list:
    """The app role's checks (``v``: its variables, converted by the argument spec)."""
    problems = []
    if not NAME.match(str(v["app_name"])):
        problems.append("app_name must be lowercase letters, digits and dashes, starting with a letter "
                        f"(at most 31 characters); got {_json(v['app_name'])}.")
    for var in ("app_user", "app_group"):
        if not ACCOUNT.match(str(v[var])):
            problems.append(f"{var} must be a valid user or group name; got {_json(v[var])}.")
    if _int(v["app_releases_keep"]) < 1:
        problems.append(f"app_releases_keep must be at least 1; got {v['app_releases_keep']}.")
    for var in ("app_base_dir", "app_config_dir"):
        if not str(v[var]).startswith("/"):
            problems.append(f"{var} must be an absolute path; got {_json(v[var])}.")
    present = v["app_state"] == "present"
    building = present and not _bool(v["app_rollback"])
    if present and not _bool(v["app_rollback"]) and v["app_src_type"] != "git" and not v["app_src"]:
        problems.append("app_src is required unless app_state is absent, app_rollback is set or app_src_type is git.")
    if not RELEASE_ID.match(str(v["app_release_id"])):
        problems.append(f"app_release_id must be letters, digits, '.', '_' and '-'; got {_json(v['app_release_id'])}.")
    for var in ("app_env", "app_secrets"):
        # Names only: the keys of secrets are not secret, their values are.
        bad = [str(key) for key in (v[var] or {}) if not ENV_KEY.match(str(key))]
        if bad:
            problems.append(f"app_env/app_secrets keys must be shell variable names; {var} has {', '.join(bad)}.")
    reserved = [key for key in RESERVED_ENV if key in (v["app_env"] or {})]
    if reserved:
        problems.append(f"app_env/app_secrets keys: {', '.join(reserved)} come from app_name, app_mode and "
                        "app_base_dir; leave them out of app_env.")
    for var in ("app_env", "app_secrets"):
        settings = sorted(str(key) for key in (v[var] or {}) if SERVER_ENV.match(str(key)))
        if settings:
            problems.append(f"app_env/app_secrets keys: {', '.join(settings)} in {var} would override the server "
                            "settings the gunicorn role writes and checks; set them with the entry's keys "
                            "(workers, timeout, ...: the gunicorn_* variables) instead.")
    problems += env_value_problems(v["app_env"], "env (app_env)")
    problems += env_value_problems(v["app_secrets"], "secrets (app_secrets)")
    if building:
        problems += _source_problems(v)
    return problems


def _source_problems(v: Mapping) -> list:
    """The app's source and wheelhouse, on the controller, against app_src_type."""
    src, src_type = v["app_src"], v["app_src_type"]
    if src_type == "directory" and not os.path.isdir(str(src)) or \
            src_type == "archive" and not (_is_file(src) and ARCHIVE.match(src)) or \
            src_type == "package" and not (_is_file(src) and PACKAGE.match(src)):
        return [f"app_src ({_json(src)}) must be, on the controller, a directory for app_src_type directory, "
                "a .tar.gz, .tgz or .zip file for archive, or a wheel (.whl) or sdist (.tar.gz, .zip) for "
                f"package (app_src_type is {src_type})."]
    problems = []
    if src_type == "directory" and not (_is_file(f"{src}/{v['app_requirements_file']}")
                                        or _is_file(f"{src}/pyproject.toml")):
        problems.append(f"app_requirements_file: {src} has neither {v['app_requirements_file']} nor a "
                        "pyproject.toml, so pip would have nothing to install.")
    if src_type == "git" and not (GIT_REPO.match(str(v["app_git_repo"])) and GIT_VERSION.match(str(v["app_git_version"]))):
        problems.append("app_src_type git needs app_git_repo as a URL (https://, ssh://, git://, file:// or "
                        f"user@host:path; got {_json(v['app_git_repo'])}) and app_git_version as a branch, tag or "
                        f"commit (got {_json(v['app_git_version'])}).")
    if v["app_wheelhouse"] and not os.path.isdir(str(v["app_wheelhouse"])):
        problems.append(f"app_wheelhouse ({_json(v['app_wheelhouse'])}) must be empty (use the package index) "
                        "or a directory of wheels on the controller.")
    return problems


def gunicorn_config_src(template: str, templates_dir: str) -> str:
    """Where gunicorn_config_template is read from: an absolute path as it is, a relative one under
    the collection's top-level templates/ folder."""
    return template if os.path.isabs(template) else f"{templates_dir}/{template}"


def gunicorn_role_problems(v: Mapping, templates_dir: str = "") -> list:
    """The gunicorn role's checks (``v``: its variables, converted by the argument spec)."""
    problems = []
    granian = v["gunicorn_server"] == "granian"
    unix = str(v["gunicorn_bind"]).startswith("unix:")
    if not NAME.match(str(v["gunicorn_name"])):
        problems.append(f"gunicorn_name must be lowercase letters, digits and dashes; got {_json(v['gunicorn_name'])}.")
    if granian:
        problems += [f"{var} cannot be set with gunicorn_server granian: {why}."
                     for var, (at_default, why) in GRANIAN_UNSUPPORTED.items() if not at_default(v[var])]
    if not 0.5 <= _float(v["gunicorn_granian_respawn_interval"]) <= 120:
        problems.append("gunicorn_granian_respawn_interval must be 0.5 to 120 seconds; "
                        f"got {v['gunicorn_granian_respawn_interval']}.")
    allowed = PROFILE_ALLOWED.get(v["gunicorn_profile"], ())
    worker_class = v["gunicorn_worker_class"]
    if worker_class and worker_class not in allowed:
        problems.append(f"gunicorn_worker_class {worker_class} does not fit gunicorn_profile {v['gunicorn_profile']}; "
                        f"that profile takes {' or '.join(allowed)}.")
    counts_ok = (min(_int(v[var]) for var in ("gunicorn_workers", "gunicorn_threads", "gunicorn_worker_connections")) >= 0
                 and _int(v["gunicorn_concurrency"]) >= 1 and _int(v["gunicorn_worker_memory_mb"]) >= 1)
    threads_ok = _int(v["gunicorn_threads"]) == 0 or (worker_class or (allowed or ("",))[0]) == "gthread"
    if not (counts_ok and threads_ok):
        problems.append("gunicorn_workers, gunicorn_threads and gunicorn_worker_connections must be >= 0 (0 = computed), "
                        "gunicorn_concurrency and gunicorn_worker_memory_mb >= 1, and gunicorn_threads only applies to "
                        f"the gthread worker class (workers {v['gunicorn_workers']}, threads {v['gunicorn_threads']}).")
    if not (_int(v["gunicorn_timeout"]) >= 1 and _int(v["gunicorn_graceful_timeout"]) >= 1
            and _int(v["gunicorn_keepalive"]) >= 0 and _int(v["gunicorn_max_requests"]) >= 0
            and 0 <= _int(v["gunicorn_max_requests_jitter"]) <= _int(v["gunicorn_max_requests"])):
        problems.append(f"gunicorn_timeout ({v['gunicorn_timeout']}) and gunicorn_graceful_timeout "
                        f"({v['gunicorn_graceful_timeout']}) must be >= 1, gunicorn_keepalive >= 0, and "
                        f"gunicorn_max_requests_jitter ({v['gunicorn_max_requests_jitter']}) at most "
                        f"gunicorn_max_requests ({v['gunicorn_max_requests']}).")
    bind = str(v["gunicorn_bind"])
    if not (UNIX_BIND.match(bind) or TCP_BIND.match(bind)) or \
            not (_bool(v["gunicorn_socket_activation"]) or not unix or granian):
        problems.append(f"gunicorn_bind must be unix:/path.sock or host:port (got {bind}); under Gunicorn a unix "
                        "bind needs gunicorn_socket_activation (systemd creates the socket with gunicorn_socket_group "
                        "and gunicorn_socket_mode).")
    if not SOCKET_MODE.match(str(v["gunicorn_socket_mode"])):
        problems.append("gunicorn_socket_mode must be four octal digits with a leading zero, such as 0660; got "
                        f"{v['gunicorn_socket_mode']}.")
    template = v["gunicorn_config_template"]
    if template and not granian and not _is_file(gunicorn_config_src(template, templates_dir)):
        problems.append(f"gunicorn_config_template {template} is not a file on the controller (looked for "
                        f"{gunicorn_config_src(template, templates_dir)}; a relative path starts at the top-level "
                        "templates/ folder).")
    paths = [v["gunicorn_app_dir"], v["gunicorn_config_dir"], *(v["gunicorn_read_write_paths"] or [])]
    if not (all(str(path).startswith("/") for path in paths) and str(v["gunicorn_health_path"]).startswith("/")
            and APP_MODULE.match(str(v["gunicorn_app_module"]))):
        problems.append("gunicorn_app_dir, gunicorn_config_dir and gunicorn_read_write_paths must be absolute, "
                        "gunicorn_health_path must start with /, and gunicorn_app_module must be module:variable or "
                        f"module:factory() (got {v['gunicorn_app_module']}).")
    commands = v.get("gunicorn_release_commands") or []
    empty = [index for index, command in enumerate(commands) if not isinstance(command, str) or not command.strip()]
    if empty:
        problems.append("gunicorn_release_commands must be a list of commands, each a non-empty string (run by "
                        f"/bin/sh -c in the new release); item {', '.join(map(str, empty))} is empty.")
    problems += _timer_problems(v.get("gunicorn_timers") or [])
    problems += _worker_problems(v.get("gunicorn_background_workers") or [])
    listen = str(v["gunicorn_metrics_listen"])
    if listen and not (METRICS_LISTEN.match(listen) and 1 <= _int(listen.rsplit(":", 1)[-1]) <= 65535
                       and listen != bind):
        problems.append("gunicorn_metrics_listen must be empty (no metrics) or an IP address and port such as "
                        "127.0.0.1:9210 or [::1]:9210, with a port from 1 to 65535, other than gunicorn_bind; got "
                        f"{_json(listen)}.")
    return problems


def _timer_problems(timers) -> list:
    """gunicorn_timers: each a unit name of its own (<app>.<name>.timer), a command and a timeout
    of at least a second. systemd's own parser checks the schedules on the host (in the apps
    role's checks), since only it knows every calendar form."""
    problems, seen = [], set()
    for index, timer in enumerate(timers):
        name = str(timer.get("name"))
        if not TIMER_NAME.match(name) or name in seen:
            problems.append(f"gunicorn_timers[{index}].name must be lowercase letters, digits and dashes, unique "
                            f"among the app's timers (it names the unit <app>.<name>.timer); got {_json(name)}.")
        seen.add(name)
        command, schedule = str(timer.get("command") or ""), str(timer.get("schedule") or "")
        if not command.strip() or "\n" in command or "\r" in command:
            problems.append(f"gunicorn_timers[{index}] ({name}): command must be a non-empty shell command on one "
                            "line (a unit file's command line cannot hold a line feed; call a script instead).")
        if not schedule.strip() or "\n" in schedule:
            problems.append(f"gunicorn_timers[{index}] ({name}): schedule must be one calendar expression, such as "
                            f"daily or *-*-* 03:00:00; got {_json(schedule)}.")
        if _int(timer.get("timeout")) < 1:
            problems.append(f"gunicorn_timers[{index}] ({name}): timeout must be at least 1 second; "
                            f"got {_json(timer.get('timeout'))}.")
    return problems


def _worker_problems(workers) -> list:
    """gunicorn_background_workers: each kind a unit name of its own (<app>.<name>@.service), a
    command on one line, 1 to 32 instances and a stop timeout of at least a second."""
    problems, seen = [], set()
    for index, worker in enumerate(workers):
        name = str(worker.get("name"))
        if not TIMER_NAME.match(name) or name in seen:
            problems.append(f"gunicorn_background_workers[{index}].name must be lowercase letters, digits and "
                            "dashes, unique among the app's workers (it names the unit <app>.<name>@.service); "
                            f"got {_json(name)}.")
        seen.add(name)
        command = str(worker.get("command") or "")
        if not command.strip() or "\n" in command or "\r" in command:
            problems.append(f"gunicorn_background_workers[{index}] ({name}): command must be a non-empty command "
                            "line on one line.")
        if not 1 <= _int(worker.get("count")) <= 32 or _int(worker.get("stop_timeout")) < 1:
            problems.append(f"gunicorn_background_workers[{index}] ({name}): count must be 1 to 32 (got "
                            f"{_json(worker.get('count'))}) and stop_timeout at least 1 second (got "
                            f"{_json(worker.get('stop_timeout'))}).")
    return problems


def role_problems(values: Mapping, options: Mapping, role: str, templates_dir: str = "") -> list:
    """A role's whole check: its argument spec, then (when the types are right) its other checks."""
    problems, converted = spec_problems(plain(values), plain(options))
    if problems:
        return problems
    if role == "app":
        return app_role_problems(converted)
    return gunicorn_role_problems(converted, templates_dir)


def pyweb_app_check_problems(selected, app_options: Mapping, gunicorn_options: Mapping, templates_dir: str) -> list:
    """Both roles' checks for every app (``selected``: pyweb_app_role_vars' output), each message
    prefixed with the app's name."""
    problems = []
    app_options, gunicorn_options = plain(app_options), plain(gunicorn_options)
    for item in plain(selected):
        for role, options in (("app", app_options), ("gunicorn", gunicorn_options)):
            problems += [f"{item['name']}: {problem}" for problem in role_problems(item[role], options, role, templates_dir)]
    return problems


class FilterModule:
    def filters(self):
        return {
            "role_problems": role_problems,
            "pyweb_app_check_problems": pyweb_app_check_problems,
        }
