"""The gunicorn role's sandbox (__gunicorn_sandbox in vars/main.yml), rendered by Ansible's templating
from the role's defaults and vars: every unit that runs the app's code carries it, and so do the
import check and the release commands; /run is read-only but for the paths the app writes there."""

import pytest

from conftest import ROOT, gunicorn_templated

UNITS = ROOT / "roles/gunicorn/templates/etc/systemd/system"
# The units that run the app's code: the web service (either server), background workers, timers.
APP_UNITS = ["gunicorn.service.j2", "granian.service.j2", "app-worker@.service.j2", "app-timer.service.j2"]


def templated(expression, **overrides):
    return gunicorn_templated(expression, **overrides)


def test_run_is_read_only_besides_the_strict_file_system():
    sandbox = templated("{{ __gunicorn_sandbox }}")
    assert "ProtectSystem=strict" in sandbox
    # In containers /run stayed writable under strict alone (as for Nginx's drop-in).
    assert sandbox.count("ReadOnlyPaths=/run") == 1
    assert "ReadWritePaths=/srv/shop/shared" in sandbox


def test_a_writable_path_under_run_stays_writable():
    # More specific than /run: systemd mounts it writable inside the read-only /run.
    sandbox = templated("{{ __gunicorn_sandbox }}", gunicorn_read_write_paths=["/run/shop-cache"])
    assert {"ReadOnlyPaths=/run", "ReadWritePaths=/run/shop-cache"} <= set(sandbox)


def test_the_import_check_and_release_commands_run_under_it():
    options = templated("{{ __gunicorn_run_options }}")
    assert "--property=ReadOnlyPaths=/run" in options
    release = templated("{{ __gunicorn_release_commands_argv }}", gunicorn_release_commands=["true"],
                        __gunicorn_release="/srv/shop/releases/b", __gunicorn_venv="/srv/shop/venvs/b")
    assert "--property=ReadOnlyPaths=/run" in release


@pytest.mark.parametrize("unit", APP_UNITS)
def test_every_unit_that_runs_the_app_carries_the_sandbox(unit):
    assert "{% for property in __gunicorn_sandbox %}\n{{ property }}\n{% endfor %}" in (UNITS / unit).read_text()


def test_what_the_services_write_under_run_is_a_more_specific_path():
    # Gunicorn's metrics directory is a RuntimeDirectory= (systemd makes it writable); Granian's
    # socket directory is a ReadWritePaths= of its unit. Both lie under /run.
    assert templated("{{ __gunicorn_metrics_dir }}") == "/run/shop-metrics"
    assert "RuntimeDirectory={{ __gunicorn_metrics_dir | basename }}" in (UNITS / "gunicorn.service.j2").read_text()
    assert templated("{{ __gunicorn_granian_socket_dir }}") == "/run/granian/shop"
    assert "ReadWritePaths=-{{ __gunicorn_granian_socket_dir }}" in (UNITS / "granian.service.j2").read_text()


@pytest.mark.parametrize("run", ["/run", "/run/"])
def test_run_itself_in_the_writable_paths_stays_writable(run):
    # For one path both read-only and writable, systemd keeps it read-only: /run is left out.
    sandbox = templated("{{ __gunicorn_sandbox }}", gunicorn_read_write_paths=[run])
    assert f"ReadWritePaths={run}" in sandbox
    assert not [prop for prop in sandbox if prop.startswith("ReadOnlyPaths=")]
