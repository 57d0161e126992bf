# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""The Nginx role's configuration as pyweb.stack.sync_files items: every file it writes under
/etc/nginx and every link that enables a site, so one call asks the host what differs."""

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


class FilterModule:
    def filters(self):
        return {"nginx_config_files": nginx_config_files}
