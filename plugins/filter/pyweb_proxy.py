"""The proxy an app entry declares: Nginx upstreams and locations derived from ``routes`` and ``static``.

An entry of ``pyweb_apps`` may carry its own routes (the keys a route of ``nginx_sites`` takes,
without ``upstream``) and static folders of its release. The proxy play (playbooks/proxy.yml, and
preflight's checks) turns them into what the nginx role takes, in two steps:

* ``pyweb_app_routes`` reads, from every ``app`` host's variables, each entry that declares routes
  or static folders: its name, where it listens on that host, its routes, static folders and site;
* ``pyweb_proxy_config`` merges them, for one load balancer, with the inventory's own
  ``nginx_upstreams`` and ``nginx_sites``: one upstream per app (named after the app, dashes as
  underscores) whose servers are the app's unix socket or TCP bind when the load balancer runs the
  app itself, else the TCP bind of every app host that runs it; its routes and static locations go
  into the entry's ``site`` (the only site when there is one). Everything that would make the
  result ambiguous is refused by name: two owners of one path, an upstream name the inventory
  already uses, a site that does not exist, a unix socket on another host.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.pyweb.stack.plugins.module_utils.app_lists import DEFAULT_BIND, app_list_names

WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
LOOPBACKS = ("127.", "::1", "localhost")


def _split(address: str) -> tuple[str, str]:
    """``10.0.1.11:8000`` -> ("10.0.1.11", "8000"); ``[::]:8000`` -> ("::", "8000")."""
    host, _colon, port = address.rpartition(":")
    return host.strip("[]"), port


def _join(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _host_bind(host_vars) -> str:
    """The host's gunicorn_bind when the inventory sets one that does not depend on the app (a
    value naming gunicorn_name is the role's per-app default: the app's socket)."""
    try:
        return str(host_vars.get("gunicorn_bind") or "")
    except Exception:  # pylint: disable=broad-exception-caught  # refers to the app's own variables
        return ""


def pyweb_app_routes(hostvars, app_hosts) -> list[dict]:
    """Every entry of the ``app_hosts``' lists that declares ``routes`` or ``static`` and is not
    ``state: absent``: {host, name, bind, address, routes, static, site}, in host and list order.

    ``bind`` is where the app listens (the entry's ``bind``, else the host's ``gunicorn_bind``,
    else its unix socket); ``address`` is how another host reaches a TCP bind (a wildcard bind
    takes the host's ``ansible_host``, else its inventory name)."""
    found, seen = [], set()
    for host in app_hosts:
        host_vars = hostvars[host]
        for list_name in app_list_names(host_vars):
            entries = host_vars[list_name]
            if not isinstance(entries, list):
                continue  # the apps role's checks name a list that is not one
            for entry in entries:
                if not isinstance(entry, Mapping) or entry.get("state", "present") == "absent":
                    continue
                if not (entry.get("routes") or entry.get("static")):
                    continue
                name = str(entry.get("name"))
                if (host, name) in seen:
                    continue  # two entries of one name: the apps role's checks refuse them by name
                seen.add((host, name))
                bind = str(entry.get("bind") or _host_bind(host_vars) or DEFAULT_BIND.format(name=name))
                address = ""
                if not bind.startswith("unix:"):
                    bind_host, port = _split(bind)
                    reach = bind_host if bind_host not in WILDCARDS else str(host_vars.get("ansible_host") or host)
                    address = _join(reach, port)
                found.append({
                    "host": host, "name": name, "bind": bind, "address": address,
                    "routes": [dict(route) for route in entry.get("routes") or []],
                    "static": [dict(static) for static in entry.get("static") or []],
                    "site": str(entry.get("site") or ""),
                })
    return found


def _local_address(bind: str) -> str:
    """How the load balancer reaches an app it runs itself: its socket, or its TCP bind with a
    wildcard address replaced by loopback."""
    if bind.startswith("unix:"):
        return bind
    host, port = _split(bind)
    return _join(WILDCARDS.get(host, host), port)


def _is_prefix(path: str) -> bool:
    return len(path) > 1 and path.startswith("/") and path.endswith("/") and "//" not in path or path == "/"


def _claim(site_owners: dict, site: str, name: str, kind: str, path: str, problems: list) -> bool:
    """Whether app ``name``'s location ``path`` (of its ``kind``: routes or static) is valid and
    the first of its site: it then owns the path."""
    owner = f"the {kind} of pyweb_apps entry {name}"
    if not _is_prefix(path):
        problems.append(f"pyweb_apps entry {name}: {kind}[{path}]: a path must start and end with /.")
        return False
    if path in site_owners:
        problems.append(f"{path} of site {site} has two owners: {site_owners[path]} and {owner}.")
        return False
    site_owners[path] = owner
    return True


def _location(kind: str, location: Mapping, upstream: str, release_root: str) -> dict:
    """The nginx_sites route or static location of an entry's route or static folder."""
    if kind == "routes":
        return {**location, "upstream": upstream}
    folder = str(location.get("dir") or "static").strip("/")
    return {**{key: value for key, value in location.items() if key != "dir"}, "root": f"{release_root}{folder}/"}


def upstream_name(app_name: str) -> str:
    """The upstream an app's routes proxy to: its name with dashes as underscores (sync-api -> sync_api)."""
    return app_name.replace("-", "_")


def _site_for(app: Mapping, sites: list, problems: list) -> str | None:
    names = [str(site.get("name")) for site in sites]
    wanted = app["site"]
    if wanted:
        if wanted in names:
            return wanted
        problems.append(f"pyweb_apps entry {app['name']} (on {app['host']}) puts its routes into site {wanted}, "
                        f"which nginx_sites does not define (sites: {', '.join(names) or 'none'}).")
        return None
    if len(names) == 1:
        return names[0]
    problems.append(
        f"pyweb_apps entry {app['name']} (on {app['host']}) has routes but no site, and this load balancer has "
        + (f"{len(names)} sites ({', '.join(names)}): say which with its site key." if names else
           "no nginx_sites entry to put them in: declare one (name, server_names, tls).")
    )
    return None


def pyweb_proxy_config(app_routes, lb_host, upstreams=None, sites=None, base_dir="/srv") -> dict:
    """What the nginx role gets on load balancer ``lb_host``: {upstreams, sites, problems}.

    ``app_routes`` is pyweb_app_routes' output; ``upstreams`` and ``sites`` the inventory's
    nginx_upstreams and nginx_sites (returned unchanged, with the derived ones added); ``base_dir``
    the load balancer's app_base_dir (static folders are served from ``<base_dir>/<name>/current/``)."""
    upstreams = [dict(upstream) for upstream in upstreams or [] if isinstance(upstream, Mapping)]
    sites = [dict(site) for site in sites or [] if isinstance(site, Mapping)]
    if not isinstance(app_routes, list):
        raise AnsibleFilterError("pyweb_proxy_config: app_routes must be pyweb_app_routes' list")
    problems: list[str] = []
    explicit_upstreams = {str(upstream.get("name")) for upstream in upstreams}
    # path -> who serves it, per site: the inventory's own routes and static locations first.
    owners: dict[str, dict[str, str]] = {}
    for site in sites:
        site_owners = owners.setdefault(str(site.get("name")), {})
        for kind in ("routes", "static"):
            for location in site.get(kind) or []:
                if isinstance(location, Mapping):
                    site_owners.setdefault(str(location.get("path")), f"nginx_sites[{site.get('name')}].{kind}")

    by_name: dict[str, list[dict]] = {}
    for app in app_routes:
        by_name.setdefault(app["name"], []).append(app)

    derived_upstreams = []
    additions: dict[str, dict[str, list]] = {}
    for name, hosts in by_name.items():
        first = hosts[0]
        for other in hosts[1:]:
            for key in ("routes", "static", "site"):
                if other[key] != first[key]:
                    problems.append(f"pyweb_apps entry {name}: its {key} differ between {first['host']} and "
                                    f"{other['host']}; one app is routed one way (give it the same {key} on every host).")
        local = [app for app in hosts if app["host"] == lb_host]
        upstream = upstream_name(name)
        if first["routes"]:
            if local:
                servers = [{"address": _local_address(local[0]["bind"])}]
            else:
                servers = []
                for app in hosts:
                    if app["bind"].startswith("unix:"):
                        problems.append(
                            f"pyweb_apps entry {name} on {app['host']} listens on {app['bind']}, a unix socket that "
                            f"the load balancer {lb_host} cannot reach: give it a TCP bind (bind: 0.0.0.0:8000).")
                    elif app["address"].startswith(LOOPBACKS) or app["address"].startswith("[::1]"):
                        problems.append(
                            f"pyweb_apps entry {name} on {app['host']} binds {app['bind']}, a loopback address that "
                            f"the load balancer {lb_host} cannot reach: bind it to the host's private address.")
                    else:
                        servers.append({"address": app["address"]})
            if upstream in explicit_upstreams:
                problems.append(f"nginx_upstreams[{upstream}] and the routes of pyweb_apps entry {name} both define "
                                f"upstream {upstream}: drop the nginx_upstreams item (the entry's routes derive it).")
            elif servers:
                derived_upstreams.append({"name": upstream, "servers": servers})
        if first["static"] and not local:
            problems.append(f"pyweb_apps entry {name} serves static folders from its release, which is not on "
                            f"the load balancer {lb_host} (the app runs on {', '.join(app['host'] for app in hosts)}): "
                            "publish them to the load balancer and declare them in nginx_sites instead.")
        site = _site_for(first, sites, problems)
        if site is None:
            continue
        site_owners = owners.setdefault(site, {})
        new = additions.setdefault(site, {"routes": [], "static": []})
        root = f"{str(base_dir).rstrip('/')}/{name}/current/"
        for kind in ("routes", "static"):
            for location in first[kind]:
                if _claim(site_owners, site, name, kind, str(location.get("path")), problems):
                    new[kind].append(_location(kind, location, upstream, root))

    for site in sites:
        added = additions.get(str(site.get("name")))
        if added:
            for kind in ("routes", "static"):
                if added[kind]:
                    site[kind] = list(site.get(kind) or []) + added[kind]
    return {"upstreams": upstreams + derived_upstreams, "sites": sites, "problems": problems}


class FilterModule:
    def filters(self):
        return {
            "pyweb_app_routes": pyweb_app_routes,
            "pyweb_proxy_config": pyweb_proxy_config,
        }
