"""roles/gunicorn/files/pyweb_granian.py, the loader every Granian worker runs: how it reads an app
target the way Gunicorn's wsgi_app does, and imports the app of the release its config names."""

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


def test_the_secrets_are_taken_out_of_each_wsgi_environ():
    """Granian copies the process environment into the environ; the app sees the rest of it."""
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b"ok"]

    wrapped = loader.WSGIWithoutSecrets(app, loader.secret_names({"PYWEB_SECRET_NAMES": "SECRET_KEY"}))
    environ = {"SECRET_KEY": "hunter2", "PYWEB_SECRET_NAMES": "SECRET_KEY", "APP_NAME": "shop",
               "PATH_INFO": "/", "REMOTE_ADDR": "127.0.0.1"}
    assert wrapped(environ, None) == [b"ok"]
    assert seen == {"APP_NAME": "shop", "PATH_INFO": "/", "REMOTE_ADDR": "127.0.0.1"}
