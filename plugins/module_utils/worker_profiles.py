"""The workload profiles (``gunicorn_profile``) and the worker classes each accepts.

One table, read by the sizing filter (plugins/filter/gunicorn_sizing.py) and by the checks of
the gunicorn role's variables (plugins/filter/role_checks.py).
"""

from __future__ import annotations

# Worker classes each profile accepts; the first is the profile's default.
PROFILE_ALLOWED = {
    "cpu": ("sync", "gthread"),
    "io": ("gthread", "gevent"),
    "async": ("uvicorn_worker.UvicornWorker",),
}

PROFILE_CLASSES = {profile: classes[0] for profile, classes in PROFILE_ALLOWED.items()}
