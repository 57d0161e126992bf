"""Fixtures of the security scenario: a client on the controller that reaches the host over the
container's bridge address, the way a remote client would, and a record of the figures measured.

The bad-input tests run from the controller (python sockets and ssl) rather than with curl inside
the host: they need byte-level control (half a header, a stalled body, a handshake with a chosen
or missing SNI name), they time the server on a clock that no `docker exec` round trip disturbs,
and the rate limit sees one remote client address, as it would in production. The figures end up
in <ephemeral dir>/security-figures.json and in the terminal summary; docs/security.md quotes them.
"""

import http.client
import json
import os
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyweb_testlib import bridge_address, named_host

# A name of the demo site (inventory/demo/group_vars/all/proxy.yml). It does not resolve: every
# connection goes to the bridge address and names the site only in SNI and Host.
SERVER_NAME = "pyweb.test"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"))
FIGURES = {}


def record(section, key, value):
    """Keep one measured figure for the summary and the JSON file."""
    FIGURES.setdefault(section, {})[key] = value


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("pyweb security figures")
        terminalreporter.write_line(json.dumps(FIGURES, indent=2, sort_keys=True))


def pytest_sessionfinish(session):
    if FIGURES:
        (EPHEMERAL / "security-figures.json").write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")


def tls_context():
    """Client context for the self-signed demo certificate: this scenario grades the server's
    protocol behaviour, not the certificate chain (testssl reports on the certificate)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class SiteConnection(http.client.HTTPSConnection):
    """HTTPS to the bridge address with SNI and Host naming the site."""

    def __init__(self, address, server_name=SERVER_NAME, timeout=15):
        super().__init__(server_name, 443, timeout=timeout, context=tls_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@pytest.fixture(scope="session")
def target():
    """The scenario's host, for fixtures that outlive a module."""
    return named_host("pyweb-security")


@pytest.fixture(scope="session")
def address():
    """The host's address on the engine's bridge network (reachable from the controller)."""
    return bridge_address("pyweb-security")


@pytest.fixture(scope="session")
def request_site(address):
    """One HTTPS request to the site; returns (status, lower-case headers, body bytes)."""

    def send(method, path, body=None, headers=None):
        connection = SiteConnection(address)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    return send


# ---- Slow clients -------------------------------------------------------------------------------
# Each waits out an Nginx timeout (60 s unless the config says otherwise), so they start together at
# the beginning of the session, in the background, and test_slow_clients.py collects their results:
# the scenario pays the wait once, while the other tests run.

CLOSED = (ConnectionError, ssl.SSLError, OSError)


def nginx_timeout(target, directive):
    """Seconds of an Nginx timeout as the running config sets it (the largest value when several
    contexts set it), else Nginx's built-in default of 60 s."""
    config = target.check_output("nginx -T 2>/dev/null")
    units = {"ms": 0.001, "s": 1, "": 1, "m": 60}
    values = [int(number) * units[unit]
              for number, unit in re.findall(rf"^\s*{directive}\s+(\d+)(ms|s|m)?\s*;", config, re.MULTILINE)]
    return max(values, default=60)


@dataclass
class Outcome:
    """How the server ended a slow client's connection."""

    elapsed: float = None  # seconds until the server closed (see the clients for the start)
    answer: bytes = b""  # whatever the server sent before closing
    ending: str = "still open"  # eof | reset | still open
    sent_lines: int = 0
    notes: list = field(default_factory=list)

    @property
    def status(self):
        match = re.match(rb"HTTP/1\.1 (\d{3})", self.answer)
        return int(match[1]) if match else None


def _open(address):
    sock = socket.create_connection((address, 443), timeout=15)
    return tls_context().wrap_socket(sock, server_hostname=SERVER_NAME)


def _wait_for_close(sock, started, outcome, limit):
    """Read until the server closes the connection or `limit` seconds pass since `started`."""
    while True:
        remaining = limit - (time.monotonic() - started)
        if remaining <= 0:
            return outcome
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return outcome
        except CLOSED as error:
            outcome.elapsed, outcome.ending = time.monotonic() - started, "reset"
            outcome.notes.append(type(error).__name__)
            return outcome
        if not chunk:
            outcome.elapsed, outcome.ending = time.monotonic() - started, "eof"
            return outcome
        outcome.answer += chunk


# Nginx arms client_header_timeout when it accepts the connection and does not re-arm it while the
# header arrives, so the header clients count from before they connect; the body timer restarts on
# every read, so the body client counts from its last byte.
def stall_in_header(address, limit):
    """Half a request header, then nothing."""
    started, outcome = time.monotonic(), Outcome()
    with _open(address) as sock:
        sock.sendall(f"GET /sync-api/hello HTTP/1.1\r\nHost: {SERVER_NAME}\r\n".encode())
        return _wait_for_close(sock, started, outcome, limit)


def trickle_header(address, limit, interval=5):
    """A header that never ends: one more header line every `interval` seconds (slowloris)."""
    started, outcome = time.monotonic(), Outcome()
    with _open(address) as sock:
        sock.sendall(f"GET /async-api/hello HTTP/1.1\r\nHost: {SERVER_NAME}\r\n".encode())
        while time.monotonic() - started < limit:
            _wait_for_close(sock, time.monotonic(), outcome, interval)
            if outcome.ending != "still open":
                outcome.elapsed = time.monotonic() - started
                return outcome
            try:
                sock.sendall(f"X-Slow-{outcome.sent_lines}: x\r\n".encode())
                outcome.sent_lines += 1
            except CLOSED as error:
                outcome.elapsed, outcome.ending = time.monotonic() - started, "reset"
                outcome.notes.append(type(error).__name__)
                return outcome
        return outcome


def stall_in_body(address, limit):
    """Complete headers announcing a 1000-byte JSON body, 10 bytes of it, then nothing."""
    outcome = Outcome()
    with _open(address) as sock:
        sock.sendall(f"POST /sync-api/hello HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\": \"xx".encode())
        return _wait_for_close(sock, time.monotonic(), outcome, limit)


@dataclass
class SlowClients:
    header_timeout: float
    body_timeout: float
    futures: dict

    @staticmethod
    def margin(timeout):
        """Generous: the host shares two cores with other scenarios."""
        return max(15.0, timeout * 0.5)


@pytest.fixture(scope="session", autouse=True)
def slow_clients(address, target):
    header_timeout = nginx_timeout(target, "client_header_timeout")
    body_timeout = nginx_timeout(target, "client_body_timeout")
    limit = max(header_timeout, body_timeout) + 60
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="slow-client")
    futures = {
        "header stalled": pool.submit(stall_in_header, address, limit),
        "header trickled": pool.submit(trickle_header, address, limit),
        "body stalled": pool.submit(stall_in_body, address, limit),
    }
    yield SlowClients(header_timeout, body_timeout, futures)
    pool.shutdown(wait=True)
