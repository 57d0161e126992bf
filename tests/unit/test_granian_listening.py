"""roles/gunicorn/files/pyweb-granian-listening: a Granian unit on TCP is started only once its own
process listens on its port, never when another process holds it."""

import socket
import subprocess
import sys
import time

from conftest import ROOT

SCRIPT = ROOT / "roles/gunicorn/files/pyweb-granian-listening"
LISTENER = "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); " \
           "print(s.getsockname()[1], flush=True); time.sleep(60)"


def listener():
    """A process listening on a free loopback port: (process, port)."""
    proc = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline())


def check(pid, port, timeout=2):
    return subprocess.run(["bash", str(SCRIPT), str(pid), str(port), str(timeout)],
                          capture_output=True, text=True, check=False)


def test_the_server_listening_on_its_port_passes():
    proc, port = listener()
    try:
        assert check(proc.pid, port).returncode == 0
    finally:
        proc.kill()


def test_a_port_another_process_holds_fails_and_names_it():
    holder, port = listener()
    server = subprocess.Popen(["sleep", "60"])
    try:
        started = time.monotonic()
        done = check(server.pid, port)
        assert done.returncode == 1 and time.monotonic() - started >= 1
        assert f"does not listen on port {port} after 2s (process {holder.pid} python" in done.stderr
    finally:
        holder.kill()
        server.kill()


def test_a_server_that_exits_fails_at_once():
    server = subprocess.Popen(["sleep", "0.3"])
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = check(server.pid, port, timeout=20)
    server.wait()
    assert done.returncode == 1 and "exited before it listened" in done.stderr


def test_bad_arguments_are_refused():
    assert check("x", 80).returncode == 2


def test_a_server_already_gone_fails_at_once_and_names_who_holds_the_port():
    """The pid is read while processes come and go: a vanished one must end the wait with the
    message, never kill the helper (reading a vanished /proc entry by command substitution ends
    a `set -e` script; the reload helper had the same read)."""
    holder, port = listener()
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        done = check(gone.pid, port, timeout=20)
        assert done.returncode == 1, done.stderr
        assert f"exited before it listened on port {port} (process {holder.pid} python" in done.stderr, done.stderr
    finally:
        holder.kill()


def test_no_helper_reads_proc_in_a_way_that_ends_it():
    for name in ("pyweb-granian-listening", "pyweb-granian-reload"):
        assert "$(<" not in (ROOT / "roles/gunicorn/files" / name).read_text(), name
