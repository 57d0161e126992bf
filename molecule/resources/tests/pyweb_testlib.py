"""Helpers shared by the Molecule scenarios' testinfra suites.

The verifier puts this directory on PYTHONPATH (.config/molecule/config.yml), so a scenario's
conftest or test module can `from pyweb_testlib import ...`.
"""

import base64
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[3]

# scripts/lanes.sh sets PYWEB_RELEASE_REPEAT=1 when the same call also runs this scenario on the
# default Debian release. A test whose outcome cannot depend on the host's release (a variable
# refused on the controller, the collection's packaging) then runs once, on the default release.
RELEASE_REPEAT = os.environ.get("PYWEB_RELEASE_REPEAT") == "1"
release_independent = pytest.mark.skipif(RELEASE_REPEAT,
                                         reason="does not depend on the host's release; ran on the default release")


def named_host(name):
    """A testinfra host for one instance of the running scenario, by inventory name."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


def versioned_copy(src, dest, version, code_file="app.py"):
    """A copy of an app's source tree at dest with `VERSION = "1"` in code_file set to version: a
    new release of the same app. Returns dest."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    code = (dest / code_file).read_text()
    (dest / code_file).write_text(re.sub(r'^VERSION = "1"$', f'VERSION = "{version}"', code, count=1, flags=re.M))
    return dest


def wait_for(predicate, timeout=30, interval=0.5):
    """Call predicate until it returns something truthy or timeout seconds pass; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def playbook_command(playbook, extra_vars=None, args=(), inventory=None):
    """The command line and environment that run a playbook (a path, or a name under playbooks/)
    against the scenario's inventory (or another one), and the JSON file of extra vars it reads (its own per run:
    runs may go on at the same time, as in test_bad_variables.py), which the caller removes."""
    path = Path(playbook) if Path(playbook).is_absolute() else ROOT / "playbooks" / playbook
    ephemeral = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"))
    with tempfile.NamedTemporaryFile("w", dir=ephemeral, prefix="pyweb-extra-vars-", suffix=".json",
                                     delete=False) as handle:
        json.dump(extra_vars or {}, handle)
    vars_file = Path(handle.name)
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="True")
    cmd = ["ansible-playbook", "--inventory", str(inventory or os.environ["MOLECULE_INVENTORY_FILE"]),
           "--extra-vars", f"@{vars_file}", *args, str(path)]
    return cmd, env, vars_file


def run_playbook(playbook, extra_vars=None, expect_success=True, args=(), inventory=None):
    """Run a playbook against the scenario's inventory with extra vars (playbook_command); assert it
    succeeded (or failed, with expect_success=False) and return stdout + stderr, since ansible-core
    2.19 prints task failures on stderr."""
    cmd, env, vars_file = playbook_command(playbook, extra_vars, args, inventory)
    started = time.monotonic()
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    finally:
        vars_file.unlink()
    output = result.stdout + result.stderr
    keep_log(playbook, time.monotonic() - started, output)
    assert (result.returncode == 0) == expect_success, (
        f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return output


def keep_log(playbook, seconds, output):
    """With PYWEB_PLAYBOOK_LOGS set to a directory, keep each run's output there, named after the
    test that ran it, with its wall time: where a scenario's time goes, run by run."""
    directory = os.environ.get("PYWEB_PLAYBOOK_LOGS")
    if not directory:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0].replace("/", "_").replace("::", "-")
    path = Path(directory) / f"{time.strftime('%H%M%S')}-{seconds:06.1f}s-{Path(str(playbook)).stem}-{test[:150]}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(output)


def bridge_address(container):
    """A container's address on the engine's bridge network, reachable from the controller."""
    result = subprocess.run(
        ["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container],
        capture_output=True, text=True, check=True)
    return result.stdout.split()[0]


# An HTTP client for the test host made of Python's standard library only, so tests run on
# minimal hosts without curl (the apps scenario removes it). It does not follow redirects.
_HOST_HTTP = r"""
import http.client, json, socket, ssl, sys
req = json.loads(sys.argv[1])

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.unix_path)

if req.get("socket"):
    conn = UnixConnection(req["socket"])
elif req.get("https"):
    # By name, so that TLS sends it (SNI): Nginx refuses handshakes for names it does not serve.
    conn = http.client.HTTPSConnection("localhost", 443, timeout=10, context=ssl._create_unverified_context())
else:
    conn = http.client.HTTPConnection("127.0.0.1", req.get("port") or 80, timeout=10)
headers = dict(req.get("headers") or {})
headers.setdefault("Host", "localhost")
body = req.get("body")
conn.request(req.get("method", "GET"), req["path"], body=body.encode() if body is not None else None, headers=headers)
resp = conn.getresponse()
print(json.dumps({"status": resp.status, "headers": {k.lower(): v for k, v in resp.getheaders()},
                  "body": resp.read().decode("utf-8", "replace")}))
"""


def host_http(host, path, socket=None, https=False, method="GET", body=None, headers=None, port=None):
    """Send one request from inside the test host: to a unix socket, or to 127.0.0.1 (Nginx's 80,
    https=True for 443, or another port). Returns {"status", "headers" (lower-case names), "body"}."""
    request = {"path": path, "socket": socket, "https": https, "method": method, "body": body, "headers": headers,
               "port": port}
    cmd = host.run("python3 -c %s %s", _HOST_HTTP, json.dumps(request))
    assert cmd.rc == 0, f"request {method} {path} failed on the host: {cmd.stderr}"
    return json.loads(cmd.stdout)


def unit_environment(host, unit):
    """What a service's processes get from its EnvironmentFile= lines, as systemd itself parses
    them (a transient unit reading the same files). /proc/<pid>/environ cannot tell: setproctitle
    writes Gunicorn's process titles over it."""
    files = host.check_output(f"systemctl show --property EnvironmentFiles --value {unit}").splitlines()
    properties = " ".join(f"--property EnvironmentFile={line.split()[0]}" for line in files if line.strip())
    raw = host.check_output(f"systemd-run --quiet --wait --pipe {properties} /usr/bin/env -0 | base64 --wrap 0")
    entries = base64.b64decode(raw).decode("utf-8").split("\0")
    return dict(entry.split("=", 1) for entry in entries if entry)


def websocket_handshake(address, path, message=None):
    """Open a WebSocket over TLS to Nginx at address:443; return (status line, echoed text or None)."""
    context = ssl._create_unverified_context()
    with socket.create_connection((address, 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as conn:
        key = base64.b64encode(os.urandom(16)).decode()
        conn.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
        status = head.split(b"\r\n", 1)[0].decode()
        if " 101 " not in status or message is None:
            return status, None
        payload = message.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        conn.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)
        frame = head.split(b"\r\n\r\n", 1)[1]
        while len(frame) < 2 or len(frame) < 2 + (frame[1] & 0x7F):
            frame += conn.recv(4096)
        return status, frame[2:2 + (frame[1] & 0x7F)].decode()
