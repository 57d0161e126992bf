"""Nginx's logs rotated by logrotate with the role's settings (converge.yml keeps 5, bounds the size
at 10M), and Nginx writing to the new file afterwards without a restart."""

import time

ROTATION = "/etc/logrotate.d/nginx"
ACCESS_LOG = "/var/log/nginx/access.log"


def request_with_id(curl, request_id):
    status, _unused, _unused = curl.get("https://localhost/sync-api/hello", "--header", f"X-Request-ID: {request_id}", body=False)
    assert status == 200


def logged_in(host, path, request_id):
    return host.run(f"grep --count --fixed-strings {request_id} {path}").stdout.strip() not in ("", "0")


def test_rotation_follows_the_variables(host):
    rotation = host.file(ROTATION)
    assert (rotation.user, rotation.group, rotation.mode) == ("root", "root", 0o644)
    words = [line.split() for line in rotation.content_string.splitlines() if not line.lstrip().startswith("#")]
    assert ["daily"] in words
    assert ["rotate", "5"] in words
    assert ["maxsize", "10M"] in words
    assert ["compress"] in words and ["delaycompress"] in words
    # Debian's pattern covers both default logs, so neither is named a second time.
    assert words[0] == ["/var/log/nginx/*.log", "{"]
    assert host.run(f"logrotate --debug {ROTATION}").rc == 0


def test_the_daily_timer_runs_logrotate(host):
    timer = host.service("logrotate.timer")
    assert timer.is_enabled and timer.is_running


def test_nginx_writes_to_the_new_file_after_a_rotation(host, curl):
    master = host.check_output("systemctl show --property MainPID --value nginx")
    before = f"rotation-before-{time.time_ns()}"
    request_with_id(curl, before)
    assert logged_in(host, ACCESS_LOG, before)

    forced = host.run(f"logrotate --force {ROTATION}")
    assert forced.rc == 0, forced.stderr

    after = f"rotation-after-{time.time_ns()}"
    request_with_id(curl, after)
    # The master reopens its logs on USR1; the workers follow within moments.
    for _unused in range(50):
        if logged_in(host, ACCESS_LOG, after):
            break
        time.sleep(0.1)
    assert logged_in(host, ACCESS_LOG, after), "Nginx kept writing to the rotated file"
    assert logged_in(host, ACCESS_LOG + ".1", before)
    assert not logged_in(host, ACCESS_LOG + ".1", after)
    new_log = host.file(ACCESS_LOG)
    assert (new_log.user, new_log.group, new_log.mode) == ("www-data", "adm", 0o640)
    # A reopen, not a restart.
    assert host.check_output("systemctl show --property MainPID --value nginx") == master
