"""Metrics addresses of one host are refused before anything changes when two listeners would share
a port (plugins/filter/pyweb_apps.py, pyweb_app_listen_conflicts)."""

import pytest

from conftest import ROOT, load_plugin

apps = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")


def app(name, metrics="", bind=None, state="present"):
    return {"name": name, "app": {"app_state": state},
            "gunicorn": {"gunicorn_metrics_listen": metrics, "gunicorn_bind": bind or f"unix:/run/gunicorn/{name}.sock"}}


NGINX = {"nginx_metrics_enabled": True, "nginx_metrics_listen": "127.0.0.1:9113",
         "nginx_metrics_stub_status_listen": "127.0.0.1:8089"}


def test_distinct_addresses_pass():
    selected = [app("a", "127.0.0.1:9210"), app("b", "127.0.0.1:9211", bind="10.0.0.5:8000"), app("c")]
    assert apps.pyweb_app_listen_conflicts(selected, NGINX) == []


@pytest.mark.parametrize("first, second", [("127.0.0.1:9210", "127.0.0.1:9210"), ("0.0.0.0:9210", "127.0.0.1:9210"),
                                           ("[::]:9210", "10.0.0.5:9210")])
def test_two_apps_on_one_metrics_port_are_refused(first, second):
    problems = apps.pyweb_app_listen_conflicts([app("a", first), app("b", second)])
    assert len(problems) == 1
    assert "a's metrics_listen (gunicorn_metrics_listen)" in problems[0]
    assert "b's metrics_listen (gunicorn_metrics_listen)" in problems[0]


def test_same_port_on_other_addresses_passes():
    assert apps.pyweb_app_listen_conflicts([app("a", "127.0.0.1:9210"), app("b", "127.0.0.2:9210")]) == []


def test_metrics_on_another_apps_bind_is_refused():
    problems = apps.pyweb_app_listen_conflicts([app("a", "127.0.0.1:8000"), app("b", bind="0.0.0.0:8000")])
    assert problems and "b's bind (gunicorn_bind)" in problems[0]


@pytest.mark.parametrize("var", ["nginx_metrics_listen", "nginx_metrics_stub_status_listen"])
def test_metrics_on_nginxs_exporter_addresses_are_refused(var):
    problems = apps.pyweb_app_listen_conflicts([app("a", NGINX[var])], NGINX)
    assert problems and var in problems[0]
    # Without the nginx exporter on this host the port is free.
    assert apps.pyweb_app_listen_conflicts([app("a", NGINX[var])], dict(NGINX, nginx_metrics_enabled=False)) == []


def test_an_app_being_removed_frees_its_address():
    selected = [app("old", "127.0.0.1:9210", state="absent"), app("new", "127.0.0.1:9210")]
    assert apps.pyweb_app_listen_conflicts(selected) == []


def test_two_apps_on_one_unix_socket_are_refused_naming_both():
    # The second app's bind written out; the first's the default one, named after an app "shop".
    problems = apps.pyweb_app_listen_conflicts([app("a", bind="unix:/run/gunicorn/shop.sock"),
                                                app("b", bind="unix:/run/gunicorn//shop.sock")])
    assert problems == ["pyweb_apps: a's bind (gunicorn_bind) unix:/run/gunicorn/shop.sock and b's bind "
                        "(gunicorn_bind) unix:/run/gunicorn//shop.sock would listen on the same unix socket; "
                        "give each its own."]


@pytest.mark.parametrize("first, second", [("127.0.0.1:8000", "127.0.0.1:8000"), ("0.0.0.0:8000", "10.0.0.5:8000"),
                                           ("[::]:8000", "127.0.0.1:8000")])
def test_two_apps_on_one_tcp_port_are_refused_naming_both(first, second):
    problems = apps.pyweb_app_listen_conflicts([app("a", bind=first), app("b", bind=second)])
    assert len(problems) == 1
    assert f"a's bind (gunicorn_bind) {first}" in problems[0] and f"b's bind (gunicorn_bind) {second}" in problems[0]


def test_distinct_binds_and_a_removed_apps_bind_pass():
    selected = [app("a"), app("b"), app("c", bind="127.0.0.1:8000"), app("d", bind="127.0.0.2:8000"),
                app("e", bind="unix:/run/gunicorn/a.sock", state="absent")]
    assert apps.pyweb_app_listen_conflicts(selected) == []


def test_an_apps_bind_on_nginxs_exporter_address_is_refused():
    problems = apps.pyweb_app_listen_conflicts([app("a", bind="127.0.0.1:9113")], NGINX)
    assert problems and "a's bind (gunicorn_bind)" in problems[0] and "nginx_metrics_listen" in problems[0]
