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


@pytest.fixture
def http(host):
    """GET (or other method) a URL from inside the host with curl, through the real Nginx."""

    def request(url, *curl_args):
        marker = "\n--pyweb-status--"
        cmd = host.run(
            "curl -ksS --max-time 10 --dump-header /dev/stderr %s -w %s %s",
            " ".join(curl_args), f"{marker}%{{http_code}}", url,
        )
        assert marker in cmd.stdout, f"curl {url} failed: {cmd.stderr}"
        body, status = cmd.stdout.rsplit(marker, 1)
        headers = {}
        for line in cmd.stderr.splitlines():
            name, sep, value = line.partition(":")
            if sep and not line.startswith("curl:"):
                headers[name.strip().lower()] = value.strip()
        return Response(int(status), headers, body)

    return request
