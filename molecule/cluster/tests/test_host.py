"""The host role on the cluster (roles/host): the firewall keeps the app hosts' Gunicorn ports for
the load balancer and their metrics ports for the Prometheus hosts, and drops what the stack does
not use, it is loaded again at boot, and the
journal's size bound is the one journald runs with."""

import re
import time

import pytest
from conftest import ROOT
from pyweb_testlib import wait_for

testinfra_hosts = ["ansible://pyweb-lb"]

HOSTS = ["pyweb-lb", "pyweb-app1", "pyweb-app2"]
APPS = ["sync-api", "async-api"]
# A connection the firewall drops gets no answer at all: it ends in this timeout.
CONNECT_TIMEOUT = 3

# A TCP connect from inside a test host: prints "open", or the error that ended it.
_CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
    print("open")
except OSError as error:
    print(type(error).__name__)
"""


def connect(host, address, port):
    """(outcome, seconds) of one TCP connect from host to address:port."""
    start = time.monotonic()
    outcome = host.check_output("python3 -c %s %s %s %s", _CONNECT, address, str(port), str(CONNECT_TIMEOUT))
    return outcome, time.monotonic() - start


@pytest.fixture(scope="module")
def all_hosts(lb, app_hosts):
    return {"pyweb-lb": lb, **app_hosts}


def app_address(host, app):
    """The address and port the app's socket unit listens on (its TCP bind)."""
    listen = host.check_output("systemctl show --property Listen --value %s.socket", app)
    address, _unused, port = listen.split()[0].rpartition(":")
    return address, int(port)


@pytest.mark.parametrize("app", APPS)
def test_gunicorn_port_answers_the_load_balancer_only(lb, app_hosts, app):
    address, port = app_address(app_hosts["pyweb-app1"], app)
    status = lb.check_output("curl -sS -o /dev/null -w '%%{http_code}' --max-time 10 http://%s:%s/healthz",
                             address, str(port))
    assert status == "200"
    outcome, seconds = connect(app_hosts["pyweb-app2"], address, port)
    assert outcome == "TimeoutError", f"pyweb-app2 reached {app} on {address}:{port}: {outcome}"
    assert seconds < CONNECT_TIMEOUT + 5


@pytest.mark.parametrize("app, port", [("sync-api", 9210), ("async-api", 9211)])
def test_metrics_port_answers_the_prometheus_hosts_only(lb, app_hosts, app, port):
    """The apps serve their metrics on the private address (inventory/production); the load
    balancer is the scenario's `prometheus` host, the other app host is not."""
    address, _unused = app_address(app_hosts["pyweb-app1"], app)
    page = lb.check_output("curl -fsS --max-time 10 http://%s:%s/metrics", address, str(port))
    # The health gate's requests, at least, were counted.
    assert f'pyweb_http_requests_total{{app="{app}"' in page, page[:500]
    outcome, seconds = connect(app_hosts["pyweb-app2"], address, port)
    assert outcome == "TimeoutError", f"pyweb-app2 reached {app}'s metrics on {address}:{port}: {outcome}"
    assert seconds < CONNECT_TIMEOUT + 5


@pytest.fixture
def listener(app_hosts):
    """A throwaway listener on pyweb-app1, on the SSH port (unless an sshd already holds it) and on
    2222, a port no rule accepts; stopped when the test ends."""
    host = app_hosts["pyweb-app1"]
    ports = [2222] + ([] if host.run("ss -Htln 'sport = :22'").stdout.strip() else [22])
    code = ("import socket, time\nsockets = []\n"
            f"for port in {ports}:\n"
            "    s = socket.socket()\n"
            "    s.bind(('0.0.0.0', port)); s.listen(16); sockets.append(s)\n"
            "time.sleep(120)\n")
    host.run_test("systemd-run --quiet --unit pyweb-test-listener --property RuntimeMaxSec=150 python3 -c %s", code)
    try:
        assert wait_for(lambda: bool(host.run("ss -Htln 'sport = :2222'").stdout.strip()), timeout=15)
        yield host
    finally:
        host.run("systemctl stop pyweb-test-listener")


def test_ssh_port_is_accepted_and_other_ports_are_dropped(app_hosts, listener):
    address, _unused = app_address(listener, "sync-api")
    assert connect(app_hosts["pyweb-app2"], address, 22)[0] == "open"
    # The listener answers on 2222 where the firewall lets it (the host itself, over loopback),
    # so silence from pyweb-app2 is the firewall's doing.
    assert connect(listener, address, 2222)[0] == "open"
    outcome, seconds = connect(app_hosts["pyweb-app2"], address, 2222)
    assert outcome == "TimeoutError" and seconds < CONNECT_TIMEOUT + 5


