"""The app contract: how an entry of ``pyweb_apps`` becomes the app and gunicorn roles' variables.

An entry sets a role variable under the variable's name without its role prefix: ``timeout``
sets ``gunicorn_timeout``, ``releases_keep`` sets ``app_releases_keep``, and a key both roles
share (``name``, ``mode``, ``user``, ``group``) sets both. This module is the one place that
knows the rule:

* ``entry_options`` builds the entry's argument spec from the two roles' specs
  (scripts/role_docs.py writes it into roles/apps/meta/argument_specs.yml);
* ``pyweb_app_problems`` checks every entry before anything changes, naming the entry and the
  key, suggesting the closest valid key for a misspelt one, and running Ansible's own argument
  spec validator on each entry;
* ``pyweb_app_role_vars`` turns each selected entry into the complete set of both roles'
  variables: the entry's value, else the host's (group_vars such as ``gunicorn_timeout: 60`` are
  every app's default), else the role's default.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.pyweb.stack.plugins.module_utils.app_lists import LIST_NAME, app_list_names
from ansible_collections.pyweb.stack.plugins.module_utils.plain import plain
from ansible_collections.pyweb.stack.plugins.module_utils.worker_profiles import PROFILE_CLASSES, server_packages
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

ROLES = ("app", "gunicorn")

# Role variables no entry sets. The host's layout is the same for every app on it (set these in
# group_vars); the others are derived from the entry and the run.
HOST_WIDE = ("app_base_dir", "app_config_dir", "gunicorn_config_dir", "gunicorn_reserved_memory_mb")
DERIVED = ("app_host_src_types", "app_rollback", "app_server_packages", "app_switch", "gunicorn_app_dir",
           "gunicorn_host_servers",
           "gunicorn_environment_files", "gunicorn_release_dir", "gunicorn_resume", "gunicorn_secret_values")

# Older spellings an entry key may still be written as (Ansible's role argument specs have no
# aliases, so the checks and the mapping here accept them).
ALIASES = {"app_module": ["module"]}

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def _key(var: str) -> str:
    return var.split("_", 1)[1]


def _entry_vars(role_options: Mapping[str, Mapping]) -> dict[str, list[str]]:
    """Entry key -> the role variables it sets, in role order."""
    keys: dict[str, list[str]] = {}
    for role in ROLES:
        for var in role_options[role]:
            if var in HOST_WIDE or var in DERIVED:
                continue
            keys.setdefault(_key(var), []).append(var)
    return keys


# The entry keys that declare the app's place in Nginx (plugins/filter/pyweb_proxy.py derives the
# upstream and locations from them); they set no role variable.
PROXY_KEYS = ("routes", "static", "site")


def _proxy_options(route_options: Mapping, static_options: Mapping) -> dict:
    """The entry's routes, static and site keys: a route takes the keys of a route of nginx_sites
    but its upstream (the app's own); a static folder is one of the release's folders."""
    route = {key: value for key, value in plain(route_options).items() if key != "upstream"}
    static = {key: value for key, value in plain(static_options).items() if key != "root"}
    static["dir"] = {"type": "str", "default": "static",
                     "description": "Folder of the release (relative to its top) whose files are served at path."}
    return {
        "routes": {"type": "list", "elements": "dict", "default": [], "options": route, "description": (
            "Path prefixes of the load balancers' sites proxied to this app; each takes the keys of a route "
            "of nginx_sites (the nginx role) but upstream, which is the app's own: its socket or TCP bind on "
            "a load balancer that runs it, else the TCP bind of every app host that runs it. Derived by "
            "the proxy play (playbooks/proxy.yml); a path another route or static location serves is refused.")},
        "static": {"type": "list", "elements": "dict", "default": [], "options": static, "description": (
            "Folders of the current release that Nginx serves from disk on a load balancer that runs the app "
            "(root is <app_base_dir>/<name>/current/<dir>/); the keys of a static location of nginx_sites, "
            "with dir instead of root.")},
        "site": {"type": "str", "default": "", "description": (
            "Name of the nginx_sites entry that gets the routes and static folders; empty means the only "
            "site of the load balancer.")},
    }


def entry_options(app_options: Mapping, gunicorn_options: Mapping, site_options: Mapping | None = None) -> dict:
    """The argument spec of one app entry, from the app and gunicorn roles' specs, and the routes
    and static keys from the nginx role's site spec (``site_options``: nginx_sites' options)."""
    role_options = {"app": plain(app_options), "gunicorn": plain(gunicorn_options)}
    options = {}
    if site_options:
        site_options = plain(site_options)
        options.update(_proxy_options(site_options["routes"]["options"], site_options["static"]["options"]))
    for key, variables in sorted(_entry_vars(role_options).items()):
        role_vars = [role_options[var.split("_", 1)[0]][var] for var in variables]
        first = role_vars[0]
        option = {"type": first.get("type", "str")}
        for field in ("elements", "choices", "no_log"):
            if field in first:
                option[field] = first[field]
        if key == "name":
            option["required"] = True
        elif "default" in first:
            option["default"] = first["default"]
        description = " ".join(str(first.get("description", "")).split())
        older = "".join(f" Also accepted as `{alias}`, its older name." for alias in ALIASES.get(key, []))
        option["description"] = f"{description} Sets {' and '.join(variables)}.{older}"
        options[key] = option
    return dict(sorted(options.items()))


def _canonical(key):
    """The entry key an older spelling stands for (module -> app_module)."""
    return next((name for name, aliases in ALIASES.items() if key in aliases), key)


def _kind(value) -> str:
    """A value's type as a user wrote it in YAML (Ansible hands over its own container types)."""
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def _known_keys(options: Mapping) -> list[str]:
    return sorted(set(options) | {alias for aliases in ALIASES.values() for alias in aliases})


