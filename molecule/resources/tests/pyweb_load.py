"""Bounded HTTP load from the controller, for tests that must prove nothing fails while they act.

Why it exists: the resilience scenario has to show that deploys, reloads and faults cost no request
under real concurrent load, which curl loops on the host cannot produce. This module keeps a few
keep-alive TLS connections to a test host (by address, with SNI and Host set to a name the site
serves, since the default server rejects unknown SNI) and records every request's outcome: when it
started, its latency, its status or its socket error class, and optionally a tag taken from the
body (the app version that answered, say).

    with Load("172.17.0.5", "pyweb.test", "/sync-api/hello", rate=200, connections=8) as load:
        do_something()
    result = load.result            # a Result: counts, failures, percentiles, windows

    peak = run_load("172.17.0.5", "pyweb.test", "/sync-api/hello", duration=5)   # unpaced

A paced run issues `rate` requests a second in total, on a fixed schedule (each worker thread takes
the next slot); an unpaced run (rate=None) sends as fast as the connections allow. Every run is
bounded by `duration` (a background run also stops when its block ends).

Connection reuse follows what HTTP clients do (urllib3, browsers, RFC 9112 section 9.3.1): a kept-alive
connection the server has already closed is noticed before it is reused, and a request that meets
a close on a reused connection before any byte of a response arrived is sent again once on a new
connection. Such retries are counted (Result.stale_retries) and reported, never hidden: a request
that fails on a fresh connection, or after response bytes arrived, is a failure.
"""

import http.client
import select
import socket
import ssl
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Record:
    """One request: start time (time.monotonic()), latency in seconds, status (0 when no response
    arrived), error class name ("" when a response arrived) and the tag of its body."""

    started: float
    latency: float
    status: int
    error: str = ""
    tag: object = None

    @property
    def ok(self):
        return not self.error and 200 <= self.status < 300


