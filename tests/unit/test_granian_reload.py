"""roles/gunicorn/files/pyweb-granian-reload, the ExecReload= of Granian units: it must return only
once every worker that ran before the SIGHUP is gone and as many run again, and fail when the
master exits. A small Python "master" stands in for Granian: on SIGHUP it replaces its children
one at a time, or (--die) exits."""

import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT

SCRIPT = ROOT / "roles/gunicorn/files/pyweb-granian-reload"
MASTER = r"""
import os, signal, subprocess, sys, time
die = "--die" in sys.argv
workers = [subprocess.Popen(["sleep", "300"]) for _ in range(2)]
hup = []
signal.signal(signal.SIGHUP, lambda *_: hup.append(1))
print("ready", flush=True)
while True:
    if hup:
        if die:
            sys.exit(1)
        hup.clear()
        for index, old in enumerate(list(workers)):
            workers[index] = subprocess.Popen(["sleep", "300"])
            time.sleep(0.5)
            old.terminate()
            old.wait()
    time.sleep(0.05)
"""


@pytest.fixture
def master():
    processes = []

    def start(*args):
        process = subprocess.Popen([sys.executable, "-c", MASTER, *args], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        processes.append(process)
        return process

    yield start
    for process in processes:
        subprocess.run(["pkill", "--parent", str(process.pid)], check=False)
        process.kill()
        process.wait()


def children(pid):
    out = subprocess.run(["pgrep", "--parent", str(pid)], capture_output=True, check=False, text=True).stdout
    return {int(child) for child in out.split()}


def test_returns_once_every_old_worker_is_replaced(master):
    process = master()
    old = children(process.pid)
    started = time.monotonic()
    result = subprocess.run([str(SCRIPT), str(process.pid), "20"], capture_output=True, check=False, text=True)
    assert result.returncode == 0, result.stderr
    # Two workers, half a second each: it waited for the swap, not just for the signal.
    assert time.monotonic() - started >= 0.9
    new = children(process.pid)
    assert len(new) == 2 and not new & old


def test_fails_when_the_master_exits_during_the_reload(master):
    process = master("--die")
    result = subprocess.run([str(SCRIPT), str(process.pid), "20"], capture_output=True, check=False, text=True)
    assert result.returncode == 1
    assert "exited during the reload" in result.stderr


def test_refuses_a_process_without_workers():
    with subprocess.Popen(["sleep", "30"]) as lone:
        result = subprocess.run([str(SCRIPT), str(lone.pid), "5"], capture_output=True, check=False, text=True)
        lone.kill()
    assert result.returncode == 1 and "has no workers" in result.stderr


@pytest.mark.parametrize("script", ["pyweb-granian-reload", "pyweb-granian-check", "pyweb-granian-listening"])
@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_the_helpers_pass_shellcheck(script):
    result = subprocess.run(["shellcheck", "-S", "warning", str(ROOT / "roles/gunicorn/files" / script)],
                            capture_output=True, check=False, text=True)
    assert result.returncode == 0, result.stdout