def _refs(app_lists: Mapping) -> list[tuple[str, object]]:
    """(where the entry was written, entry) for every entry, pyweb_apps first."""
    out = []
    for list_name in sorted(app_lists):
        value = app_lists[list_name]
        if isinstance(value, list):
            out.extend((f"{list_name}[{index}]", entry) for index, entry in enumerate(value))
    return out


def pyweb_app_problems(app_lists: Mapping, options: Mapping, limit=None) -> list[str]:
    """Every problem with the app lists, one message each; empty when they are fine.

    ``app_lists`` maps each list's variable name (pyweb_apps, pyweb_apps__<suffix>) to its value;
    ``options`` is the entry spec; ``limit`` the names of pyweb_apps_limit.
    """
    problems = []
    options = plain(options)
    for list_name in sorted(app_lists):
        value = app_lists[list_name]
        if not LIST_NAME.match(list_name):
            raise AnsibleFilterError(f"pyweb_app_problems: {list_name} is not an app list name")
        if not isinstance(value, list):
            # Only the type: the lists hold secrets.
            problems.append(f"{list_name} must be a list of apps (entries with name, src, ...); got a {_kind(value)}.")
    known = _known_keys(options)
    names: dict[str, list[str]] = {}
    for ref, entry in _refs(app_lists):
        if not isinstance(entry, Mapping):
            problems.append(f"{ref} must be a mapping (name, src, ...); got a {_kind(entry)}.")
            continue
        name = entry.get("name")
        label = f"{ref} ({name})" if isinstance(name, str) and name else ref
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(
                f"{ref}.name must be lowercase letters, digits and dashes, starting with a letter (at most 31 "
                f"characters: it names a user, a unit and a socket); got {name!r}.")
        else:
            names.setdefault(name, []).append(ref)
        for key in entry:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else " The keys an entry takes are in roles/apps/README.md."
                problems.append(f"{label}: unknown key {key!r}.{hint}")
        # Ansible's list type would split a lone string at its commas.
        commands = entry.get("release_commands")
        if commands is not None and not isinstance(commands, (list, tuple)):
            problems.append(f"{label}.release_commands must be a list of commands (one string each); "
                            f"got a {_kind(commands)}.")
        # The keys of nginx_sites that an entry's own routes and static folders derive.
        for key, derived, why in (
                ("routes", "upstream", "go to the app itself, so they take no upstream; a route to another "
                                       "upstream belongs in nginx_sites"),
                ("static", "root", "are folders of its release (dir), so they take no root; a folder elsewhere "
                                   "belongs in nginx_sites")):
            items = entry.get(key) if isinstance(entry.get(key), list) else []
            for item in items:
                if isinstance(item, Mapping) and derived in item:
                    problems.append(f"{label}.{key}[{item.get('path', '?')}]: an entry's {key} {why}.")
        # Secret values never reach a message: their type is checked here, not by the validator.
        checked = {_canonical(key): plain(value) for key, value in entry.items() if key in known}
        for key, option in options.items():
            if option.get("no_log") and key in checked:
                if not isinstance(checked.pop(key), Mapping):
                    problems.append(f"{label}.{key} must be a mapping of variable names to values.")
        result = ArgumentSpecValidator(options).validate(checked)
        problems.extend(f"{label}: {message}" for message in result.error_messages
                        if "Unsupported parameters" not in message)
    for name, refs in sorted(names.items()):
        if len(refs) > 1:
            problems.append(f"{' and '.join(refs)} share the name {name}; app names must be unique "
                            "(they name users, units and sockets).")
    unknown = sorted(set(limit or []) - set(names))
    if unknown:
        problems.append(f"pyweb_apps_limit names {', '.join(unknown)}, which no app entry has "
                        f"(apps: {', '.join(sorted(names)) or 'none'}).")
    return problems


