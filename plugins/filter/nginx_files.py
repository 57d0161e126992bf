# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""The Nginx role's configuration as pyweb.stack.sync_files items: every file it writes under
/etc/nginx and every link that enables a site, so one call asks the host what differs; and the
sandbox its configuration is tested in."""

from __future__ import annotations

TEMPLATES = "etc/nginx"


def nginx_config_files(sites, confd, default_site="", validate_main="nginx -t -q -c %s"):
    """nginx.conf (tested on its own before it replaces the live one), the conf.d files, the
    default server (when default_site names one), each site (its template renders with the site
    as nginx_item) and, last, the link in sites-enabled of each of those sites."""
    files = [{"dest": "/etc/nginx/nginx.conf", "template": f"{TEMPLATES}/nginx.conf.j2", "validate": validate_main}]
    files += [{"dest": f"/etc/nginx/conf.d/{name}", "template": f"{TEMPLATES}/conf.d/{name}.j2"} for name in confd]
    names = []
    if default_site:
        files.append({"dest": f"/etc/nginx/sites-available/{default_site}",
                      "template": f"{TEMPLATES}/sites-available/{default_site}.j2"})
        names.append(default_site)
    for site in sites or []:
        name = f"{site['name']}.conf"
        files.append({"dest": f"/etc/nginx/sites-available/{name}",
                      "template": f"{TEMPLATES}/sites-available/site.conf.j2", "template_vars": {"nginx_item": site}})
        names.append(name)
    files += [{"dest": f"/etc/nginx/sites-enabled/{name}", "link": f"/etc/nginx/sites-available/{name}"}
              for name in sorted(names)]
    return files


# Settings of the drop-in about the running daemon rather than its sandbox: a transient unit that
# only tests the configuration has no pid file to follow and no stop command, and with
# RuntimeDirectory= it would own /run/nginx, which holds the live master's pid file (and remove it
# when it ends). That folder is made writable instead, as RuntimeDirectory= makes it for the
# service: `nginx -t` opens the pid file for writing.
DAEMON_SETTINGS = ("PIDFile", "ExecStop", "RuntimeDirectory", "RuntimeDirectoryPreserve")


def nginx_sandbox_properties(dropin) -> list[str]:
    """The ``Name=value`` settings of the rendered drop-in (templates/etc/systemd/system/
    nginx.service.d/pyweb-hardening.conf.j2) that make Nginx's sandbox, in their order, for
    ``systemd-run --property``: `nginx -t` in a transient unit with them sees the files the way the
    sandboxed master will, so a path the sandbox hides or makes read-only fails the test rather
    than the next start or reload."""
    properties = []
    for line in str(dropin).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if name == "RuntimeDirectory":
            properties += [f"ReadWritePaths=-/run/{folder}" for folder in value.split()]
        elif sep and name not in DAEMON_SETTINGS:
            properties.append(f"{name}={value}")
    return properties


class FilterModule:
    def filters(self):
        return {"nginx_config_files": nginx_config_files, "nginx_sandbox_properties": nginx_sandbox_properties}
