"""roles/gunicorn/files/pyweb_granian.py, the loader every Granian worker runs: how it reads an app
target the way Gunicorn's wsgi_app does, and imports the app of the release its config names."""

import asyncio
import sys

import pytest

from conftest import ROOT, load_plugin

loader = load_plugin(ROOT / "roles/gunicorn/files/pyweb_granian.py")


@pytest.mark.parametrize(("target", "parsed"), [
    ("app:app", ("app", ["app"], None)),
    ("app", ("app", ["application"], None)),
    ("chat.main:app", ("chat.main", ["app"], None)),
    ("notes:create_app()", ("notes", ["create_app"], ((), {}))),
    ("pkg.wsgi:make('prod', debug=False)", ("pkg.wsgi", ["make"], (("prod",), {"debug": False}))),
    ("site:apps.api", ("site", ["apps", "api"], None)),
])
def test_targets_are_read_like_gunicorns(target, parsed):
    assert loader.parse_target(target) == parsed


@pytest.mark.parametrize("target", [
    ":app", "app-name:app", "app:create(os.environ['X'])", "app:1 + 2", "app:app(**kw)", "app:[app]",
])
def test_other_targets_are_refused_naming_the_target(target):
    with pytest.raises(loader.TargetError, match="is not|must be literals"):
        loader.parse_target(target)


@pytest.fixture
def release(tmp_path, monkeypatch):
    """A release directory with a module holding an app and a factory, importable once."""
    (tmp_path / "granian_demo_app.py").write_text(
        "def app(environ, start_response):\n    return []\n"
        "def create(name='x'):\n    def named(environ, start_response):\n        return [name.encode()]\n"
        "    return named\n"
        "settings = {'debug': True}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("granian_demo_app", None)


def test_a_variable_and_a_factory_call_are_imported(release):
    assert loader.import_app("granian_demo_app:app").__name__ == "app"
    assert loader.import_app("granian_demo_app:create('shop')")(None, None) == [b"shop"]


def test_a_missing_name_or_a_value_that_is_no_app_is_refused(release):
    with pytest.raises(loader.TargetError, match="has no nothing_here"):
        loader.import_app("granian_demo_app:nothing_here")
    with pytest.raises(loader.TargetError, match="is not callable"):
        loader.import_app("granian_demo_app:settings")


def test_the_config_is_read_from_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "shop.granian.toml"
    config.write_text('# a comment\nrelease = "/srv/shop/releases/abc"\napp_module = "app:app"\n'
                      'interface = "wsgi"\nproxy_prefix = true\nforwarded_allow_ips = ["*"]\n')
    monkeypatch.setenv("PYWEB_GRANIAN_CONFIG", str(config))
    assert loader.read_config()["release"] == "/srv/shop/releases/abc"


def test_the_secrets_names_come_from_pyweb_secret_names():
    assert loader.secret_names({"PYWEB_SECRET_NAMES": "DATABASE_URL SECRET_KEY"}) == (
        "DATABASE_URL", "SECRET_KEY", "PYWEB_SECRET_NAMES")
    # An app without secrets: nothing to take out.
    assert loader.secret_names({"PYWEB_SECRET_NAMES": ""}) == ()
    assert loader.secret_names({}) == ()


def wsgi(environ, allowed=("127.0.0.1",), prefix=True, secrets=()):
    """What the app behind the loader's WSGI layer sees."""
    seen = {}

    def app(env, start_response):
        seen.update(env)
        return [b"ok"]

    assert loader.WSGIFromProxy(app, list(allowed), prefix, secrets)(dict(environ), None) == [b"ok"]
    return seen


def asgi(scope, allowed=("127.0.0.1",), prefix=True):
    seen = {}

    async def app(sc, receive, send):
        seen.update(sc)

    asyncio.run(loader.ASGIFromProxy(app, list(allowed), prefix)(dict(scope), None, None))
    return seen


PROXIED = {"REMOTE_ADDR": "127.0.0.1", "PATH_INFO": "/hello", "SCRIPT_NAME": "", "wsgi.url_scheme": "http",
           "HTTP_X_FORWARDED_FOR": "203.0.113.9", "HTTP_X_FORWARDED_PROTO": "https",
           "HTTP_X_FORWARDED_PREFIX": "/sync-api"}


def test_the_secrets_are_taken_out_of_each_wsgi_environ():
    """Granian copies the process environment into the environ; the app sees the rest of it."""
    environ = {"SECRET_KEY": "hunter2", "PYWEB_SECRET_NAMES": "SECRET_KEY", "APP_NAME": "shop",
               "PATH_INFO": "/", "REMOTE_ADDR": "127.0.0.1"}
    seen = wsgi(environ, secrets=loader.secret_names({"PYWEB_SECRET_NAMES": "SECRET_KEY"}))
    assert seen == {"APP_NAME": "shop", "PATH_INFO": "/", "REMOTE_ADDR": "127.0.0.1"}


def test_a_trusted_proxy_sets_the_client_the_scheme_and_the_prefix():
    seen = wsgi(PROXIED)
    assert (seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]) == ("203.0.113.9", "https")
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/sync-api", "/hello")