def _render(value, context, env):
    if isinstance(value, str) and "{{" in value:
        return env.from_string(value).render(context)
    if isinstance(value, list):
        return [_render(item, context, env) for item in value]
    return value


def pyweb_app_role_vars(entries, options, app_options, gunicorn_options, host_values=None,
                        mode="", rollback=False, limit=None) -> list[dict]:
    """For each entry (in pyweb_apps_limit when set): {name, app: {app_*}, gunicorn: {gunicorn_*}}.

    ``host_values`` holds the role variables the inventory sets for this host; ``mode`` is
    pyweb_mode (an entry's own mode wins); ``rollback`` is pyweb_rollback.
    """
    role_options = {"app": plain(app_options), "gunicorn": plain(gunicorn_options)}
    host_values = dict(host_values or {})
    env = SandboxedEnvironment(undefined=StrictUndefined)
    out = []
    for entry in entries:
        if limit and entry["name"] not in limit:
            continue
        canonical = {}
        for key, value in entry.items():
            if _canonical(key) not in options:
                raise AnsibleFilterError(f"pyweb_app_role_vars: {entry['name']}: unknown key {key!r}")
            canonical[_canonical(key)] = value
        if mode and "mode" not in canonical:
            canonical["mode"] = mode
        resolved, raw = {}, {}
        for role in ROLES:
            for var, option in role_options[role].items():
                if var in DERIVED:
                    continue
                key = _key(var)
                if var not in HOST_WIDE and key in canonical:
                    resolved[var] = canonical[key]
                elif var in host_values:
                    resolved[var] = host_values[var]
                else:
                    raw[var] = option.get("default")
        name = resolved["app_name"]
        base_dir = resolved.get("app_base_dir", raw.get("app_base_dir"))
        config_dir = resolved.get("app_config_dir", raw.get("app_config_dir"))
        resolved["app_rollback"] = bool(rollback)
        # The apps role builds and checks each release before it switches (roles/apps/tasks/deploy.yml):
        # it sets these two for those steps; as the roles' defaults they mean a plain deploy.
        resolved["app_switch"] = True
        # The host-wide step runs once for all apps (roles/apps/tasks/main.yml); per app, its own type.
        resolved["app_host_src_types"] = []
        resolved["gunicorn_host_servers"] = []
        resolved["gunicorn_release_dir"] = ""
        resolved["gunicorn_resume"] = False
        resolved["gunicorn_app_dir"] = f"{base_dir}/{name}"
        resolved["gunicorn_environment_files"] = [f"{config_dir}/{name}/environment", f"{config_dir}/{name}/secrets"]
        # Role defaults that refer to other variables ("{{ app_name }}", "{{ gunicorn_app_dir }}/shared")
        # are rendered against this app's values, in as many passes as they refer to each other.
        for _pass in range(len(raw) + 1):
            pending = {var: value for var, value in raw.items() if var not in resolved}
            if not pending:
                break
            for var, value in pending.items():
                try:
                    resolved[var] = _render(value, resolved, env)
                except Exception:  # refers to a variable not resolved yet: next pass
                    continue
        missing = sorted(set(raw) - set(resolved))
        if missing:
            raise AnsibleFilterError(f"pyweb_app_role_vars: cannot resolve the defaults of {', '.join(missing)}")
        # What the release commands' output masks in the play: the values of the app's secrets.
        secrets = resolved.get("app_secrets") or {}
        resolved["gunicorn_secret_values"] = list(secrets.values()) if isinstance(secrets, Mapping) else []
        resolved["app_server_packages"] = _server_packages(resolved)
        out.append({
            "name": name,
            **{role: {var: resolved[var] for var in role_options[role]} for role in ROLES},
        })
    return out


