"""What each of pyweb's request layers costs: microseconds of CPU per request, in one process.

    python bench/layers.py     on the benchmark host (bench/run.py --keep leaves it running)

The layers are the code pyweb puts between the server and the app: under Granian the loader's
WSGIFromProxy and ASGIFromProxy (roles/gunicorn/files/pyweb_granian.py: forwarded client and
scheme, the route prefix, secrets out of the environ), under Gunicorn the prefix hooks
(pyweb_gunicorn.py). Each is timed around the example Flask app and around an empty app, with the
headers Nginx sends and without, on a TCP bind (peers checked against forwarded_allow_ips) and on
a unix socket (every peer trusted). A layer's cost is its time minus the app's alone.

The timing runs inside the benchmark host, in the sync-api release's virtualenv (Flask and Granian
as deployed); this file copies itself, the role's files and nothing else there. Writes
bench/results/layers.md.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "pyweb-bench"
INSIDE = "/opt/pyweb-bench/layers"
PYTHON = "/srv/sync-api/current/venv/bin/python"
RELEASE = "/srv/sync-api/current"
# What pyweb's Nginx sends with each proxied request (roles/nginx, site.conf.j2).
WSGI_HEADERS = {"HTTP_HOST": "localhost", "HTTP_X_REAL_IP": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9",
                "HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "localhost",
                "HTTP_X_FORWARDED_PREFIX": "/sync-api", "HTTP_X_REQUEST_ID": "0123456789abcdef"}
ASGI_HEADERS = [(name[5:].lower().replace("_", "-").encode(), value.encode()) for name, value in WSGI_HEADERS.items()]
BINDS = {"TCP (forwarded_allow_ips 127.0.0.1)": ["127.0.0.1"], "unix socket (every peer)": ["*"]}
CALLS = 20000


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _environ(headers: dict) -> dict:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/hello", "QUERY_STRING": "", "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
               "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
               "REMOTE_ADDR": "127.0.0.1", "SCRIPT_NAME": ""}
    environ.update(headers)
    return environ


def _time(call) -> float:
    """Microseconds per call, the best of seven rounds (the least disturbed by the machine)."""
    return min(timeit.repeat(call, number=CALLS, repeat=7)) / CALLS * 1e6


def _wsgi_call(app, headers):
    def start_response(status, response_headers, exc_info=None):
        return None

    def call():
        body = app(_environ(headers), start_response)
        for _chunk in body:
            pass
        if hasattr(body, "close"):
            body.close()
    return call


def _asgi_call(app, headers):
    def call():
        coroutine = app({"type": "http", "path": "/hello", "raw_path": b"/hello", "client": ("127.0.0.1", 5000),
                         "scheme": "http", "headers": headers}, None, None)
        try:
            coroutine.send(None)
        except StopIteration:
            pass
    return call


def measure(files: Path) -> list[tuple]:
    """(layer, app, bind, headers, µs per request, µs over the app alone) for every combination."""
    sys.path.insert(0, RELEASE)
    hooks = _load("pyweb_gunicorn", files / "pyweb_gunicorn.py")
    loader = _load("pyweb_granian", files / "pyweb_granian.py")
    flask_app = _load("sync_api_app", Path(RELEASE) / "app.py").app

    async def empty_asgi(scope, receive, send):
        return None

    def empty_wsgi(environ, start_response):
        return [b""]

    out = []
    cases = [("Flask hello", flask_app, "wsgi"), ("empty WSGI app", empty_wsgi, "wsgi"),
             ("empty ASGI app", empty_asgi, "asgi")]
    for app_name, app, kind in cases:
        calls = _wsgi_call if kind == "wsgi" else _asgi_call
        plain = {"none": {} if kind == "wsgi" else [], "Nginx's": WSGI_HEADERS if kind == "wsgi" else ASGI_HEADERS}
        alone = {name: _time(calls(app, headers)) for name, headers in plain.items()}
        for bind, allowed in BINDS.items():
            layers = {"Granian loader (one layer)": (loader.WSGIFromProxy(app, allowed, True, ["SECRET_KEY"])
                                                     if kind == "wsgi" else loader.ASGIFromProxy(app, allowed, True)),
                      "Gunicorn prefix hook": (hooks.WSGIPrefix(app, allowed) if kind == "wsgi"
                                               else hooks.ASGIPrefix(app, allowed))}
            for layer, wrapped in layers.items():
                for name, headers in plain.items():
                    spent = _time(calls(wrapped, headers))
                    out.append((layer, app_name, bind, name, spent, spent - alone[name]))
        for name in plain:
            out.append(("(none)", app_name, "", name, alone[name], 0.0))
    return out


def markdown(results: list[tuple]) -> str:
    lines = ["CPU per request of pyweb's layers (µs, one process, best of 7 rounds of "
             f"{CALLS:,} calls; bench/layers.py):", "",
             "| layer | app | bind | proxy headers | µs per request | µs over the app alone |",
             "|---|---|---|---|---:|---:|"]
    lines += [f"| {layer} | {app} | {bind} | {headers} | {spent:.2f} | {over:+.2f} |"
              for layer, app, bind, headers, spent, over in results]
    return "\n".join(lines) + "\n"


def main() -> int:
    if "--inside" in sys.argv:
        print(markdown(measure(Path(INSIDE))))
        return 0
    subprocess.run(["docker", "exec", HOST, "mkdir", "-p", INSIDE], check=True)
    for path in (Path(__file__), ROOT / "roles/gunicorn/files/pyweb_gunicorn.py",
                 ROOT / "roles/gunicorn/files/pyweb_granian.py"):
        subprocess.run(["docker", "cp", str(path), f"{HOST}:{INSIDE}/{path.name}"], check=True)
    done = subprocess.run(["docker", "exec", HOST, PYTHON, f"{INSIDE}/layers.py", "--inside"],
                          check=True, capture_output=True, text=True)
    (HERE / "results" / "layers.md").write_text(done.stdout)
    print(done.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
