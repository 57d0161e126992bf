"""The host firewall's rules, worked out once from the role's variables.

* ``host_firewall_problems`` checks the user's values before anything changes (ports 1 to 65535,
  sources that are IP addresses or networks) and names the variable of each bad one;
* ``host_address_in`` tells whether Ansible's own SSH client is among the accepted sources;
* ``host_app_tcp_ports`` finds the TCP ports the apps of a host listen on, from their entries'
  ``bind`` (pyweb_apps and pyweb_apps__<suffix>);
* ``host_metrics_tcp_ports`` finds the TCP ports the host serves Prometheus metrics on (the apps'
  ``metrics_listen``, the Nginx exporter's listen address);
* ``host_default_addresses`` reads the load balancers' (or Prometheus hosts') default addresses
  from their facts;
* ``host_firewall_rules`` turns the variables into the list of accept rules the template writes,
  sources split by address family and merged, since nftables refuses overlapping networks in one
  set.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

ANY = {"ipv4": ipaddress.ip_network("0.0.0.0/0"), "ipv6": ipaddress.ip_network("::/0")}

# Gunicorn's TCP binds: host:port, [v6]:port or a bare port.
TCP_BIND = re.compile(r"^(?:(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]]*):)?(?P<port>[0-9]{1,5})$")
LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def _network(value):
    """An address or network as an ip_network, or None when it is neither. A network with host
    bits set (10.0.0.1/24) is refused: it is likely a typo for an address or the network."""
    try:
        return ipaddress.ip_network(str(value).strip(), strict=True)
    except ValueError:
        return None


def _port_ok(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def host_firewall_problems(ssh_port, ssh_sources, app_ports, app_sources, allow, metrics_ports=None,
                           metrics_sources=None) -> list[str]:
    """Every bad value, each message naming its variable; empty when all are good."""
    problems = []
    if not _port_ok(ssh_port):
        problems.append(f"host_firewall_ssh_port must be a port from 1 to 65535, not {ssh_port!r}.")
    sources = [("host_firewall_ssh_sources", ssh_sources), ("host_firewall_app_sources", app_sources),
               ("host_firewall_metrics_sources", metrics_sources)]
    if not list(ssh_sources or []):
        problems.append("host_firewall_ssh_sources is empty: nobody, Ansible included, could reach SSH. "
                        "Use [0.0.0.0/0, ::/0] for anyone.")
    for name, ports in (("host_firewall_app_ports", app_ports), ("host_firewall_metrics_ports", metrics_ports)):
        for port in ports or []:
            if not _port_ok(port):
                problems.append(f"{name}: {port!r} is not a port from 1 to 65535.")
    for index, rule in enumerate(allow or []):
        label = f"host_firewall_allow[{index}]"
        if not isinstance(rule, Mapping):
            problems.append(f"{label} must be a mapping with port, protocol and sources.")
            continue
        if not _port_ok(rule.get("port")):
            problems.append(f"{label}.port must be a port from 1 to 65535, not {rule.get('port')!r}.")
        if rule.get("protocol", "tcp") not in ("tcp", "udp"):
            problems.append(f"{label}.protocol must be tcp or udp, not {rule.get('protocol')!r}.")
        sources.append((f"{label}.sources", rule.get("sources", ["0.0.0.0/0", "::/0"])))
    for name, values in sources:
        for value in values or []:
            if _network(value) is None:
                problems.append(f"{name}: {value!r} is not an IP address or network (10.0.0.5, 10.0.0.0/24, "
                                "2001:db8::/64); a network must not have host bits set.")
    return problems


def _reachable_port(address) -> int | None:
    """The TCP port of a listen address that other hosts can reach; None for a unix socket, a
    loopback address (loopback is always accepted) or an empty or unreadable value."""
    address = str(address or "").strip()
    if address.startswith(("unix:", "fd://")):
        return None
    match = TCP_BIND.match(address)
    if not match:
        return None
    host = (match.group("host") or "").strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return int(match.group("port"))


def _entry_ports(entries, key, default) -> set[int]:
    """The reachable ports of the entries' ``key`` (else ``default``); entries with state absent
    listen nowhere."""
    ports = set()
    for entry in entries or []:
        if not isinstance(entry, Mapping) or entry.get("state", "present") == "absent":
            continue
        port = _reachable_port(entry.get(key) or default)
        if port is not None:
            ports.add(port)
    return ports


def host_app_tcp_ports(entries, default_bind="") -> list[int]:
    """The TCP ports the apps listen on, from each entry's bind (else default_bind, the host's
    gunicorn_bind). Unix sockets and loopback addresses need no rule."""
    return sorted(_entry_ports(entries, "bind", default_bind))


def host_metrics_tcp_ports(entries, default_listen="", nginx_listen="") -> list[int]:
    """The TCP ports the host serves Prometheus metrics on: each app entry's metrics_listen (else
    default_listen, the host's gunicorn_metrics_listen) and nginx_listen (the exporter's
    nginx_metrics_listen, "" when it does not run here). Loopback listeners need no rule."""
    ports = _entry_ports(entries, "metrics_listen", default_listen)
    nginx_port = _reachable_port(nginx_listen)
    return sorted(ports | ({nginx_port} if nginx_port is not None else set()))


def host_address_in(address, sources) -> bool:
    """Whether an address (Ansible's SSH client, say) is inside one of the sources."""
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in (_network(v) for v in sources or []) if network is not None
               and network.version == ip.version)


