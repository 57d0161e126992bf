"""Prometheus metrics of an app under Gunicorn, without changes to the app's code.

Loaded by gunicorn.conf.py (installed next to it) when gunicorn_metrics_listen is set. Each worker
wraps the app it loaded (``worker.wsgi``; UvicornWorker serves the same attribute) in a small WSGI
or ASGI middleware that counts every request and times it:

* ``pyweb_http_requests_total{app, method, status}``: requests by method (the common ones, else
  ``other``) and status class (``2xx``, ``4xx``, ...);
* ``pyweb_http_request_duration_seconds{app, status}``: a histogram of the time from the request
  reaching the app to its last response byte handed to Gunicorn (or uvicorn).

Labels are bounded on purpose: no paths (an app's 404s would make one series per probed URL), no
exact status codes. Workers are separate processes, so prometheus-client runs in its multiprocess
mode: each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (the unit's runtime
directory, empty at every start, kept across a graceful reload so counters survive new workers),
and the master serves their sum.

Why the master serves them, from a thread started in ``when_ready``: it is the one process that
lives as long as the service (a reload replaces the workers, never the master), it needs no unit,
user or port handling of its own, and it already runs with the app's user and sandbox. Gunicorn
forks workers from the master after that thread started; fork copies only the calling thread, so
the workers never serve metrics, and the thread itself only reads the value files and writes to
its own socket, so it holds none of the locks a worker needs (CPython re-initialises its own after
a fork). ``post_fork`` closes the worker's copy of the listening socket. The address is read from
PYWEB_METRICS_LISTEN, which the unit sets: the master binds it once at start, so a new address
must restart the service, which a changed unit does.

Only the standard library at import: gunicorn --check-config loads this file with the config;
prometheus-client (installed into the app's virtualenv by the gunicorn role) is imported by the
hooks.
"""

from __future__ import annotations

import os
import time

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; prometheus-client's defaults, which cover a fast API call to a slow report.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
LISTEN_ENV = "PYWEB_METRICS_LISTEN"
DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def method_label(method) -> str:
    """The request method as a label: one of METHODS, else "other" (methods are client input)."""
    if isinstance(method, bytes):
        method = method.decode("latin-1")
    method = str(method or "").upper()
    return method if method in METHODS else "other"


def status_class(status) -> str:
    """``404`` or ``"404 Not Found"`` -> ``"4xx"``; anything that is no HTTP status -> ``"other"``."""
    try:
        code = int(str(status).split(None, 1)[0])
    except (ValueError, IndexError):
        return "other"
    return f"{code // 100}xx" if 100 <= code <= 599 else "other"


def parse_listen(value: str) -> tuple[str, int]:
    """``127.0.0.1:9210`` -> ("127.0.0.1", 9210); ``[::1]:9210`` -> ("::1", 9210)."""
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{LISTEN_ENV}: not address:port or [ipv6]:port: {value!r}")
    return host.strip("[]"), int(port)


class Recorder:
    """Counts and times requests of one app into a counter and a histogram."""

    def __init__(self, app_name, counter, histogram):
        self.app_name = app_name
        self.counter = counter
        self.histogram = histogram

    @classmethod
    def for_prometheus(cls, app_name):
        """A recorder on prometheus-client metrics (multiprocess mode when PROMETHEUS_MULTIPROC_DIR
        is set). They stay out of prometheus-client's default registry, where the app may register
        its own metrics: the master's collector reads every worker's files, whatever registry."""
        from prometheus_client import Counter, Histogram

        counter = Counter("pyweb_http_requests", "HTTP requests the app answered, by method and status class.",
                          ["app", "method", "status"], registry=None)
        histogram = Histogram("pyweb_http_request_duration_seconds",
                              "Time from the request reaching the app to its last response byte, by status class.",
                              ["app", "status"], buckets=BUCKETS, registry=None)
        return cls(app_name, counter, histogram)

    def observe(self, method, status, seconds):
        status = status_class(status)
        self.counter.labels(self.app_name, method_label(method), status).inc()
        self.histogram.labels(self.app_name, status).observe(max(seconds, 0.0))