@pytest.mark.parametrize("allowed", [["10.0.0.0/8"], [], ["127.0.0.2"]])
def test_an_untrusted_peer_changes_nothing(allowed):
    assert wsgi(PROXIED, allowed) == PROXIED


def test_without_proxy_prefix_the_prefix_is_left_alone():
    seen = wsgi(PROXIED, prefix=False)
    assert (seen["SCRIPT_NAME"], seen["REMOTE_ADDR"]) == ("", "203.0.113.9")


@pytest.mark.parametrize(("forwarded", "allowed", "client"), [
    # The rightmost address that is not a trusted proxy, as granian.utils.proxies picks it.
    ("6.6.6.6, 10.0.0.5", ["127.0.0.1", "10.0.0.0/8"], "6.6.6.6"),
    ("6.6.6.6, 7.7.7.7", ["127.0.0.1"], "7.7.7.7"),
    # Every entry trusted, or every peer trusted (a unix socket): the leftmost.
    ("10.0.0.4, 10.0.0.5", ["127.0.0.1", "10.0.0.0/8"], "10.0.0.4"),
    ("6.6.6.6, 7.7.7.7", ["*"], "6.6.6.6"),
])
def test_the_client_is_picked_from_x_forwarded_for_like_granians(forwarded, allowed, client):
    assert wsgi(dict(PROXIED, HTTP_X_FORWARDED_FOR=forwarded), allowed)["REMOTE_ADDR"] == client


def test_a_scheme_other_than_http_or_https_is_ignored():
    assert wsgi(dict(PROXIED, HTTP_X_FORWARDED_PROTO="gopher"))["wsgi.url_scheme"] == "http"


def test_each_address_is_decided_once():
    """Parsing forwarded_allow_ips and the peer on every request was the layer's cost."""
    trusted = loader.WSGIFromProxy(None, ["127.0.0.1", "10.0.0.0/8"], True).trusted
    for _round in range(3):
        assert trusted("10.1.2.3") and not trusted("6.6.6.6") and not trusted("bogus")
    assert trusted._decide.cache_info().misses == 3


def test_asgi_gets_the_client_the_scheme_and_a_root_path():
    scope = asgi({"type": "http", "path": "/docs", "raw_path": b"/docs", "client": ("127.0.0.1", 5000),
                  "scheme": "http", "headers": [(b"x-forwarded-for", b"203.0.113.9"),
                                                (b"x-forwarded-proto", b"https"),
                                                (b"x-forwarded-prefix", b"/async-api/")]})
    assert (scope["client"], scope["scheme"]) == (("203.0.113.9", 0), "https")
    assert (scope["root_path"], scope["path"], scope["raw_path"]) == ("/async-api", "/async-api/docs",
                                                                      b"/async-api/docs")


def test_asgi_websockets_get_ws_schemes_and_lifespan_passes_untouched():
    scope = asgi({"type": "websocket", "path": "/ws", "client": None, "scheme": "ws",
                  "headers": [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https")]},
                 allowed=["*"])
    assert (scope["client"], scope["scheme"]) == (("203.0.113.9", 0), "wss")
    assert asgi({"type": "lifespan"}) == {"type": "lifespan"}


def test_asgi_from_an_untrusted_peer_is_left_alone():
    scope = {"type": "http", "path": "/docs", "client": ("10.1.1.1", 5000), "scheme": "http",
             "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-prefix", b"/async-api")]}
    assert asgi(scope) == scope
