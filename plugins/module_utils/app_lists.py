"""Where a host's app entries live, shared by the plugins that read them from host variables.

An app entry is an item of ``pyweb_apps`` or of any ``pyweb_apps__<suffix>`` list (one per group
or tier, merged by the apps role). An entry without ``bind`` on a host without ``gunicorn_bind``
listens on the gunicorn role's default, its unix socket (roles/gunicorn/defaults/main.yml;
tests/unit/test_proxy_routes.py holds the two equal).
"""

from __future__ import annotations

import re

LIST_NAME = re.compile(r"^pyweb_apps(__.+)?$")
DEFAULT_BIND = "unix:/run/gunicorn/{name}.sock"


def app_list_names(host_vars) -> list[str]:
    """The app list names among a host's variables (pyweb_apps, pyweb_apps__<suffix>), sorted."""
    return sorted(str(key) for key in host_vars if LIST_NAME.match(str(key)))
