"""The workload profiles (``gunicorn_profile``), the worker classes each accepts, and the pip
packages each server and worker class runs with.

One table, read by the sizing filter (plugins/filter/gunicorn_sizing.py), by the checks of
the gunicorn role's variables (plugins/filter/role_checks.py) and by the server packages filter
(gunicorn_server_packages, which the gunicorn role installs and the apps role hands the app role
so the virtualenv is built with them).
"""

from __future__ import annotations

# Worker classes each profile accepts; the first is the profile's default.
PROFILE_ALLOWED = {
    "cpu": ("sync", "gthread"),
    "io": ("gthread", "gevent"),
    "async": ("uvicorn_worker.UvicornWorker",),
}

PROFILE_CLASSES = {profile: classes[0] for profile, classes in PROFILE_ALLOWED.items()}

# What each worker class needs in the virtualenv besides Gunicorn; setproctitle names the
# processes ("gunicorn: worker [sync-api gthread]"). UvicornWorker takes uvloop and httptools when
# they are installed (uvicorn's "standard" extras); without them it falls back to asyncio and the
# pure-Python h11 parser, at about half the requests per second.
# websockets: without a WebSocket library uvicorn answers every upgrade with 404 ("No supported
# WebSocket library detected"). uvicorn itself is listed so that gunicorn_package_versions pins
# it, not only uvicorn-worker.
CLASS_PACKAGES = {
    "sync": (),
    "gthread": (),
    "gevent": ("gevent", "packaging"),
    "uvicorn_worker.UvicornWorker": ("uvicorn-worker", "uvicorn", "uvloop", "httptools", "websockets"),
}

# Granian by interface (the async profile speaks ASGI, the others WSGI): setproctitle names the
# processes (--process-name); uvloop is the ASGI event loop, as under uvicorn.
GRANIAN_PACKAGES = {
    "wsgi": ("granian", "setproctitle"),
    "asgi": ("granian", "setproctitle", "uvloop"),
}


def granian_interface(worker_class: str) -> str:
    """The interface Granian serves an app of this worker class with."""
    return "asgi" if "uvicorn" in worker_class else "wsgi"


def server_packages(server: str, worker_class: str, metrics: bool = False, versions=None, extra=()) -> list[str]:
    """What pip installs for the server, as pip reads it: name==version where ``versions`` pins
    one, the bare name where it does not, then ``extra`` as given."""
    versions = versions or {}
    if server == "granian":
        names = list(GRANIAN_PACKAGES[granian_interface(worker_class)])
    else:
        names = ["gunicorn", "setproctitle", *CLASS_PACKAGES[worker_class]] + (["prometheus-client"] if metrics else [])
    return [f"{name}=={versions[name]}" if versions.get(name) else name for name in names] + [str(e) for e in extra]
