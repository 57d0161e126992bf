"""Background workers with a real queue: an app that hands jobs to RQ workers through Redis (from
Debian's package, on the test host). A job sent from the web app is run by a worker of the live
release; during a deploy of new code, with jobs sent all along, no job is lost (jobs sent = jobs
done, none failed), the workers stop warmly and come back on the new code. Runs last (file order):
it installs Redis and leaves the jobs app deployed."""

import json
import textwrap
import time

import pytest
from conftest import ROOT, get, host_http, wait_for
from pyweb_testlib import release_independent, versioned_copy

# Ansible's steps and the workers' units, the same on either release.
pytestmark = release_independent

REDIS_URL = "redis://127.0.0.1:6379/0"
SOCKET = "/run/gunicorn/jobs.sock"
SENDER = "/root/pyweb-job-sender.py"
SENT = "/root/pyweb-jobs-sent.json"
STOP = "/root/pyweb-jobs-stop"
# Sends POST /tasks/<n> to the app's socket every 100 ms until STOP exists, then writes which numbers
# were accepted (202) and how many requests failed.
SENDER_CODE = textwrap.dedent(f"""
    import http.client, json, os, socket, time

    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(10)
            self.sock.connect({SOCKET!r})

    sent, failed, number = [], [], 0
    while not os.path.exists({STOP!r}):
        number += 1
        try:
            conn = UnixConnection("localhost", timeout=10)
            conn.request("POST", "/tasks/%d" % number, headers={{"Host": "localhost"}})
            answer = conn.getresponse()
            answer.read()
            (sent if answer.status == 202 else failed).append(number)
        except OSError as error:
            failed.append("%d: %s" % (number, error))
        time.sleep(0.1)
    json.dump({{"sent": sent, "failed": failed}}, open({SENT!r}, "w"))
""")


def source(tmp_path, version):
    """The jobs app with another VERSION in the workers' code: a new release."""
    return versioned_copy(ROOT / "molecule/apps/files/jobs", tmp_path / f"jobs_{version}", version, "work.py")


def get_post(host, path):
    """POST path to the jobs app through its socket; return (status, parsed JSON body)."""
    answer = host_http(host, path, socket=SOCKET, method="POST")
    return answer["status"], json.loads(answer["body"]) if answer["body"].strip() else None


def jobs_entry(src):
    return {"name": "jobs", "src": str(src), "app_module": "app:app", "profile": "io", "health_path": "/health",
            "env": {"REDIS_URL": REDIS_URL},
            # RQ's warm shutdown: on SIGTERM a worker finishes the job in hand, then exits.
            "background_workers": [{"name": "rq", "command": 'rq worker --url "$REDIS_URL" --path . jobs',
                                    "count": 2, "stop_signal": "SIGTERM", "stop_timeout": 30}]}


def redis(host, *args):
    return host.check_output("redis-cli -u %s " + " ".join(["%s"] * len(args)), REDIS_URL, *args)


def done(host):
    """Each job number that ran, with the VERSION of the code that ran it."""
    values = redis(host, "hgetall", "jobs:done").split()
    return dict(zip(values[::2], values[1::2]))


def worker_pids(host):
    return {index: host.check_output("systemctl show --property MainPID --value jobs.rq@%s.service", str(index))
            for index in (1, 2)}


@pytest.fixture(scope="module")
def redis_server(host):
    """Redis from Debian's package, as a user would run it beside the app."""
    result = host.run("apt-get update -q && DEBIAN_FRONTEND=noninteractive "
                      "apt-get install -y -q --no-install-recommends redis-server")
    assert result.rc == 0, result.stdout + result.stderr
    assert wait_for(lambda: host.run("redis-cli -u %s ping", REDIS_URL).stdout.strip() == "PONG")
    redis(host, "del", "jobs:done")


def test_a_job_sent_from_the_web_app_runs_in_a_worker_of_the_live_release(host, playbook, redis_server, tmp_path):
    playbook("apps.yml", {"pyweb_apps": [jobs_entry(source(tmp_path, "1"))]})
    assert get(host, "jobs", "/health") == (200, {"status": "ok", "version": "1"})
    status, body = get_post(host, "/tasks/0")
    assert status == 202 and body["id"], body
    assert wait_for(lambda: done(host).get("0") == "1"), done(host)
    for index in (1, 2):
        assert host.service(f"jobs.rq@{index}").is_running


def test_a_deploy_under_a_stream_of_jobs_loses_none_and_workers_run_the_new_code(host, playbook, tmp_path):
    before = worker_pids(host)
    host.run("rm -f %s %s", SENT, STOP)
    assert host.run("printf %s %s > %s", "%s", SENDER_CODE, SENDER).rc == 0
    assert host.run("systemd-run --unit pyweb-job-sender --collect --quiet python3 %s", SENDER).rc == 0
    try:
        time.sleep(1)
        playbook("apps.yml", {"pyweb_apps": [jobs_entry(source(tmp_path, "2"))]})
        # Jobs sent after the switch run on the new code.
        time.sleep(2)
    finally:
        host.run("touch %s", STOP)
    assert wait_for(lambda: host.file(SENT).exists, timeout=30)
    stream = json.loads(host.file(SENT).content_string)
    assert stream["failed"] == [], stream["failed"][:10]
    sent = {str(number) for number in stream["sent"]}
    assert len(sent) > 50, f"only {len(sent)} jobs were sent during the deploy"
    # Every job sent is done: none lost while the workers stopped and started again.
    assert wait_for(lambda: sent <= set(done(host)), timeout=120), sorted(sent - set(done(host)), key=int)[:20]
    assert redis(host, "zcard", "rq:failed:jobs").strip() == "0"
    ran = done(host)
    versions = [ran[number] for number in sorted(sent, key=int)]
    # The old workers finished what they had; the new ones took over.
    assert versions[0] == "1" and versions[-1] == "2", versions
    after = worker_pids(host)
    assert all(after[index] != before[index] for index in (1, 2)), (before, after)
    assert get(host, "jobs", "/health") == (200, {"status": "ok", "version": "2"})
    print(f"jobs sent during the deploy: {len(sent)}, done: {len(sent & set(ran))}, failed requests: 0, "
          f"on the old code: {versions.count('1')}, on the new: {versions.count('2')}")
