"""The worker hooks every gunicorn.conf.py loads (roles/gunicorn/files/pyweb_gunicorn.py): the
route prefix the proxy stripped reaches WSGI apps as SCRIPT_NAME and ASGI apps as root_path, from
trusted peers only; Uvicorn workers get the listening sockets themselves."""

import asyncio
import importlib.util

import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("pyweb_gunicorn", ROOT / "roles/gunicorn/files/pyweb_gunicorn.py")
hooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hooks)


def wsgi(environ, allowed=("127.0.0.1",)):
    seen = {}

    def app(env, start_response):
        seen.update(env)
        return []

    hooks.WSGIPrefix(app, list(allowed))(dict(environ), None)
    return seen


def asgi(scope, allowed=("127.0.0.1",)):
    seen = {}

    async def app(sc, receive, send):
        seen.update(sc)

    asyncio.run(hooks.ASGIPrefix(app, list(allowed))(dict(scope), None, None))
    return seen


def test_wsgi_from_a_unix_socket_gets_the_prefix_as_script_name():
    env = wsgi({"HTTP_X_FORWARDED_PREFIX": "/sync-api", "REMOTE_ADDR": "", "PATH_INFO": "/hello", "SCRIPT_NAME": ""})
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/sync-api", "/hello")


def test_wsgi_route_named_like_the_prefix_keeps_its_path():
    # /notes/notes through Nginx: the app's own /notes route under the /notes prefix.
    env = wsgi({"HTTP_X_FORWARDED_PREFIX": "/notes/", "REMOTE_ADDR": "127.0.0.1", "PATH_INFO": "/notes"})
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/notes", "/notes")


def test_asgi_route_named_like_the_prefix_keeps_its_path():
    scope = asgi({"type": "http", "path": "/notes", "client": None, "headers": [(b"x-forwarded-prefix", b"/notes")]})
    assert (scope["root_path"], scope["path"]) == ("/notes", "/notes/notes")


@pytest.mark.parametrize("peer, allowed", [("10.0.0.9", ["127.0.0.1"]), ("10.0.0.9", []), ("bogus", ["10.0.0.0/8"])])
def test_wsgi_ignores_untrusted_peers(peer, allowed):
    env = wsgi({"HTTP_X_FORWARDED_PREFIX": "/x", "REMOTE_ADDR": peer, "PATH_INFO": "/a", "SCRIPT_NAME": ""}, allowed)
    assert env["SCRIPT_NAME"] == ""


@pytest.mark.parametrize("allowed", [["10.0.0.0/8"], ["*"], ["10.0.0.9"]])
def test_wsgi_trusts_forwarded_allow_ips(allowed):
    env = wsgi({"HTTP_X_FORWARDED_PREFIX": "/x", "REMOTE_ADDR": "10.0.0.9", "PATH_INFO": "/a"}, allowed)
    assert env["SCRIPT_NAME"] == "/x"


@pytest.mark.parametrize("header", ["https://evil.example/x", "/a/../b", "/a b", "x", "/"])
def test_malformed_prefixes_are_ignored(header):
    assert hooks.clean_prefix(header) == ""


def test_asgi_gets_root_path_and_a_path_that_starts_with_it():
    scope = asgi({"type": "http", "path": "/docs", "raw_path": b"/docs", "client": None,
                  "headers": [(b"x-forwarded-prefix", b"/async-api")]})
    assert scope["root_path"] == "/async-api"
    assert scope["path"] == "/async-api/docs"
    assert scope["raw_path"] == b"/async-api/docs"


def test_asgi_websocket_scopes_get_it_too_and_lifespan_passes_untouched():
    scope = asgi({"type": "websocket", "path": "/ws", "client": ("127.0.0.1", 5000),
                  "headers": [(b"x-forwarded-prefix", b"/chat")]})
    assert scope["root_path"] == "/chat"
    assert asgi({"type": "lifespan"}) == {"type": "lifespan"}


def test_asgi_ignores_untrusted_peers():
    scope = asgi({"type": "http", "path": "/docs", "client": ("10.1.1.1", 5000),
                  "headers": [(b"x-forwarded-prefix", b"/async-api")]})
    assert "root_path" not in scope
    assert scope["path"] == "/docs"


def test_the_asgi_wrapper_is_a_coroutine_function():
    # uvicorn tells ASGI 3 from ASGI 2 apps by this.
    assert asyncio.iscoroutinefunction(hooks.ASGIPrefix(None, []).__call__)


def test_uvicorn_workers_get_the_sockets_themselves_not_gunicorns_wrappers():
    """gunicorn.sock.BaseSocket keeps the socket in .sock; anything else is passed on as it is."""
    import socket
    from types import SimpleNamespace

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as inner, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as plain:
        worker = SimpleNamespace(sockets=[SimpleNamespace(sock=inner), plain])
        hooks.hand_sockets_to_the_loop(worker)
        assert worker.sockets == [inner, plain]
