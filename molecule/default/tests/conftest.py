"""Fixtures for the full-stack scenario: real HTTP through Nginx on the test host."""

import json
from dataclasses import dataclass

import pytest


@dataclass
class Response:
    status: int
    headers: dict
    body: str

    def json(self):
        return json.loads(self.body)


def parse_curl_include(raw: str) -> Response:
    """Split `curl -i` output into status, headers and body (interim 1xx blocks skipped)."""
    while True:
        head, _unused, raw = raw.partition("\r\n\r\n")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        if status >= 200:
            break
    headers = {}
    for line in lines[1:]:
        name, _unused, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(status, headers, raw)


@pytest.fixture
def http(host):
    """Request a URL from inside the host with curl, through the real Nginx; extra curl args allowed."""

    def request(url, *curl_args):
        placeholders = " ".join(["%s"] * (len(curl_args) + 1))
        cmd = host.run(f"curl -ksS -i --max-time 10 {placeholders}", *curl_args, url)
        assert cmd.rc == 0, f"curl {url} failed: {cmd.stderr}"
        return parse_curl_include(cmd.stdout)

    return request
