"""The metrics hooks of roles/gunicorn/files/pyweb_metrics.py: every request of a WSGI or ASGI app is
counted by method and status class and timed, with bounded labels, and the master's view sums
what separate worker processes wrote (prometheus-client's multiprocess mode)."""

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from conftest import ROOT, load_plugin

MODULE = ROOT / "roles/gunicorn/files/pyweb_metrics.py"
metrics = load_plugin(MODULE)


class Clock:
    """A clock the test moves: each reading is 0.25 s after the previous one."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        self.now += 0.25
        return self.now


@pytest.fixture
def registry():
    return CollectorRegistry()


@pytest.fixture
def recorder(registry):
    counter = Counter("pyweb_http_requests", "", ["app", "method", "status"], registry=registry)
    histogram = Histogram("pyweb_http_request_duration_seconds", "", ["app", "status"],
                          buckets=metrics.BUCKETS, registry=registry)
    return metrics.Recorder("shop", counter, histogram)


def count(registry, method, status):
    return registry.get_sample_value("pyweb_http_requests_total",
                                     {"app": "shop", "method": method, "status": status}) or 0


def timed(registry, status):
    labels = {"app": "shop", "status": status}
    return (registry.get_sample_value("pyweb_http_request_duration_seconds_count", labels) or 0,
            registry.get_sample_value("pyweb_http_request_duration_seconds_sum", labels) or 0)


def wsgi_app(status="200 OK", body=(b"hello",), fail=False):
    closed = []

    class Body:
        def __iter__(self):
            return iter(body)

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        if fail:
            raise RuntimeError("boom")
        start_response(status, [("Content-Type", "text/plain")])
        return Body()

    app.closed = closed
    return app


def call_wsgi(app, method="GET"):
    started = []
    body = app({"REQUEST_METHOD": method, "PATH_INFO": "/x"}, lambda status, headers, exc=None: started.append(status))
    data = b"".join(body)
    body.close()
    return started, data


def test_wsgi_request_is_counted_and_timed_when_its_body_is_closed(registry, recorder):
    app = wsgi_app()
    wrapped = metrics.WSGIMetrics(app, recorder, clock=Clock())
    body = wrapped({"REQUEST_METHOD": "GET"}, lambda *args: None)
    assert count(registry, "GET", "2xx") == 0, "counted before the body was sent"
    assert b"".join(body) == b"hello"
    body.close()
    assert app.closed == [True], "the app's body was not closed"
    assert count(registry, "GET", "2xx") == 1
    assert timed(registry, "2xx") == (1, 0.25)
    body.close()
    assert count(registry, "GET", "2xx") == 1, "a second close counted the request twice"


@pytest.mark.parametrize("status, label", [("404 Not Found", "4xx"), ("503 Service Unavailable", "5xx"),
                                           ("302 Found", "3xx"), ("bogus", "other")])
def test_wsgi_status_classes(registry, recorder, status, label):
    started, _unused = call_wsgi(metrics.WSGIMetrics(wsgi_app(status), recorder))
    assert started == [status], "the app's status did not reach the server"
    assert count(registry, "GET", label) == 1


def test_wsgi_app_that_raises_counts_as_5xx(registry, recorder):
    wrapped = metrics.WSGIMetrics(wsgi_app(fail=True), recorder)
    with pytest.raises(RuntimeError):
        wrapped({"REQUEST_METHOD": "POST"}, lambda *args: None)
    assert count(registry, "POST", "5xx") == 1


def test_wsgi_file_wrapper_is_left_for_sendfile(registry, recorder):
    class FileWrapper:
        filelike = object()

    wrapper = FileWrapper()

    def app(environ, start_response):
        start_response("200 OK", [])
        return wrapper

    assert metrics.WSGIMetrics(app, recorder)({"REQUEST_METHOD": "GET"}, lambda *args: None) is wrapper
    assert count(registry, "GET", "2xx") == 1


@pytest.mark.parametrize("method, label", [("get", "GET"), ("DELETE", "DELETE"), ("PROPFIND", "other"),
                                           ("GET /../../x", "other"), ("", "other"), (b"HEAD", "HEAD")])
def test_methods_are_a_bounded_label(method, label):
    assert metrics.method_label(method) == label


def asgi_app(status=200, fail_before=False, fail_after=False):
    async def app(scope, receive, send):
        if fail_before:
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"hi"})
        if fail_after:
            raise RuntimeError("late")

    return app


def call_asgi(app, scope):
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    asyncio.run(app(scope, receive, send))
    return sent


def test_asgi_request_is_counted_and_timed(registry, recorder):
    sent = call_asgi(metrics.ASGIMetrics(asgi_app(404), recorder, clock=Clock()),
                     {"type": "http", "method": "GET", "path": "/missing"})
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert count(registry, "GET", "4xx") == 1
    assert timed(registry, "4xx") == (1, 0.25)


@pytest.mark.parametrize("kwargs, label", [({"fail_before": True}, "5xx"), ({"fail_after": True}, "2xx")])
def test_asgi_app_that_raises_is_still_counted(registry, recorder, kwargs, label):
    with pytest.raises(RuntimeError):
        call_asgi(metrics.ASGIMetrics(asgi_app(**kwargs), recorder), {"type": "http", "method": "PUT"})
    assert count(registry, "PUT", label) == 1


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
def test_asgi_other_scopes_pass_through_uncounted(registry, recorder, kind):
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    call_asgi(metrics.ASGIMetrics(app, recorder), {"type": kind})
    assert seen == [kind]
    assert registry.get_sample_value("pyweb_http_requests_total",
                                     {"app": "shop", "method": "other", "status": "5xx"}) is None


def test_asgi_wrapper_is_a_coroutine_function(recorder):
    # uvicorn tells ASGI 3 apps from ASGI 2 ones by this.
    assert asyncio.iscoroutinefunction(metrics.ASGIMetrics(asgi_app(), recorder).__call__)


@pytest.mark.parametrize("value, parsed", [("127.0.0.1:9210", ("127.0.0.1", 9210)), ("[::1]:9211", ("::1", 9211))])
def test_listen_addresses(value, parsed):
    assert metrics.parse_listen(value) == parsed


@pytest.mark.parametrize("value", ["", "9210", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000", "host:http"])
def test_bad_listen_addresses_are_refused(value):
    with pytest.raises(ValueError, match="PYWEB_METRICS_LISTEN"):
        metrics.parse_listen(value)


def test_worker_kinds():
    class UvicornWorker:
        pass

    UvicornWorker.__module__ = "uvicorn_worker._workers"

    class ThreadWorker:
        pass

    ThreadWorker.__module__ = "gunicorn.workers.gthread"
    assert metrics.is_asgi_worker(UvicornWorker())
    assert not metrics.is_asgi_worker(ThreadWorker())


def test_workers_in_separate_processes_add_up_in_the_masters_view(tmp_path):
    """Two worker processes (sync WSGI and ASGI wrappers alike) write their counts to the
    multiprocess directory; the master's collector sums them, and a worker's counts stay after it
    exited and was marked dead (a graceful reload replaces every worker)."""
    script = textwrap.dedent(f"""
        import asyncio, importlib.util, os, sys
        spec = importlib.util.spec_from_file_location("pyweb_metrics", {str(MODULE)!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        class Worker:
            pass
        worker = Worker()
        def app(environ, start_response):
            start_response("404 Not Found", [])
            return [b"x"]
        worker.wsgi = app
        m.Hooks("shop").post_worker_init(worker)
        for _ in range(int(sys.argv[1])):
            body = worker.wsgi({{"REQUEST_METHOD": "GET"}}, lambda *a: None)
            list(body); body.close()
        print(os.getpid())
    """)
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    pids = [subprocess.run([sys.executable, "-c", script, str(n)], env=env, check=True, capture_output=True,
                           text=True).stdout.strip() for n in (3, 4)]
    master = textwrap.dedent("""
        import sys
        from prometheus_client import CollectorRegistry, multiprocess
        for pid in sys.argv[1:]:
            multiprocess.mark_process_dead(int(pid))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        labels = {"app": "shop", "method": "GET", "status": "4xx"}
        print(registry.get_sample_value("pyweb_http_requests_total", labels),
              registry.get_sample_value("pyweb_http_request_duration_seconds_count", {"app": "shop", "status": "4xx"}),
              registry.get_sample_value("pyweb_http_request_duration_seconds_bucket",
                                        {"app": "shop", "status": "4xx", "le": "+Inf"}))
    """)
    out = subprocess.run([sys.executable, "-c", master, *pids], env=env, check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["7.0", "7.0", "7.0"]


def test_when_ready_refuses_a_missing_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "absent"))
    monkeypatch.setenv("PYWEB_METRICS_LISTEN", "127.0.0.1:9210")
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR"):
        metrics.Hooks("shop").when_ready(object())


def test_when_ready_serves_the_workers_sum_and_post_fork_closes_a_workers_copy(monkeypatch, tmp_path):
    """The master's hook serves what the value files hold; a worker's post_fork closes the listening
    socket it inherited (here a stand-in server, so the test's own server stays open)."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("PYWEB_METRICS_LISTEN", f"127.0.0.1:{port}")
    logged = []

    class Arbiter:
        class log:
            info = staticmethod(lambda *args: logged.append(args))

    arbiter = Arbiter()
    hooks = metrics.Hooks("shop")
    hooks.when_ready(arbiter)
    httpd, thread = arbiter.pyweb_metrics_server
    try:
        assert thread.daemon, "the metrics thread would keep a stopping master alive"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            assert page.status == 200
        assert logged

        class Copy:
            closed = False

            class socket:
                @staticmethod
                def close():
                    Copy.closed = True

        worker_side = Arbiter()
        worker_side.pyweb_metrics_server = (Copy(), thread)
        hooks.post_fork(worker_side, object())
        assert Copy.closed
    finally:
        httpd.shutdown()
        httpd.server_close()