class _ClosingBody:
    """A WSGI response body that records its request when the server closes it (after the last
    byte, or when the client went away), and closes the app's body as PEP 3333 asks."""

    def __init__(self, body, done):
        self._body = body
        self._done = done

    def __iter__(self):
        return iter(self._body)

    def close(self):
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


class WSGIMetrics:
    """Counts and times each request of a WSGI app."""

    def __init__(self, app, recorder, clock=time.perf_counter):
        self.app = app
        self.recorder = recorder
        self.clock = clock

    def __call__(self, environ, start_response):
        started = self.clock()
        method = environ.get("REQUEST_METHOD", "")
        # An app that fails before start_response makes the server answer 500.
        seen = {"status": 500}

        def record_status(status, headers, exc_info=None):
            seen["status"] = status
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        def done():
            self.recorder.observe(method, seen["status"], self.clock() - started)

        try:
            body = self.app(environ, record_status)
        except BaseException:
            done()
            raise
        # A file wrapper is left as it is, so that Gunicorn can still sendfile() it; its request is
        # timed up to the moment the app handed it over.
        if hasattr(body, "filelike"):
            done()
            return body
        return _ClosingBody(body, done)


class ASGIMetrics:
    """Counts and times each HTTP request of an ASGI app (WebSocket and lifespan pass through)."""

    def __init__(self, app, recorder, clock=time.perf_counter):
        self.app = app
        self.recorder = recorder
        self.clock = clock

    # A coroutine function, so that uvicorn recognises an ASGI 3 app.
    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        # The server answers 500 for an app that fails before it starts its response.
        seen = {"status": 500}

        async def record_status(message):
            if message.get("type") == "http.response.start":
                seen["status"] = message.get("status", 500)
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.recorder.observe(scope.get("method", ""), seen["status"], self.clock() - started)


def is_asgi_worker(worker) -> bool:
    """Whether a Gunicorn worker serves an ASGI app (uvicorn's workers) rather than a WSGI one."""
    return "uvicorn" in type(worker).__module__ or "asgi" in type(worker).__name__.lower()


class Hooks:
    """The Gunicorn server hooks of one app (gunicorn.conf.py assigns them)."""

    def __init__(self, app_name):
        self.app_name = app_name

    def when_ready(self, server):
        """In the master, once, before the first worker: serve the workers' summed metrics."""
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.multiprocess import MultiProcessCollector

        directory = os.environ.get(DIR_ENV, "")
        if not directory or not os.path.isdir(directory):
            raise RuntimeError(f"{DIR_ENV} must name an existing directory (the unit's RuntimeDirectory); "
                               f"got {directory!r}")
        host, port = parse_listen(os.environ.get(LISTEN_ENV, ""))
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        # Kept on the arbiter, which a graceful reload keeps (the config, and this object, are
        # loaded again), so that post_fork finds it in workers forked after a reload too.
        server.pyweb_metrics_server = start_http_server(port, addr=host, registry=registry)
        server.log.info("Serving metrics on %s", os.environ[LISTEN_ENV])

    def post_fork(self, server, worker):
        """In each new worker: close its copy of the master's metrics socket (it never serves)."""
        started = getattr(server, "pyweb_metrics_server", None)
        httpd = started[0] if isinstance(started, tuple) else None
        if httpd is not None:
            httpd.socket.close()

    def post_worker_init(self, worker):
        """In each worker, once its app is loaded: wrap it in the middleware of its kind."""
        recorder = Recorder.for_prometheus(self.app_name)
        wrapper = ASGIMetrics if is_asgi_worker(worker) else WSGIMetrics
        worker.wsgi = wrapper(worker.wsgi, recorder)

    def child_exit(self, server, worker):
        """In the master, when a worker exited: drop its live gauges (counters and histograms stay,
        so that requests a replaced worker served still count)."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