def _server_packages(resolved) -> list[str]:
    """What the gunicorn role installs for the app (its gunicorn_server_packages filter, from the
    same table): the app role builds the virtualenv with them and names it after them, so a
    changed server or pin builds a new virtualenv beside the live one. [] when the entry's values
    do not name a server the table knows (the role checks refuse those before any deploy)."""
    profile = resolved.get("gunicorn_profile")
    worker_class = resolved.get("gunicorn_worker_class") or PROFILE_CLASSES.get(profile, "")
    try:
        return server_packages(str(resolved.get("gunicorn_server", "gunicorn")), str(worker_class),
                               bool(resolved.get("gunicorn_metrics_listen")),
                               dict(resolved.get("gunicorn_package_versions") or {}),
                               list(resolved.get("gunicorn_extra_packages") or []))
    except (KeyError, TypeError, ValueError):
        return []


def pyweb_absent_app_references(selected, upstreams=None, sites=None) -> list[str]:
    """Nginx settings of the same host that still point at an app being removed (``state: absent``
    in its entry; ``selected`` is pyweb_app_role_vars' output): an upstream server on the app's unix
    socket, or a static location whose root is inside the app's directory. Each problem names the
    Nginx variable and the app."""
    problems = []
    for app in selected:
        if app["app"].get("app_state") != "absent":
            continue
        name, bind = app["name"], app["gunicorn"]["gunicorn_bind"]
        app_dir = f"{app['app']['app_base_dir'].rstrip('/')}/{name}/"
        for upstream in upstreams or []:
            for server in upstream.get("servers") or []:
                if bind.startswith("unix:") and server.get("address") == bind:
                    problems.append(f"nginx_upstreams[{upstream.get('name')}] sends requests to {bind}, the socket "
                                    f"of {name}, whose entry in pyweb_apps has state absent")
        for site in sites or []:
            for static in site.get("static") or []:
                root = str(static.get("root") or "").rstrip("/") + "/"
                if root.startswith(app_dir):
                    problems.append(f"nginx_sites[{site.get('name')}].static[{static.get('path')}] serves files "
                                    f"from {app_dir}, the directory of {name}, whose entry in pyweb_apps has state absent")
    return problems


def _host_port(address):
    """``127.0.0.1:9210`` -> ("127.0.0.1", "9210"); ``[::1]:9210`` -> ("::1", "9210")."""
    host, _colon, port = str(address).rpartition(":")
    return host.strip("[]"), port


def _overlap(first, second) -> bool:
    """Whether two TCP listen addresses cannot both be bound: the same port on the same address,
    or on a wildcard address (0.0.0.0, ::) that covers the other."""
    (host1, port1), (host2, port2) = _host_port(first), _host_port(second)
    if port1 != port2:
        return False
    return host1 == host2 or {host1, host2} & {"0.0.0.0", "::", ""} != set()


def _unix_path(bind) -> str:
    """``unix:/run/gunicorn/shop.sock`` -> "/run/gunicorn/shop.sock"; "" for a TCP address."""
    bind = str(bind)
    return posixpath.normpath(bind[len("unix:"):]) if bind.startswith("unix:") else ""