@pytest.mark.parametrize("name", HOSTS)
def test_ruleset_is_loaded_and_comes_back_at_boot(all_hosts, name):
    host = all_hosts[name]
    table = host.check_output("nft list table inet pyweb")
    assert "hook input priority filter; policy drop;" in table
    assert host.check_output("systemctl is-enabled pyweb-firewall.service") == "enabled"
    assert host.check_output("systemctl is-active pyweb-firewall.service") == "active"
    web = "tcp dport { 80, 443 } accept" in table
    assert web == (name == "pyweb-lb")


def test_apps_accept_exactly_the_load_balancer_address(lb, app_hosts):
    # The role's default sources: the load balancer's default IPv4 address (no IPv6 on this network).
    lb_address = re.search(r" src (\S+)", lb.check_output("ip -4 route get 192.0.2.1")).group(1)
    for host in app_hosts.values():
        assert re.search(r"ip saddr %s tcp dport \{ 8000, 8001 \} accept" % re.escape(lb_address),
                         host.check_output("nft list table inet pyweb"))


def test_unit_restores_the_ruleset_from_disk_and_leaves_other_tables_alone(app_hosts):
    """What boot does: the unit loads the file. Stopping it deletes our table only."""
    host = app_hosts["pyweb-app2"]
    before = host.check_output("nft list table inet pyweb")
    host.run_test("nft add table inet pyweb_other")
    try:
        host.run_test("systemctl stop pyweb-firewall.service")
        assert host.run("nft list table inet pyweb").rc != 0
        assert host.run("nft list table inet pyweb_other").rc == 0
        host.run_test("systemctl start pyweb-firewall.service")
        assert host.check_output("nft list table inet pyweb") == before
    finally:
        host.run("systemctl start pyweb-firewall.service")
        host.run("nft delete table inet pyweb_other")


def test_a_flushed_ruleset_is_loaded_again_by_the_next_run(playbook, app_hosts):
    """`nft flush ruleset` (Debian's nftables.service does it on a restart) deletes our table while
    pyweb-firewall.service stays active; the next run of the host play notices and loads it again."""
    host = app_hosts["pyweb-app1"]
    before = host.check_output("nft list table inet pyweb")
    host.run_test("nft flush ruleset")
    try:
        assert host.run("nft list table inet pyweb").rc != 0
        assert host.check_output("systemctl is-active pyweb-firewall.service") == "active"
        output = playbook("host.yml")
        assert re.search(r"TASK \[pyweb\.stack\.host : Load the ruleset again, it changed or its table is gone\].*?"
                         r"changed: \[pyweb-app1\]", output, re.S), output[-4000:]
        assert host.check_output("nft list table inet pyweb") == before
    finally:
        host.run("systemctl reload pyweb-firewall.service")


def test_bad_firewall_values_are_refused_before_any_host_changes(playbook, app_hosts):
    before = app_hosts["pyweb-app1"].check_output("nft list table inet pyweb")
    output = playbook(ROOT / "site.yml", {"host_firewall_allow": [{"port": 70000, "sources": ["10.0.0.300"]}]},
                      expect_success=False)
    assert "host_firewall_allow[0].port must be a port from 1 to 65535, not 70000." in output
    assert "host_firewall_allow[0].sources: '10.0.0.300' is not an IP address or network" in output
    assert "PLAY [Apply the host-wide settings]" not in output
    assert not re.search(r"^changed: ", output, re.M)
    assert app_hosts["pyweb-app1"].check_output("nft list table inet pyweb") == before


SIZE = re.compile(r"System Journal \(.*\) is .*, max ([0-9.]+)([KMGT]?)B?,")
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@pytest.mark.parametrize("name", HOSTS)
def test_journald_runs_with_the_size_bound(all_hosts, name):
    """journald logs the bound it applies to the persistent journal when it opens it: the running
    journald's own messages, not the file we wrote, say what is in force."""
    host = all_hosts[name]
    pid = host.check_output("systemctl show --property MainPID --value systemd-journald")
    messages = host.check_output("journalctl --no-pager -o cat _PID=%s", pid)
    found = SIZE.findall(messages)
    assert found, messages
    number, unit = found[-1]
    assert float(number) * UNITS[unit] == 500 * UNITS["M"]
