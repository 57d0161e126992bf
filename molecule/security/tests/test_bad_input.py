"""Bad input from a remote client, over real TCP and TLS from the controller: oversized bodies,
unknown names and a request flood. Each answer is what the demo settings promise (413 and 429 as
JSON, 444 as a silent close, a refused handshake), and the flood leaves the other routes serving.
Slow clients are in test_slow_clients.py."""

import http.client
import json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import SERVER_NAME, SiteConnection, record, tls_context

# Larger than the demo routes' client_max_body_size (1m).
BIG_BODY = b'{"pad": "' + b"x" * 2_000_000 + b'"}'


@pytest.mark.parametrize("app", ["sync-api", "async-api"])
def test_oversized_body_gets_json_413(request_site, app):
    started = time.monotonic()
    status, headers, body = request_site("POST", f"/{app}/hello", body=BIG_BODY,
                                         headers={"Content-Type": "application/json"})
    record("oversized body", app, {"status": status, "seconds": round(time.monotonic() - started, 3),
                                   "body_bytes_sent": len(BIG_BODY)})
    assert status == 413
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["error"] == "request_entity_too_large"
    assert answer["status"] == 413


def read_until_closed(sock):
    """Everything the server sends until it closes; a reset counts as a close."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionError, ssl.SSLError):
        pass
    return data


@pytest.mark.parametrize("host_header", ["unknown.example", None], ids=["unknown", "missing"])
def test_unknown_host_over_http_is_closed_without_an_answer(address, host_header):
    with socket.create_connection((address, 80), timeout=10) as sock:
        # HTTP/1.0 allows a request without Host; either way no site claims it.
        head = f"Host: {host_header}\r\n" if host_header else ""
        sock.sendall(f"GET / HTTP/1.0\r\n{head}\r\n".encode())
        started = time.monotonic()
        answer = read_until_closed(sock)
    record("unknown names", f"http host {host_header}", {"answer_bytes": len(answer),
                                                         "closed_after_s": round(time.monotonic() - started, 3)})
    assert answer == b""


def test_unknown_host_inside_a_known_sni_is_closed_without_an_answer(address):
    # The handshake names the site, the request another name: Nginx's catch-all answers 444.
    with tls_context().wrap_socket(socket.create_connection((address, 443), timeout=10),
                                   server_hostname=SERVER_NAME) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: unknown.example\r\n\r\n")
        answer = read_until_closed(sock)
    record("unknown names", "https host unknown.example with site SNI", {"answer_bytes": len(answer)})
    assert answer == b""


@pytest.mark.parametrize("sni", ["unknown.example", None], ids=["unknown", "missing"])
def test_unknown_or_missing_sni_is_refused_in_the_handshake(address, sni):
    with socket.create_connection((address, 443), timeout=10) as raw:
        with pytest.raises(ssl.SSLError) as refused:
            tls_context().wrap_socket(raw, server_hostname=sni)
    record("unknown names", f"tls sni {sni}", {"handshake": refused.value.reason or str(refused.value)})
    # The server sends an alert (unrecognized_name) rather than a certificate.
    assert "ALERT" in str(refused.value).upper() or "UNRECOGNIZED_NAME" in str(refused.value).upper()


def flood_worker(address, path, count, results):
    """`count` requests on one keep-alive connection (re-opened if the server closes it)."""
    connection = SiteConnection(address)
    try:
        for _unused in range(count):
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                results.append((response.status, response.getheader("Content-Type"), body))
            except (OSError, http.client.HTTPException) as error:
                results.append((None, None, repr(error).encode()))
                connection.close()
    finally:
        connection.close()


def probe_until(address, path, stop, results):
    """GET `path` on a fresh connection every 100 ms until `stop` is set."""
    while not stop.is_set():
        connection = SiteConnection(address)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            results.append(response.status)
        except (OSError, http.client.HTTPException) as error:
            results.append(repr(error))
        finally:
            connection.close()
        time.sleep(0.1)


def test_flood_past_the_rate_limit_gets_json_429_while_other_routes_keep_answering(address, request_site):
    # The demo zone allows 50 r/s per client with a burst of 100: 20 connections x 40 requests as
    # fast as they go is far more.
    flood, probes = [], {"/static/index.html": [], "/nginx-health": []}
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=22) as pool:
        watchers = [pool.submit(probe_until, address, path, stop, results) for path, results in probes.items()]
        time.sleep(0.3)
        started = time.monotonic()
        workers = [pool.submit(flood_worker, address, "/async-api/healthz", 40, flood) for _unused in range(20)]
        for worker in workers:
            worker.result()
        seconds = time.monotonic() - started
        stop.set()
        for watcher in watchers:
            watcher.result()
    statuses = [status for status, _unused, _unused in flood]
    record("flood", "async-api/healthz", {
        "requests": len(flood), "seconds": round(seconds, 2), "200": statuses.count(200),
        "429": statuses.count(429), "other": len(flood) - statuses.count(200) - statuses.count(429),
        "probes": {path: {"requests": len(results), "200": results.count(200)} for path, results in probes.items()},
    })

    assert set(statuses) <= {200, 429}, [entry for entry in flood if entry[0] not in (200, 429)][:3]
    # At least the burst passes, and at least a quarter is refused.
    assert statuses.count(200) >= 100
    assert statuses.count(429) >= len(flood) // 4
    for status, content_type, body in flood:
        if status == 429:
            assert content_type == "application/json"
            assert json.loads(body)["error"] == "too_many_requests"
    # Routes without the limit kept answering all through the flood.
    for path, results in probes.items():
        assert len(results) >= 3, (path, results)
        assert set(results) == {200}, (path, results)

    # The bucket drains at 50 r/s: the limited route answers again shortly after.
    time.sleep(3)
    assert request_site("GET", "/async-api/healthz")[0] == 200