def pyweb_app_listen_conflicts(selected, nginx=None) -> list[str]:
    """Addresses that two listeners of one host would share: the apps' binds (gunicorn_bind: the
    same unix socket path, or TCP addresses on one port that cannot both be bound) against each
    other, an app's metrics address (gunicorn_metrics_listen) against every other app's metrics
    address and TCP bind, and both against the nginx role's metrics addresses when this host runs
    it with nginx_metrics_enabled (``nginx``: those variables by name). ``selected`` is
    pyweb_app_role_vars' output, with each bind resolved (the default one is named after the app);
    apps being removed free their addresses. Each problem names the apps and the variables.

    Two apps on one unix path would both look deployed: the second takes the path, the first is
    orphaned, and the second answers the first's health gate."""
    listeners, sockets = [], {}
    problems = []
    for app in selected:
        if app["app"].get("app_state") == "absent":
            continue
        gunicorn = app["gunicorn"]
        bind = gunicorn.get("gunicorn_bind", "")
        label = f"{app['name']}'s bind (gunicorn_bind)"
        if gunicorn.get("gunicorn_metrics_listen"):
            listeners.append((f"{app['name']}'s metrics_listen (gunicorn_metrics_listen)",
                              gunicorn["gunicorn_metrics_listen"], True))
        path = _unix_path(bind)
        if path:
            if path in sockets:
                first, first_bind = sockets[path]
                problems.append(f"pyweb_apps: {first} {first_bind} and {label} {bind} would listen on "
                                "the same unix socket; give each its own.")
            else:
                sockets[path] = (label, bind)
        elif bind:
            listeners.append((label, bind, True))
    nginx = nginx or {}
    if nginx.get("nginx_metrics_enabled"):
        for var in ("nginx_metrics_listen", "nginx_metrics_stub_status_listen"):
            if nginx.get(var):
                listeners.append((var, nginx[var], False))
    for index, (name, address, ours) in enumerate(listeners):
        for other_name, other_address, other_ours in listeners[index + 1:]:
            # The nginx role checks its own two addresses against each other.
            if (ours or other_ours) and _overlap(address, other_address):
                problems.append(f"pyweb_apps: {name} {address} and {other_name} {other_address} "
                                "would listen on the same port; give each its own.")
    return problems


# Where a distribution's packages put their units: an app whose name is one of theirs would
# overwrite or shadow it (nginx.service, ssh.socket).
PACKAGE_UNIT_DIRS = ("/lib/systemd/system", "/usr/lib/systemd/system")
LOCAL_UNIT_DIR = "/etc/systemd/system"


def pyweb_app_unit_paths(selected) -> list[str]:
    """Every path where a unit named like one of the apps could live (file_states reads them)."""
    return [f"{folder}/{app['name']}.{kind}" for app in selected
            for folder in (*PACKAGE_UNIT_DIRS, LOCAL_UNIT_DIR) for kind in ("service", "socket")]


def _account_table(value) -> dict:
    """/etc/passwd or /etc/group as getent's facts give them: name -> the other fields."""
    if isinstance(value, str):
        return {fields[0]: fields[1:] for fields in (line.split(":") for line in value.splitlines()) if fields[0]}
    return value or {}


