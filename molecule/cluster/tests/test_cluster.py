"""One load balancer, two app hosts: both serve, and losing one costs no GET request."""

import time

import pytest

testinfra_hosts = ["ansible://pyweb-lb"]

APPS = [("/sync-api", "sync-api"), ("/async-api", "async-api")]


@pytest.mark.parametrize("prefix, app", APPS)
def test_both_app_hosts_serve_in_turn(get_json, prefix, app):
    seen = set()
    for _unused in range(10):
        status, body = get_json(f"{prefix}/hello")
        assert status == 200
        assert body["app"] == app
        seen.add(body["host"])
    assert seen == {"pyweb-app1", "pyweb-app2"}


@pytest.mark.parametrize("prefix, app", APPS)
def test_gets_keep_succeeding_while_one_app_host_is_down_and_it_rejoins(get_json, app_hosts, prefix, app):
    down = app_hosts["pyweb-app1"]
    # Socket and service both: with only the service stopped, socket activation would start it again.
    down.run_test("systemctl stop %s.socket %s.service", app, app)
    try:
        answers = [get_json(f"{prefix}/hello") for _unused in range(40)]
        assert [status for status, _unused in answers] == [200] * 40
        assert {body["host"] for _unused, body in answers} == {"pyweb-app2"}
    finally:
        down.run_test("systemctl start %s.socket %s.service", app, app)
    # Nginx tries a failed server again after fail_timeout; within a little longer it is back.
    deadline = time.monotonic() + 30
    seen = set()
    while time.monotonic() < deadline and seen != {"pyweb-app1", "pyweb-app2"}:
        status, body = get_json(f"{prefix}/hello")
        assert status == 200
        seen.add(body["host"])
        time.sleep(0.5)
    assert seen == {"pyweb-app1", "pyweb-app2"}


@pytest.mark.parametrize("app", ["sync-api", "async-api"])
def test_tcp_sockets_bind_the_private_address_even_before_it_exists(app_hosts, app):
    """FreeBind: at boot the private address may come up after sockets.target; the socket must
    still bind, or the app stays down until someone restarts it."""
    for host in app_hosts.values():
        assert host.check_output("systemctl show --property FreeBind --value %s.socket", app) == "yes"
        listen = host.check_output("systemctl show --property Listen --value %s.socket", app)
        assert not listen.startswith("/"), listen
