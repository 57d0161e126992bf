"""Size a Gunicorn worker pool from the host's vCPUs and memory and the app's workload profile.

The formula (documented in roles/gunicorn/README.md and tested in tests/unit):

* cpu   -> ``sync`` workers, ``2 * vCPUs + 1`` of them, one thread each: the classic rule, one
           worker busy on the CPU while another waits on the socket.
* io    -> ``gthread`` (or ``gevent``) workers, ``vCPUs + 1`` of them; EACH holds ``concurrency``
           threads (gthread) or at least that many connections (gevent). A keep-alive connection
           stays with the worker that accepted it and workers accept unevenly, so a pool split as
           ``concurrency / workers`` queues requests in one worker while another idles (measured on
           2 vCPUs: the split pool served about 0.7x the req/s of whole-concurrency pools).
           gevent counts idle keep-alive connections against its pool and stops accepting when it
           is full, so its pool is never smaller than Gunicorn's default of 1000: a pool of 64
           filled with Nginx's kept-alive upstream connections while new ones waited unaccepted
           (measured: 512 clients through Nginx, half their requests unanswered after 2 s).
* async -> ``uvicorn_worker.UvicornWorker`` workers, one event loop per vCPU (at least 2, so
           one worker can recycle while another serves).

Every count is then capped by memory: ``(memory_mb - reserved_mb) // worker_memory_mb``
(at least 1). Explicit numbers (> 0) override the computed ones and are not capped: the operator
said what they want.
"""

from __future__ import annotations

from ansible_collections.pyweb.stack.plugins.module_utils.worker_profiles import (PROFILE_ALLOWED, PROFILE_CLASSES,
                                                                                  server_packages)

# Gunicorn's own default for worker_connections.
GUNICORN_WORKER_CONNECTIONS = 1000


def _positive_int(value, name):
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an integer, got {value!r}") from exc
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {number}")
    return number


def gunicorn_sizing(
    profile,
    vcpus,
    memory_mb,
    worker_class="",
    workers=0,
    threads=0,
    worker_connections=0,
    concurrency=64,
    worker_memory_mb=128,
    reserved_memory_mb=512,
):
    """Return ``{worker_class, workers, threads, worker_connections, memory_cap}``."""
    if profile not in PROFILE_CLASSES:
        raise ValueError(f"profile must be one of {sorted(PROFILE_CLASSES)}, got {profile!r}")
    worker_class = worker_class or PROFILE_CLASSES[profile]
    if worker_class not in PROFILE_ALLOWED[profile]:
        raise ValueError(
            f"worker class {worker_class!r} does not fit profile {profile!r}; "
            f"use one of {list(PROFILE_ALLOWED[profile])}"
        )
    vcpus = max(1, _positive_int(vcpus, "vcpus"))
    memory_mb = _positive_int(memory_mb, "memory_mb")
    workers = _positive_int(workers, "workers")
    threads = _positive_int(threads, "threads")
    worker_connections = _positive_int(worker_connections, "worker_connections")
    concurrency = max(1, _positive_int(concurrency, "concurrency"))
    worker_memory_mb = max(1, _positive_int(worker_memory_mb, "worker_memory_mb"))
    reserved_memory_mb = _positive_int(reserved_memory_mb, "reserved_memory_mb")

    memory_cap = max(1, (memory_mb - reserved_memory_mb) // worker_memory_mb)

    if profile == "cpu":
        computed = 2 * vcpus + 1
    elif profile == "io":
        computed = vcpus + 1
    else:
        computed = max(2, vcpus)

    final_workers = workers if workers > 0 else min(computed, memory_cap)
    # Every worker sized for the whole concurrency: see the module docstring.
    per_worker = max(2, concurrency)

    final_threads = 1
    if worker_class == "gthread":
        final_threads = threads if threads > 0 else (per_worker if profile == "io" else 1)
    elif threads > 0:
        raise ValueError(f"threads only apply to the gthread worker class, not {worker_class!r}")

    final_connections = GUNICORN_WORKER_CONNECTIONS  # only gevent and the async workers read it
    if worker_class == "gevent":
        computed_connections = max(per_worker, GUNICORN_WORKER_CONNECTIONS)
        final_connections = worker_connections if worker_connections > 0 else computed_connections
    elif worker_connections > 0:
        final_connections = worker_connections

    return {
        "worker_class": worker_class,
        "workers": final_workers,
        "threads": final_threads,
        "worker_connections": final_connections,
        "memory_cap": memory_cap,
    }


class FilterModule:
    """Jinja filters of the gunicorn role."""

    def filters(self):
        return {"gunicorn_sizing": _filter, "gunicorn_server_packages": gunicorn_server_packages}


def gunicorn_server_packages(server, worker_class, metrics=False, versions=None, extra=()):
    """The pip specs of the server and what its worker class needs (``worker_class`` as sized:
    never empty), pinned by ``versions`` (gunicorn_package_versions), then ``extra``
    (gunicorn_extra_packages): what the gunicorn role installs into an app's virtualenv, and what
    the apps role hands the app role (app_server_packages) so that the virtualenv is built with
    them and named after them."""
    if isinstance(metrics, str):
        metrics = metrics.strip().lower() in ("true", "yes", "1")
    return server_packages(str(server), str(worker_class), bool(metrics), dict(versions or {}), list(extra or []))


def _filter(profile, **kwargs):
    """``{{ 'io' | gunicorn_sizing(vcpus=2, memory_mb=2048) }}``."""
    try:
        return gunicorn_sizing(profile, **kwargs)
    except ValueError as exc:
        # AnsibleFilterError shows the message as the task's failure reason.
        from ansible.errors import AnsibleFilterError

        raise AnsibleFilterError(f"gunicorn_sizing: {exc}") from exc