def pyweb_app_host_conflicts(selected, passwd=None, groups=None, states=None, contents=None) -> list[str]:
    """Apps whose name, user or group would take over something of the host's that pyweb did not
    make: a unit a package installed (nginx.service), a unit of that name written by someone else,
    or an existing account or group (root, www-data, a deploy user) that the app role would give a
    locked password and no login shell, and that purge_data would delete.

    ``passwd`` and ``groups`` are the host's /etc/passwd and /etc/group as text, or as the getent
    module's facts (name -> fields); ``states`` and
    ``contents`` what file_states read of pyweb_app_unit_paths (read: the local .service and
    .socket files). pyweb made an account when its home is the app's directory under app_base_dir
    (user.yml), a group when such an account has it as its primary group, a unit when it names the
    app's directory (a service) or says it is the app's listening socket."""
    passwd, groups = _account_table(passwd), _account_table(groups)
    states, contents = states or {}, contents or {}
    problems = []
    for app in selected:
        name, role = app["name"], app["app"]
        base = str(role.get("app_base_dir", "/srv")).rstrip("/")
        app_dir = f"{base}/{name}"
        ours = {user for user, fields in passwd.items()
                if len(fields) > 4 and str(fields[4]).startswith(f"{base}/") and str(fields[1]) != "0"}
        our_gids = {str(passwd[user][2]) for user in ours}
        user = role.get("app_user", name)
        if user in passwd and user not in ours:
            fields = passwd[user]
            home = fields[4] if len(fields) > 4 else "?"
            problems.append(f"{name}: user (app_user) {user} is an existing account of this host (home {home}) "
                            "that pyweb did not create; the app role would lock it and take its login shell, "
                            "and purge_data would delete it. Choose a user of the app's own.")
        group = role.get("app_group", name)
        if group in groups and str(groups[group][1] if len(groups[group]) > 1 else "") not in our_gids:
            problems.append(f"{name}: group (app_group) {group} is an existing group of this host that pyweb did "
                            "not create; purge_data would delete it. Choose a group of the app's own.")
        for kind in ("service", "socket"):
            for folder in PACKAGE_UNIT_DIRS:
                path = f"{folder}/{name}.{kind}"
                if states.get(path, {}).get("exists"):
                    problems.append(f"{name}: a package's unit {path} has this name; the app's {name}.{kind} would "
                                    "override it. Rename the app (name).")
            local = f"{LOCAL_UNIT_DIR}/{name}.{kind}"
            text = contents.get(local)
            if text is not None:
                mine = (f"{app_dir}/" in text) if kind == "service" else (f"Listening socket of {name} " in text)
                if not mine:
                    problems.append(f"{name}: {local} exists and is not this app's (pyweb did not write it); "
                                    "the deploy would replace it. Rename the app (name) or remove that unit.")
    return problems


def pyweb_undeclared_apps(records, entries, absent=False) -> list:
    """The apps pyweb deployed on a host (the paths of their deploy records,
    <app_base_dir>/<name>/.pyweb-deployed.json) that no entry of any pyweb_apps list names, not
    even with state absent: they keep running, and nothing manages them any more. Their names, or
    with absent=True an entry with state absent for each, which removes it."""
    declared = {str(entry.get("name")) for entry in entries or [] if isinstance(entry, Mapping)}
    names = sorted({posixpath.basename(posixpath.dirname(path)) for path in records or []} - declared)
    return [{"name": name, "state": "absent"} for name in names] if absent else names


def pyweb_release_commands_host(play_hosts, name, hostvars) -> str:
    """The host that runs app ``name``'s release commands: the first of ``play_hosts``
    (ansible_play_hosts_all: the play's hosts under --limit, in inventory order) whose app lists
    (pyweb_apps, pyweb_apps__<suffix>) have an entry of that name that is not ``state: absent``.

    Serial batches take the play's hosts in the same order, so that host is in the first batch that
    deploys the app, and it runs the commands before it switches; the hosts of later batches are
    not it and deploy a release whose commands have run. ``run_once`` would run them once per
    batch instead. "" when no host has the app."""
    for host in play_hosts:
        host_vars = hostvars[host]
        for list_name in app_list_names(host_vars):
            entries = host_vars[list_name]
            if not isinstance(entries, list):
                continue
            for entry in entries:
                if isinstance(entry, Mapping) and entry.get("name") == name and entry.get("state", "present") != "absent":
                    return host
    return ""


class FilterModule:
    def filters(self):
        return {
            "pyweb_absent_app_references": pyweb_absent_app_references,
            "pyweb_app_problems": pyweb_app_problems,
            "pyweb_app_listen_conflicts": pyweb_app_listen_conflicts,
            "pyweb_app_host_conflicts": pyweb_app_host_conflicts,
            "pyweb_app_unit_paths": pyweb_app_unit_paths,
            "pyweb_app_role_vars": pyweb_app_role_vars,
            "pyweb_release_commands_host": pyweb_release_commands_host,
            "pyweb_undeclared_apps": pyweb_undeclared_apps,
        }
