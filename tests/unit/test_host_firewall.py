"""The host role's firewall rules (plugins/filter/host_firewall.py): bad ports and
sources refused naming their variable, the apps' TCP ports found in their binds, and sources
written as nftables takes them."""

import pytest

from conftest import ROOT, load_plugin

firewall = load_plugin(ROOT / "plugins/filter/host_firewall.py")
ANY = ("0.0.0.0/0", "::/0")


def problems(ssh_port=22, ssh_sources=ANY, app_ports=(), app_sources=(), allow=()):
    return firewall.host_firewall_problems(ssh_port, list(ssh_sources), list(app_ports), list(app_sources), list(allow))


def test_good_values_have_no_problems():
    assert problems(app_ports=[8000, 8001], app_sources=["10.0.0.10", "2001:db8::/64"],
                    allow=[{"port": 9100, "protocol": "tcp", "sources": ["192.168.0.0/16"]}, {"port": 51820}]) == []


@pytest.mark.parametrize("kwargs, variable", [
    ({"ssh_port": 0}, "host_firewall_ssh_port"),
    ({"ssh_port": 65536}, "host_firewall_ssh_port"),
    ({"ssh_sources": []}, "host_firewall_ssh_sources is empty"),
    ({"ssh_sources": ["10.0.0.300"]}, "host_firewall_ssh_sources: '10.0.0.300'"),
    ({"ssh_sources": ["10.0.0.1/24"]}, "host bits"),
    ({"app_ports": [8000, 70000]}, "host_firewall_app_ports: 70000"),
    ({"app_sources": ["lb1.example.internal"]}, "host_firewall_app_sources: 'lb1.example.internal'"),
    ({"allow": [{"port": 0}]}, "host_firewall_allow[0].port"),
    ({"allow": [{"port": 80}, {"port": 9100, "sources": ["any"]}]}, "host_firewall_allow[1].sources: 'any'"),
    ({"allow": [{"port": 53, "protocol": "icmp"}]}, "host_firewall_allow[0].protocol"),
])
def test_a_bad_value_is_refused_naming_its_variable(kwargs, variable):
    found = problems(**kwargs)
    assert len(found) == 1 and variable in found[0], found


@pytest.mark.parametrize("bind, ports", [
    ("10.0.1.11:8000", [8000]),
    ("0.0.0.0:8000", [8000]),
    ("[2001:db8::5]:8001", [8001]),
    (":8002", [8002]),
    ("8003", [8003]),
    ("127.0.0.1:8000", []),
    ("localhost:8000", []),
    ("[::1]:8000", []),
    ("unix:/run/gunicorn/shop.sock", []),
])
def test_app_ports_come_from_tcp_binds_only(bind, ports):
    assert firewall.host_app_tcp_ports([{"name": "shop", "bind": bind}]) == ports


def test_app_ports_skip_absent_apps_and_take_the_host_bind_as_default():
    entries = [{"name": "a", "bind": "10.0.0.5:8000"}, {"name": "b", "bind": "10.0.0.5:8001", "state": "absent"},
               {"name": "c"}, {"name": "d", "bind": "10.0.0.5:8000"}]
    assert firewall.host_app_tcp_ports(entries) == [8000]
    assert firewall.host_app_tcp_ports(entries, "0.0.0.0:9000") == [8000, 9000]


def test_rules_per_host_role():
    app = firewall.host_firewall_rules(22, ANY, False, False, [8001, 8000], ["172.18.0.2"], [])
    assert [(r["comment"], r["ports"]) for r in app] == [("SSH", [22]), ("the apps' Gunicorn ports, from the load balancers", [8000, 8001])]
    assert app[0]["any"] and app[1] == {**app[1], "any": False, "ipv4": ["172.18.0.2"], "ipv6": []}
    lb = firewall.host_firewall_rules(2222, ["10.9.0.0/16"], True, True, [], [], [{"port": 9100, "sources": ["::1"]}])
    assert [(r["protocol"], r["ports"]) for r in lb] == [("tcp", [2222]), ("tcp", [80, 443]), ("udp", [443]), ("tcp", [9100])]
    assert lb[0]["ipv4"] == ["10.9.0.0/16"] and lb[0]["ipv6"] == [] and not lb[0]["any"]
    assert lb[3]["comment"] == "host_firewall_allow[0]" and lb[3]["ipv6"] == ["::1"]


