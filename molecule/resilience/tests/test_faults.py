"""Faults (issues 7 and 3), each under light paced load on /sync-api/hello from the controller: a
killed worker, a killed master, a restart behind the socket unit, a backend slower than its timeout.

Why it exists: Gunicorn's master, systemd's Restart= and the socket unit are what keep requests
alive when something dies; these tests kill things for real and count what the clients saw.
"""

import json
import time

from conftest import (SERVER_NAME, Load, master_pid, report, request, sh, wait_for,
                      worker_pids)

PATH = "/sync-api/hello"
RATE = 40
# Nginx's read_timeout of /slow-sync/ (molecule/resilience/group_vars/all/proxy.yml) and a sleep
# beyond it; the margin allows for a busy 2-vCPU machine.
SLOW_TIMEOUT = 2.0
SLOW_PATH = "/slow-sync/io?ms=3000"
MARGIN = 3.0
# Lines of Nginx's error log that mean a connection to the backend was refused or not possible.
REFUSED = ("connect() to", "Connection refused", "No such file or directory", "no live upstreams")


def light_load(address):
    return Load(address, SERVER_NAME, PATH, rate=RATE, duration=120, connections=4)


def refused(lines):
    return [line for line in lines if any(marker in line for marker in REFUSED)]


def test_a_killed_worker_is_respawned_and_serving_goes_on(address, nginx_errors):
    master, workers = master_pid(), worker_pids()
    victim = min(workers)

    def replaced_all():
        now = worker_pids()
        return victim not in now and len(now) == len(workers)

    with light_load(address) as load:
        time.sleep(3)
        killed = time.monotonic()
        sh("kill", "-9", str(victim))
        replaced = wait_for(replaced_all, timeout=30, interval=0.2)
        respawned = time.monotonic()
        time.sleep(5)
    result = load.result
    after = result.window(respawned)
    report("worker_kill", f"{result.summary()}; respawned within {respawned - killed:.1f} s")
    report("worker_kill_failed_requests", len(result.failures))

    assert replaced, f"worker {victim} was not replaced: workers now {worker_pids()}"
    assert master_pid() == master, "killing a worker must not replace the master"
    assert after.records and after.failures == [], f"failures after the respawn: {after.outcomes()}"
    # Only requests that were inside the killed worker may fail.
    assert all(r.started < respawned for r in result.failures)


def test_a_killed_master_is_restarted_and_no_connection_is_refused(address, nginx_errors):
    master = master_pid()
    with light_load(address) as load:
        time.sleep(3)
        killed = time.monotonic()
        sh("kill", "-9", str(master))
        restarted = wait_for(lambda: master_pid() not in (0, master)
                             and sh("systemctl", "is-active", "sync-api.service", check=False) == "active",
                             timeout=60, interval=0.2)
        back = time.monotonic()
        time.sleep(5)
    result = load.result
    after_kill = result.window(killed)
    refusals = refused(nginx_errors())
    report("master_kill", f"{result.summary()}; new MainPID active after {back - killed:.1f} s; "
                          f"p99 after the kill {after_kill.percentile(99):.0f} ms")
    report("master_kill_failed_requests", len(result.failures))
    report("master_kill_refused_in_nginx_log", len(refusals))

    assert restarted, f"systemd did not restart sync-api: MainPID {master_pid()}"
    assert refusals == [], f"Nginx could not connect while the master was down: {refusals[:5]}"
    assert after_kill.records and after_kill.failures == [], (
        f"requests issued after the kill failed: {after_kill.outcomes()}")


def test_a_restart_behind_the_socket_unit_fails_no_request(address, nginx_errors):
    master = master_pid()
    with light_load(address) as load:
        time.sleep(3)
        sh("systemctl", "restart", "sync-api.service")
        time.sleep(5)
    result = load.result
    refusals = refused(nginx_errors())
    report("systemctl_restart", result.summary())
    report("systemctl_restart_failed_requests", len(result.failures))

    assert master_pid() != master
    assert refusals == [], f"Nginx could not connect during the restart: {refusals[:5]}"
    assert result.failures == [], f"failed requests: {result.outcomes()}"


def test_a_backend_slower_than_its_timeout_gets_a_json_504_in_time(address):
    with light_load(address) as load:
        status, headers, body, elapsed = request(address, SERVER_NAME, SLOW_PATH)
    report("slow_backend", f"{status} in {elapsed:.2f} s (read_timeout {SLOW_TIMEOUT:.0f} s): {body.decode().strip()}")

    assert status == 504
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"] == "gateway_timeout"
    assert SLOW_TIMEOUT <= elapsed < SLOW_TIMEOUT + MARGIN
    # The other requests on the same backend went on meanwhile.
    assert load.result.records and load.result.failures == []
