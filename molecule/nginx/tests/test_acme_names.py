"""An ACME site's certificate follows its server_names: a name added to the site is in the next
certificate, a run with the same names leaves the certificate alone, and a name taken away is gone
from the next certificate. The tests run in file order; the last one puts the scenario's own names
back."""

import re

from pyweb_testlib import wait_for

from conftest import converge, recap_changed

NAMES = ["acme.pyweb.test"]
MORE_NAMES = ["acme.pyweb.test", "www.acme.pyweb.test"]


def served(host, name="acme.pyweb.test"):
    """The DNS names and the serial of the certificate Nginx serves for this name."""
    out = host.run(f"echo | openssl s_client -connect 127.0.0.1:443 -servername {name} 2>/dev/null"
                   " | openssl x509 -noout -serial -ext subjectAltName").stdout
    serial = re.search(r"^serial=(\w+)$", out, re.M).group(1)
    return set(re.findall(r"DNS:([^,\s]+)", out)), serial


def next_certificate(host, serial_before):
    """The names of the served certificate once Nginx serves one other than serial_before."""
    def check():
        names, serial = served(host)
        return names if serial != serial_before else None
    return wait_for(check)


def test_an_added_name_is_in_the_next_certificate(host):
    names_before, serial_before = served(host)
    assert names_before == set(NAMES)

    output = converge({"__nginx_acme_names": MORE_NAMES})

    assert re.search(r"TASK \[pyweb\.stack\.nginx : Obtain the ACME certificates\].*?changed: \[pyweb-nginx\] => \(item=acme\)",
                     output, re.S), output[-3000:]
    assert next_certificate(host, serial_before) == set(MORE_NAMES)
    # The new name is served with a certificate that holds it, so a client checking it is content.
    assert served(host, "www.acme.pyweb.test")[0] == set(MORE_NAMES)
    issuer = host.run("echo | openssl s_client -connect 127.0.0.1:443 -servername www.acme.pyweb.test"
                      " 2>/dev/null | openssl x509 -noout -issuer").stdout
    assert "Pebble Intermediate CA" in issuer


def test_the_same_names_do_not_issue_again(host):
    _unused, serial_before = served(host)

    output = converge({"__nginx_acme_names": MORE_NAMES})

    assert recap_changed(output) == 0, output[-3000:]
    assert served(host) == (set(MORE_NAMES), serial_before)


def test_the_same_names_in_another_order_do_not_issue_again(host):
    _unused, serial_before = served(host)

    # The site file and its stand-in certificate follow the order (server_name, common name), but
    # the ACME certificate holds a set of names.
    output = converge({"__nginx_acme_names": list(reversed(MORE_NAMES))})

    assert "TASK [pyweb.stack.nginx : Obtain the ACME certificates]" not in output, output[-3000:]
    assert served(host) == (set(MORE_NAMES), serial_before)


def test_a_removed_name_is_gone_from_the_next_certificate(host):
    _unused, serial_before = served(host)

    converge({"__nginx_acme_names": NAMES})

    assert next_certificate(host, serial_before) == set(NAMES)