@dataclass
class Result:
    records: list = field(default_factory=list)
    stale_retries: int = 0
    started: float = 0.0
    ended: float = 0.0

    def window(self, start=None, end=None):
        """The requests that started within [start, end) (time.monotonic() values)."""
        start = self.started if start is None else start
        end = self.ended if end is None else end
        return Result([r for r in self.records if start <= r.started < end], started=start, ended=end)

    @property
    def failures(self):
        return [r for r in self.records if not r.ok]

    @property
    def rate(self):
        """Requests completed per second over the run."""
        return len(self.records) / max(self.ended - self.started, 1e-9)

    def percentile(self, pct):
        """Latency percentile (0-100) of every request, in milliseconds."""
        latencies = sorted(r.latency for r in self.records)
        if not latencies:
            return 0.0
        if len(latencies) == 1:
            return latencies[0] * 1000
        return statistics.quantiles(latencies, n=100, method="inclusive")[min(max(int(pct), 1), 99) - 1] * 1000

    def outcomes(self):
        """Counts by outcome: status codes as strings, error class names."""
        counts = {}
        for record in self.records:
            key = record.error or str(record.status)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def tags(self):
        """Counts of the tags of successful responses."""
        counts = {}
        for record in self.records:
            if record.ok:
                counts[record.tag] = counts.get(record.tag, 0) + 1
        return counts

    def summary(self):
        return (f"{len(self.records)} requests in {self.ended - self.started:.1f} s ({self.rate:.0f} req/s), "
                f"failed {len(self.failures)}, p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms, "
                f"outcomes {self.outcomes()}, stale keep-alive retries {self.stale_retries}")


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an address with the TLS server name (SNI) and Host of the site, not the address."""

    def __init__(self, address, port, server_name, context, timeout):
        super().__init__(address, port, timeout=timeout, context=context)
        self._server_name = server_name
        self._ssl_context = context

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self._server_name)

    def dropped(self):
        """True when the server has closed this idle connection (readable with nothing pending is EOF)."""
        if self.sock is None:
            return False
        if self.sock.pending():
            return True
        readable, _unused, _unused = select.select([self.sock], [], [], 0)
        return bool(readable)


class Load:
    """A load run in background threads; use as a context manager, then read `.result`.

    address, port: where to connect (a container's address); server_name: SNI and Host header;
    path: what to GET; rate: requests per second in total (None: unpaced); duration: upper bound
    in seconds; connections: parallel keep-alive connections; timeout: per request, seconds;
    tag: optional function of the body (bytes) of a 2xx response, stored on its record.
    """

    def __init__(self, address, server_name, path, rate=None, duration=60.0, connections=8, port=443,
                 timeout=30.0, tag=None):
        self.address, self.port, self.server_name, self.path = address, port, server_name, path
        self.rate, self.duration, self.connections, self.timeout, self.tag = rate, duration, connections, timeout, tag
        self.result = Result()
        self._context = ssl.create_default_context()
        # The test host's certificate is self-signed; the tests check TLS elsewhere.
        self._context.check_hostname = False
        self._context.verify_mode = ssl.CERT_NONE
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._slot = 0
        self._threads = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self.result.started = time.monotonic()
        self._deadline = self.result.started + self.duration
        self._threads = [threading.Thread(target=self._worker, daemon=True) for _unused in range(self.connections)]
        for thread in self._threads:
            thread.start()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.result.ended = min(time.monotonic(), self._deadline)
        self.result.records.sort(key=lambda r: r.started)
        return self.result

    def wait(self):
        """Block until the run's duration is over, then stop it."""
        self._stop.wait(max(self._deadline - time.monotonic(), 0))
        return self.stop()

    def _next_start(self):
        """When this worker sends its next request, or None when the run is over."""
        if self.rate is None:
            now = time.monotonic()
            return None if self._stop.is_set() or now >= self._deadline else now
        with self._lock:
            at = self.result.started + self._slot / self.rate
            self._slot += 1
        if at >= self._deadline:
            return None
        # Sleep until the slot, waking early only to stop.
        if self._stop.wait(max(at - time.monotonic(), 0)):
            return None
        return at

    def _connection(self):
        return _Connection(self.address, self.port, self.server_name, self._context, self.timeout)

    def _worker(self):
        conn = self._connection()
        while self._next_start() is not None:
            started = time.monotonic()
            record, conn = self._request(conn, started)
            with self._lock:
                self.result.records.append(record)
        conn.close()

    def _request(self, conn, started):
        reused = conn.sock is not None
        if reused and conn.dropped():
            conn.close()
            reused = False
        try:
            conn.request("GET", self.path, headers={"Host": self.server_name, "Connection": "keep-alive"})
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            conn.close()
            if not reused:
                return self._failed(started, exc), conn
            # The server closed a kept-alive connection as this request went out: no response byte
            # arrived, so, as any HTTP client does for a GET, send it again on a new connection.
            with self._lock:
                self.result.stale_retries += 1
            return self._request(conn, started)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return self._failed(started, exc), conn
        try:
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return self._failed(started, exc), conn
        latency = time.monotonic() - started
        tag = None
        if self.tag is not None and 200 <= response.status < 300:
            try:
                tag = self.tag(body)
            except ValueError:
                tag = "untaggable"
        if response.will_close:
            conn.close()
        return Record(started, latency, response.status, "", tag), conn

    @staticmethod
    def _failed(started, exc):
        return Record(started, time.monotonic() - started, 0, type(exc).__name__)


def run_load(address, server_name, path, duration, rate=None, connections=8, **kwargs):
    """Run a load in the foreground for `duration` seconds and return its Result."""
    load = Load(address, server_name, path, rate=rate, duration=duration, connections=connections, **kwargs)
    load.start()
    return load.wait()


def request(address, server_name, path, port=443, timeout=30.0, headers=None):
    """One GET on a new connection: (status, headers as a lower-cased dict, body bytes, seconds).
    ``headers``: more request headers."""
    load = Load(address, server_name, path, port=port, timeout=timeout)
    conn = load._connection()
    started = time.monotonic()
    try:
        conn.request("GET", path, headers={"Host": server_name, **(headers or {})})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body, time.monotonic() - started
    finally:
        conn.close()