def test_overlapping_sources_are_merged_since_nftables_refuses_them():
    (rule,) = firewall.host_firewall_rules(22, ["10.0.0.0/8", "10.1.2.3", "10.0.0.0/9", "2001:db8::/64", "2001:db8::1"])
    assert rule["ipv4"] == ["10.0.0.0/8"] and rule["ipv6"] == ["2001:db8::/64"]


def test_app_rule_without_sources_is_left_out():
    assert [r["comment"] for r in firewall.host_firewall_rules(22, ANY, False, False, [8000], [])] == ["SSH"]


@pytest.mark.parametrize("address, sources, inside", [
    ("10.0.0.7", ["10.0.0.0/24"], True),
    ("10.0.1.7", ["10.0.0.0/24", "2001:db8::/32"], False),
    ("::ffff:10.0.0.7", ["10.0.0.0/24"], True),
    ("2001:db8::9", ANY, True),
    ("", ANY, False),
])
def test_ansible_client_inside_the_ssh_sources(address, sources, inside):
    assert firewall.host_address_in(address, sources) is inside


def test_load_balancer_addresses_come_from_their_facts_and_a_host_without_facts_adds_none():
    facts = [{"default_ipv4": {"address": "10.0.0.10"}, "default_ipv6": {"address": "2001:db8::10"}},
             {}, {"default_ipv4": {"address": "10.0.0.11"}, "default_ipv6": {}}, {"default_ipv4": {"address": "10.0.0.10"}}]
    assert firewall.host_default_addresses(facts) == ["10.0.0.10", "2001:db8::10", "10.0.0.11"]


@pytest.mark.parametrize("entries, default, nginx, ports", [
    ([{"name": "shop", "metrics_listen": "0.0.0.0:9210"}], "", "", [9210]),
    # Loopback and unset listeners need no rule; an absent app listens nowhere.
    ([{"name": "shop", "metrics_listen": "127.0.0.1:9210"}, {"name": "blog"}], "", "", []),
    ([{"name": "shop", "metrics_listen": "10.0.0.5:9210", "state": "absent"}], "", "", []),
    # The host's gunicorn_metrics_listen for entries without their own; the exporter's port.
    ([{"name": "shop"}, {"name": "blog", "metrics_listen": "[::]:9211"}], "0.0.0.0:9210", "0.0.0.0:9113",
     [9113, 9210, 9211]),
    ([], "", "127.0.0.1:9113", []),
])
def test_metrics_ports_are_the_reachable_metrics_listeners(entries, default, nginx, ports):
    assert firewall.host_metrics_tcp_ports(entries, default, nginx) == ports


def test_metrics_ports_are_accepted_from_the_prometheus_hosts_only():
    rules = firewall.host_firewall_rules(22, ANY, False, False, [8000], ["10.0.0.2"], [], [9210, 9113],
                                         ["10.0.0.9", "2001:db8::9"])
    (metrics,) = [rule for rule in rules if "metrics" in rule["comment"]]
    assert (metrics["ports"], metrics["ipv4"], metrics["ipv6"], metrics["any"]) == (
        [9113, 9210], ["10.0.0.9"], ["2001:db8::9"], False)
    # No Prometheus host: no rule, so the firewall drops the metrics ports.
    rules = firewall.host_firewall_rules(22, ANY, False, False, [], [], [], [9210], [])
    assert [rule["comment"] for rule in rules] == ["SSH"]


def test_bad_metrics_values_are_named():
    problems = firewall.host_firewall_problems(22, ANY, [], [], [], [70000], ["10.0.0.1/8"])
    assert any(p.startswith("host_firewall_metrics_ports: 70000") for p in problems), problems
    assert any(p.startswith("host_firewall_metrics_sources: '10.0.0.1/8'") for p in problems), problems


def test_the_prometheus_hosts_are_found_by_private_address_or_facts():
    facts = {"default_ipv4": {"address": "172.18.0.4"}, "default_ipv6": {}}
    assert firewall.host_group_addresses([
        {"pyweb_private_address": "10.0.0.9", "ansible_facts": facts},
        {"ansible_facts": facts},
        {"ansible_facts": facts},  # once each
        {"ansible_host": "10.0.3.10"},  # not in the play: the address Ansible would use
        {"ansible_host": "monitor.example.internal"},  # a name is no firewall source
        {},
    ]) == ["10.0.0.9", "172.18.0.4", "10.0.3.10"]
