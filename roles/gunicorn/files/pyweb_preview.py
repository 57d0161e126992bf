"""Run a release before it goes live and ask its health path: the preview of a deploy.

The server (Gunicorn or Granian, from the release's own virtualenv) starts in a transient unit with
the systemd-run options it is given (the app's user, environment and secrets files, sandbox: what
the service runs with), one worker, bound to a unix socket in the unit's own runtime directory,
where no client but this script can reach it. The script asks the health path over that socket
until it answers 2xx, the server exits or the time runs out, then stops the unit. A release that
answers anything else never becomes `current`, so it never answers a client.

    pyweb-preview [--config CONFIG --chdir RELEASE] UNIT HEALTH_PATH SECONDS
                  [systemd-run option...] -- SERVER_ARGV...

The unit's runtime directory is /run/UNIT. In SERVER_ARGV, {socket} stands for the preview's socket and {config} for the copy of CONFIG that
--config/--chdir make: Gunicorn's config with `chdir` set to the new release (the live file's
`current` still names the previous one, or nothing on a first deploy) and no `when_ready` hook
(the metrics listener is the live service's). Exit status 0: it answered 2xx; 1: it did not (the
last answer and the unit's journal follow on stdout); 2: bad arguments.
"""

import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

USAGE = ("usage: pyweb-preview [--config CONFIG --chdir RELEASE] UNIT HEALTH_PATH SECONDS "
         "[systemd-run option...] -- SERVER_ARGV...")
UNIT = re.compile(r"^[A-Za-z0-9:_.-]+$")
RELEASE = re.compile(r"^/[A-Za-z0-9._/-]+$")
SOCKET_NAME = "preview.sock"
RUN_DIR = "/run"  # systemd's RuntimeDirectory= root for system units


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the host may have no curl; Python is there for Ansible)."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def ask(path, health_path):
    """(status, first bytes of the body) of one GET, or (0, the error) when none arrived."""
    connection = UnixHTTPConnection(path, timeout=5)
    try:
        connection.request("GET", health_path, headers={"Host": "localhost"})
        response = connection.getresponse()
        return response.status, response.read(200).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        return 0, f"{type(error).__name__}: {error}"
    finally:
        connection.close()


def systemctl(*args):
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)


def parse(argv):
    config = release = None
    while argv[:1] and argv[0] in ("--config", "--chdir"):
        if len(argv) < 2:
            raise ValueError(f"{argv[0]} needs a value")
        if argv[0] == "--config":
            config = argv[1]
        else:
            release = argv[1]
        argv = argv[2:]
    if (config is None) != (release is None):
        raise ValueError("--config and --chdir go together")
    if release is not None and not RELEASE.match(release):
        raise ValueError(f"--chdir: not a release path: {release}")
    if "--" not in argv or len(argv[:argv.index("--")]) < 3:
        raise ValueError("UNIT, HEALTH_PATH, SECONDS and -- SERVER_ARGV are required")
    split = argv.index("--")
    unit, health_path, seconds = argv[:3]
    options, server = argv[3:split], argv[split + 1:]
    if not UNIT.match(unit) or not health_path.startswith("/") or not seconds.isdigit() or not server:
        raise ValueError("bad UNIT, HEALTH_PATH (starts with /), SECONDS (a number) or SERVER_ARGV")
    return config, release, unit, health_path, int(seconds), options, server


def gunicorn_copy(config, release, directory):
    """The live config with the new release's directory and without the metrics listener."""
    path = os.path.join(directory, "gunicorn.conf.py")
    with open(config, encoding="utf-8") as source, open(path, "w", encoding="utf-8") as copy:
        copy.write(source.read())
        copy.write("\n# pyweb-preview: the release being previewed; the live service serves the metrics.\n")
        copy.write(f"chdir = {release!r}\n")
        copy.write("when_ready = lambda server: None\n")
    os.chmod(path, 0o644)
    return path


def journal(invocation):
    if not invocation:
        return []
    out = subprocess.run(["journalctl", f"_SYSTEMD_INVOCATION_ID={invocation}", "--lines", "40", "--no-pager",
                          "--output", "short-iso"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()


def preview(config, release, unit, health_path, seconds, options, server):
    service = f"{unit}.service"
    # One left by an interrupted run (--collect removes it once it stops).
    systemctl("stop", service)
    systemctl("reset-failed", service)
    sock = os.path.join(RUN_DIR, unit, SOCKET_NAME)
    with tempfile.TemporaryDirectory(prefix="pyweb-preview.", dir=RUN_DIR) as directory:
        os.chmod(directory, 0o755)
        copy = gunicorn_copy(config, release, directory) if config else ""
        argv = [arg.replace("{socket}", sock).replace("{config}", copy) for arg in server]
        started = subprocess.run(
            ["systemd-run", "--quiet", "--collect", f"--unit={service}", "--service-type=exec",
             f"--property=RuntimeDirectory={unit}", f"--property=RuntimeMaxSec={seconds + 60}",
             *options, *argv],
            capture_output=True, text=True, check=False)
        if started.returncode != 0:
            print(f"systemd-run could not start the preview: {started.stderr.strip()}")
            return 1
        invocation = systemctl("show", "--property=InvocationID", "--value", service).stdout.strip()
        status, detail = 0, "no answer yet"
        deadline = time.monotonic() + seconds
        try:
            while True:
                if os.path.exists(sock):
                    status, detail = ask(sock, health_path)
                    if 200 <= status < 300:
                        return 0
                state = systemctl("show", "--property=ActiveState", "--value", service).stdout.strip()
                if state not in ("active", "activating", "reloading"):
                    detail = f"{detail} (the server exited: {state or 'gone'})"
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.5)
        finally:
            systemctl("stop", service)
    print(f"Last answer: {status or 'none'} {' '.join(detail.split())[:200]}")
    print(f"journalctl _SYSTEMD_INVOCATION_ID={invocation} ({service}):")
    for line in journal(invocation):
        print(line)
    return 1


def main(argv):
    try:
        args = parse(argv)
    except ValueError as error:
        print(f"{error}\n{USAGE}", file=sys.stderr)
        return 2
    return preview(*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
