"""The test host itself: a real systemd machine, not a process in a box."""


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_system_is_running_without_failed_units(host):
    state = host.run("systemctl is-system-running --wait")
    failed = host.run("systemctl list-units --failed --plain --no-legend")
    assert state.stdout.strip() == "running", failed.stdout
    assert failed.stdout.strip() == ""
