"""The host firewall's rules, worked out once from the role's variables.

* ``host_firewall_problems`` checks the user's values before anything changes (ports 1 to 65535,
  sources that are IP addresses or networks) and names the variable of each bad one;
* ``host_address_in`` tells whether Ansible's own SSH client is among the accepted sources;
* ``host_app_tcp_ports`` finds the TCP ports the apps of a host listen on, from their entries'
  ``bind`` (pyweb_apps and pyweb_apps__<suffix>);
* ``host_default_addresses`` reads the load balancers' default addresses from their facts;
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


def host_firewall_problems(ssh_port, ssh_sources, app_ports, app_sources, allow) -> list[str]:
    """Every bad value, each message naming its variable; empty when all are good."""
    problems = []
    if not _port_ok(ssh_port):
        problems.append(f"host_firewall_ssh_port must be a port from 1 to 65535, not {ssh_port!r}.")
    sources = [("host_firewall_ssh_sources", ssh_sources), ("host_firewall_app_sources", app_sources)]
    if not list(ssh_sources or []):
        problems.append("host_firewall_ssh_sources is empty: nobody, Ansible included, could reach SSH. "
                        "Use [0.0.0.0/0, ::/0] for anyone.")
    for port in app_ports or []:
        if not _port_ok(port):
            problems.append(f"host_firewall_app_ports: {port!r} is not a port from 1 to 65535.")
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


def host_app_tcp_ports(entries, default_bind="") -> list[int]:
    """The TCP ports the apps listen on, from each entry's bind (else default_bind, the host's
    gunicorn_bind). Unix sockets and loopback addresses need no rule (loopback is always
    accepted); entries with state absent listen nowhere."""
    ports = set()
    for entry in entries or []:
        if not isinstance(entry, Mapping) or entry.get("state", "present") == "absent":
            continue
        bind = str(entry.get("bind") or default_bind or "").strip()
        if bind.startswith(("unix:", "fd://")):
            continue
        match = TCP_BIND.match(bind)
        if not match:
            continue
        host = (match.group("host") or "").strip("[]")
        if host.lower() in LOOPBACK_NAMES:
            continue
        try:
            if ipaddress.ip_address(host).is_loopback:
                continue
        except ValueError:
            pass
        ports.add(int(match.group("port")))
    return sorted(ports)


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
                        allow=None) -> list[dict]:
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
            "host_firewall_problems": host_firewall_problems,
            "host_firewall_rules": host_firewall_rules,
        }