def host_default_addresses(facts_list) -> list[str]:
    """The default IPv4 and IPv6 addresses in a list of hosts' facts (the load balancers'), in
    order and once each; a host without facts adds none."""
    found = []
    for facts in facts_list or []:
        for key in ("default_ipv4", "default_ipv6"):
            address = ((facts or {}).get(key) or {}).get("address") if isinstance(facts, Mapping) else None
            if address and address not in found:
                found.append(address)
    return found


def host_group_addresses(host_vars_list) -> list[str]:
    """The addresses of a group's hosts (the Prometheus servers), from each host's variables: its
    pyweb_private_address when set, else the default addresses in its facts, else (a host outside
    the play) its ansible_host when that is an IP address; once each, in order."""
    found = []
    for host_vars in host_vars_list or []:
        if not isinstance(host_vars, Mapping):
            continue
        try:
            private = str(host_vars.get("pyweb_private_address") or "")
        except Exception:  # pylint: disable=broad-exception-caught  # it names facts the host lacks
            private = ""
        try:
            facts = host_vars.get("ansible_facts") or {}
        except Exception:  # pylint: disable=broad-exception-caught
            facts = {}
        addresses = [private] if private else host_default_addresses([facts])
        if not addresses and _network(host_vars.get("ansible_host", "")) is not None:
            # Not in the play (no facts): the address Ansible would connect to, when it is one.
            addresses = [str(host_vars.get("ansible_host")).strip()]
        for address in addresses:
            if address not in found:
                found.append(address)
    return found


def _families(sources) -> dict:
    """{'ipv4': [...], 'ipv6': [...], 'any': bool}: the sources merged per family, as nftables
    writes them (an address without /32 or /128). any: every address of both families."""
    networks = [n for n in (_network(v) for v in sources or []) if n is not None]
    result = {"any": False}
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        merged = list(ipaddress.collapse_addresses(n for n in networks if n.version == version))
        result[family] = [str(n.network_address) if n.num_addresses == 1 else str(n) for n in merged]
    result["any"] = result["ipv4"] == [str(ANY["ipv4"])] and result["ipv6"] == [str(ANY["ipv6"])]
    return result


def host_firewall_rules(ssh_port, ssh_sources, web=False, http3=False, app_ports=None, app_sources=None,
                        allow=None, metrics_ports=None, metrics_sources=None) -> list[dict]:
    """The accept rules after the fixed ones (established, loopback, ICMP): each
    {comment, protocol, ports, any, ipv4, ipv6}. A rule whose sources leave a family empty has no
    line for that family; one with no sources at all is left out."""
    rules = [{"comment": "SSH", "protocol": "tcp", "ports": [ssh_port], **_families(ssh_sources)}]
    if web:
        rules.append({"comment": "HTTP and HTTPS (load balancer)", "protocol": "tcp", "ports": [80, 443],
                      **_families(["0.0.0.0/0", "::/0"])})
        if http3:
            rules.append({"comment": "HTTP/3 (QUIC)", "protocol": "udp", "ports": [443],
                          **_families(["0.0.0.0/0", "::/0"])})
    if app_ports:
        rules.append({"comment": "the apps' Gunicorn ports, from the load balancers", "protocol": "tcp",
                      "ports": sorted(set(app_ports)), **_families(app_sources)})
    if metrics_ports:
        # Plain HTTP without authentication: only the Prometheus hosts may scrape it.
        rules.append({"comment": "the metrics ports, from the Prometheus hosts", "protocol": "tcp",
                      "ports": sorted(set(metrics_ports)), **_families(metrics_sources)})
    for index, rule in enumerate(allow or []):
        rules.append({"comment": f"host_firewall_allow[{index}]", "protocol": rule.get("protocol", "tcp"),
                      "ports": [rule["port"]], **_families(rule.get("sources", ["0.0.0.0/0", "::/0"]))})
    return [rule for rule in rules if rule["any"] or rule["ipv4"] or rule["ipv6"]]


class FilterModule:
    def filters(self):
        return {
            "host_address_in": host_address_in,
            "host_app_tcp_ports": host_app_tcp_ports,
            "host_default_addresses": host_default_addresses,
            "host_group_addresses": host_group_addresses,
            "host_metrics_tcp_ports": host_metrics_tcp_ports,
            "host_firewall_problems": host_firewall_problems,
            "host_firewall_rules": host_firewall_rules,
        }
